// Quality: evaluate a recorded call, a chat or a ticket on a scorecard, the evaluations list
// (an agent answers theirs), the worklist sampling rules fill, the QA report (qa_report.js),
// the transcription queue, keyword lists and the calls they were heard in, and the scorecards
// (admins).
"use strict";

let user = null;
let draft = null;      // the evaluation being filled
let shown = null;      // the evaluation in the detail pane
let editing = null;    // the scorecard id being edited (null: a new one)
let editingRule = null; // the sampling rule id being edited (null: a new one)
let cards = [];        // the scorecards, for the rules' select
let draftThreadOf = null; // the evaluation whose thread the form shows

const TEMPLATE = { sections: [{ title: "Opening", questions: [
  { id: "disclosure", text: "Recording disclosure in the first 30 s", kind: "yes_no", weight: 10,
    critical: true, allow_na: false,
    auto: { phrase: "this call may be recorded", from_s: 0, to_s: 30 } },
  { id: "tone", text: "Friendly tone", kind: "scale", scale_max: 5, weight: 5 }] }] };

function scoreText(ev) {
  const s = ev.score;
  if (!s) return ev.status;
  if (s.failed) return `FAILED (critical: ${s.failed_by.join(", ")})`;
  if (s.percent === null) return "all N/A";
  return `${s.percent}% (${s.points}/${s.possible})`;
}

function evidenceText(answer) {
  const auto = answer.auto;
  if (!auto) return "";
  const e = auto.evidence;
  if (e && e.message !== undefined) {  // a chat's message or a ticket's reply
    return `auto: ${auto.value}: wrote "${e.heard}" in message ${e.message} at ` +
           new Date(e.at).toLocaleTimeString();
  }
  const heard = e ? `heard "${e.heard}" at ${cc.secs(e.start)}` : `"${auto.phrase}" not heard`;
  return `auto: ${auto.value}: ${heard}`;
}

const CHANNEL_NAMES = { voice: "call", chat: "chat", ticket: "ticket" };
const ITEM_LABELS = { voice: ["Recording", "recording id"], chat: ["Chat", "conversation id"],
                      ticket: ["Ticket", "ticket number"] };

function setChannel(channel) {
  document.getElementById("e-channel").value = channel;
  const [label, hint] = ITEM_LABELS[channel];
  cc.text("e-item-label", label);
  document.getElementById("e-recording").placeholder = hint;
}

// A chat's messages or a ticket's thread above the questions (a call has its recording).
async function drawThread(id, ev) {
  const box = document.getElementById(id);
  box.replaceChildren();
  box.classList.toggle("hidden", ev.channel === "voice");
  if (ev.channel === "voice") return;
  try {
    const path = `/api/qa/interactions/${ev.channel}/${encodeURIComponent(ev.item_id)}`;
    const body = await cc.api("GET", path);
    for (const line of body.lines) {
      const cls = `line ${line.author}${line.internal ? " internal" : ""}`;
      const div = cc.el("div", null, { class: cls, "data-number": line.number });
      div.append(cc.el("span", new Date(line.at).toLocaleTimeString(), { class: "when" }),
                 cc.el("span", line.name || line.author, { class: "who" }),
                 cc.el("span", line.text, { class: "text" }));
      box.append(div);
    }
  } catch (err) { box.append(cc.el("p", err.message, { class: "error" })); }
}

function whatText(ev) {
  const agent = `agent ${ev.agent_id || "?"}`;
  if (ev.channel === "chat") return `${ev.queue} chat ${ev.item_id}, ${agent}`;
  if (ev.channel === "ticket") return `${ev.queue} ticket #${ev.item_id}, ${agent}`;
  return `${ev.queue} call ${ev.interaction_id}, ${agent}`;
}

function questionBox(q, answer, editable) {
  const box = cc.el("div", null, { class: "question", "data-question": q.id });
  const head = cc.el("div", null);
  head.append(cc.el("span", q.text, { class: "q-text" }),
              cc.el("span", ` (weight ${q.weight})`, { class: "muted" }));
  if (q.critical) head.append(cc.el("span", "critical", { class: "critical" }));
  box.append(head);
  const value = answer ? answer.value : null;
  if (editable) {
    const row = cc.el("div", null, { class: "row" });
    if (q.kind === "yes_no") {
      for (const v of ["yes", "no", "na"]) {
        if (v === "na" && !q.allow_na) continue;
        const id = `q-${q.id}-${v}`;
        const input = cc.el("input", null, { type: "radio", name: `q-${q.id}`, value: v, id });
        input.checked = value === v;
        const label = cc.el("label", null, { for: id });
        label.append(input, " " + (v === "na" ? "N/A" : v));
        row.append(label);
      }
    } else {
      const select = cc.el("select", null, { id: `q-${q.id}`, "aria-label": q.text });
      select.append(cc.el("option", "–", { value: "" }));
      for (let i = 0; i <= q.scale_max; i++) select.append(cc.el("option", String(i), { value: String(i) }));
      if (q.allow_na) select.append(cc.el("option", "N/A", { value: "na" }));
      select.value = value === null || value === undefined ? "" : String(value);
      row.append(select);
    }
    row.append(cc.el("input", null, { id: `q-${q.id}-note`, placeholder: "note",
                                      "aria-label": `note on ${q.text}`, size: "30",
                                      value: (answer && answer.note) || "" }));
    box.append(row);
  } else {
    box.append(cc.el("div", `answer: ${value === null ? "–" : value}` +
                            (answer && answer.note ? ` · ${answer.note}` : ""), { class: "answer" }));
  }
  if (answer && answer.auto) {
    box.append(cc.el("div", evidenceText(answer),
                     { class: "evidence" + (answer.overridden ? " overridden" : "") }));
  }
  return box;
}

function drawSections(container, ev, editable) {
  container.replaceChildren();
  for (const section of ev.form.sections) {
    container.append(cc.el("h3", section.title));
    for (const q of section.questions) container.append(questionBox(q, ev.answers[q.id], editable));
  }
}

function renderDraft(ev) {
  draft = ev;
  document.getElementById("e-form").classList.remove("hidden");
  cc.text("e-id", `#${ev.id}`);
  cc.text("e-what", whatText(ev));
  if (draftThreadOf !== ev.id) {  // a new draft: its chat or thread (saving keeps it)
    draftThreadOf = ev.id;
    drawThread("e-thread", ev);
  }
  drawSections(document.getElementById("e-sections"), ev, ev.status === "draft");
  document.getElementById("e-comment").value = ev.comment || "";
  const done = ev.status !== "draft";
  for (const id of ["e-save", "e-submit"]) document.getElementById(id).disabled = done;
  const result = document.getElementById("e-result");
  result.textContent = done ? scoreText(ev) : "";
  result.className = "big " + (ev.score ? (ev.score.failed ? "failed" : "passed") : "");
}

function collect() {
  const answers = {};
  for (const section of draft.form.sections) {
    for (const q of section.questions) {
      let value = null;
      if (q.kind === "yes_no") {
        const picked = document.querySelector(`input[name="q-${q.id}"]:checked`);
        value = picked ? picked.value : null;
      } else {
        const raw = document.getElementById(`q-${q.id}`).value;
        value = raw === "" ? null : raw === "na" ? "na" : Number(raw);
      }
      answers[q.id] = { value, note: document.getElementById(`q-${q.id}-note`).value };
    }
  }
  return answers;
}

async function save(submit) {
  cc.text("e-error", "");
  try {
    const ev = await cc.api("PUT", `/api/qa/evaluations/${draft.id}`, {
      answers: collect(), comment: document.getElementById("e-comment").value, submit });
    renderDraft(ev);
    await loadEvaluations();
    await loadWorklist();
  } catch (err) { cc.fail("e-error", err); }
}

async function start() {
  cc.text("e-error", "");
  const item = document.getElementById("e-recording").value.trim();
  const channel = document.getElementById("e-channel").value;
  const scorecard = Number(document.getElementById("e-scorecard").value);
  try {
    renderDraft(await cc.api("POST", "/api/qa/evaluations",
                             { channel, item_id: item, scorecard_id: scorecard }));
    await loadWorklist();
  } catch (err) { cc.fail("e-error", err); }
}

async function loadEvaluations() {
  const body = await cc.api("GET", "/api/qa/evaluations");
  const tb = document.querySelector("#evaluations tbody");
  tb.replaceChildren();
  for (const ev of body.evaluations) {
    const tr = cc.el("tr", null, { "data-evaluation": ev.id, "data-status": ev.status,
                                   "data-channel": ev.channel });
    tr.append(cc.el("td", ev.id), cc.el("td", CHANNEL_NAMES[ev.channel] || ev.channel),
              cc.el("td", ev.agent_id || ""), cc.el("td", ev.queue),
              cc.el("td", ev.evaluator), cc.el("td", ev.status, { class: "e-status" }),
              cc.el("td", ev.score ? scoreText(ev) : "–", { class: "e-score" }),
              cc.el("td", new Date(ev.created_at).toLocaleString()));
    tr.addEventListener("click", () => showDetail(ev));
    tb.append(tr);
  }
  document.getElementById("no-evaluations").classList.toggle("hidden", body.evaluations.length > 0);
}

function showDetail(ev) {
  shown = ev;
  document.getElementById("detail").classList.remove("hidden");
  cc.text("d-id", `#${ev.id}`);
  cc.text("d-score", scoreText(ev));
  drawThread("d-thread", ev);
  drawSections(document.getElementById("d-sections"), ev, false);
  cc.text("d-comment", ev.comment ? `Evaluator: ${ev.comment}` : "");
  const mine = user.role === "agent" && ev.agent_id === user.agent_id && ev.status === "submitted";
  document.getElementById("d-respond").classList.toggle("hidden", !mine);
  cc.text("d-response", ev.responded_by
    ? `${ev.status} by ${ev.responded_by}${ev.agent_comment ? `: ${ev.agent_comment}` : ""}` : "");
  cc.text("d-error", "");
}

async function respond(response) {
  try {
    const ev = await cc.api("POST", `/api/qa/evaluations/${shown.id}/response`, {
      response, comment: document.getElementById("d-agent-comment").value });
    showDetail(ev);
    await loadEvaluations();
  } catch (err) { cc.fail("d-error", err); }
}

async function loadQueue() {
  try {
    const body = await cc.api("GET", "/api/transcripts?limit=50");
    const c = body.counts;
    cc.text("q-counts", `${c.pending} pending · ${c.running} running · ${c.done} done · ` +
                        `${c.failed} failed · ${c.purged} erased with their recording` +
                        (body.worker ? "" : " · the worker is off"));
    const tb = document.querySelector("#q-items tbody");
    tb.replaceChildren();
    for (const item of body.items) {
      const tr = cc.el("tr", null, { "data-recording": item.recording_id });
      tr.append(cc.el("td", item.recording_id.slice(0, 8)), cc.el("td", item.queue),
                cc.el("td", item.status), cc.el("td", `${Math.round(item.progress * 100)}%`),
                cc.el("td", item.attempts), cc.el("td", item.error || ""));
      tb.append(tr);
    }
  } catch (err) { cc.text("q-counts", err.message); }
}

async function loadScorecards() {
  const body = await cc.api("GET", "/api/qa/scorecards");
  cards = body.scorecards;
  fillRuleScorecards();
  const select = document.getElementById("e-scorecard");
  select.replaceChildren();
  for (const card of body.scorecards.filter((c) => c.active)) {
    select.append(cc.el("option", `${card.name} (v${card.version})`, { value: String(card.id) }));
  }
  const tb = document.querySelector("#s-list tbody");
  tb.replaceChildren();
  for (const card of body.scorecards) {
    const count = card.form.sections.reduce((n, s) => n + s.questions.length, 0);
    const tr = cc.el("tr", null, { "data-scorecard": card.id });
    tr.append(cc.el("td", card.name), cc.el("td", card.version), cc.el("td", card.active ? "yes" : "no"),
              cc.el("td", count));
    tr.addEventListener("click", () => editScorecard(card));
    tb.append(tr);
  }
}

function editScorecard(card) {
  editing = card ? card.id : null;
  cc.text("s-title", card ? `Editing ${card.name}` : "New scorecard");
  document.getElementById("s-name").value = card ? card.name : "";
  document.getElementById("s-active").checked = card ? card.active : true;
  document.getElementById("s-form").value = JSON.stringify(card ? card.form : TEMPLATE, null, 2);
  document.getElementById("s-errors").replaceChildren();
  cc.text("s-status", "");
}

async function saveScorecard() {
  const errors = document.getElementById("s-errors");
  errors.replaceChildren();
  let form;
  try { form = JSON.parse(document.getElementById("s-form").value); } catch (e) {
    errors.append(cc.el("li", `not JSON: ${e.message}`));
    return;
  }
  const body = { name: document.getElementById("s-name").value, form,
                 active: document.getElementById("s-active").checked };
  try {
    const card = editing === null ? await cc.api("POST", "/api/qa/scorecards", body)
                                  : await cc.api("PUT", `/api/qa/scorecards/${editing}`, body);
    editing = card.id;
    cc.text("s-status", `saved ${card.name} v${card.version}`);
    await loadScorecards();
  } catch (err) {
    const problems = (err.body && err.body.problems && err.body.problems.length)
      ? err.body.problems : [err.message];
    for (const p of problems) errors.append(cc.el("li", p));
  }
}

async function loadRules() {
  const body = await cc.api("GET", "/api/qa/sampling/rules");
  const tb = document.querySelector("#w-rules tbody");
  tb.replaceChildren();
  for (const rule of body.rules) {
    const card = cards.find((c) => c.id === rule.scorecard_id);
    const tr = cc.el("tr", null, { "data-rule": rule.id });
    tr.append(cc.el("td", rule.name), cc.el("td", rule.queue || "all"),
              cc.el("td", `${rule.percent} %`), cc.el("td", rule.minimum),
              cc.el("td", card ? card.name : "–"), cc.el("td", rule.active ? "yes" : "no"),
              cc.el("td", CHANNEL_NAMES[rule.channel] || rule.channel));
    tr.addEventListener("click", () => editRule(rule));
    tb.append(tr);
  }
}

function fillRuleScorecards() {
  const select = document.getElementById("w-scorecard");
  const picked = select.value;
  select.replaceChildren(cc.el("option", "–", { value: "" }));
  for (const card of cards) select.append(cc.el("option", card.name, { value: String(card.id) }));
  select.value = picked;
}

function editRule(rule) {
  editingRule = rule ? rule.id : null;
  document.getElementById("w-name").value = rule ? rule.name : "";
  document.getElementById("w-channel").value = rule ? rule.channel : "voice";
  document.getElementById("w-queue").value = rule ? rule.queue || "" : "";
  document.getElementById("w-percent").value = rule ? String(rule.percent) : "10";
  document.getElementById("w-minimum").value = rule ? String(rule.minimum) : "2";
  document.getElementById("w-scorecard").value = rule && rule.scorecard_id ? String(rule.scorecard_id) : "";
  document.getElementById("w-active").checked = rule ? rule.active : true;
  document.getElementById("w-errors").replaceChildren();
  cc.text("w-status", "");
}

async function saveRule() {
  const errors = document.getElementById("w-errors");
  errors.replaceChildren();
  const scorecard = document.getElementById("w-scorecard").value;
  const body = { name: document.getElementById("w-name").value,
                 channel: document.getElementById("w-channel").value,
                 queue: document.getElementById("w-queue").value.trim() || null,
                 percent: Number(document.getElementById("w-percent").value),
                 minimum: Number(document.getElementById("w-minimum").value),
                 scorecard_id: scorecard ? Number(scorecard) : null,
                 active: document.getElementById("w-active").checked };
  try {
    const rule = editingRule === null ? await cc.api("POST", "/api/qa/sampling/rules", body)
                                      : await cc.api("PUT", `/api/qa/sampling/rules/${editingRule}`, body);
    editingRule = rule.id;
    cc.text("w-status", `saved ${rule.name}`);
    await loadRules();
  } catch (err) {
    const problems = (err.body && err.body.problems && err.body.problems.length)
      ? err.body.problems : [err.message];
    for (const p of problems) errors.append(cc.el("li", p));
  }
}

async function runSampling() {
  try {
    const body = await cc.api("POST", "/api/qa/sampling/run");
    cc.text("w-run-status", `${body.picked} interaction(s) added`);
    await loadWorklist();
  } catch (err) { cc.text("w-run-status", err.message); }
}

function evaluateItem(item) {
  setChannel(item.channel);
  document.getElementById("e-recording").value = item.item_id;
  if (item.scorecard_id) document.getElementById("e-scorecard").value = String(item.scorecard_id);
  document.getElementById("evaluate").scrollIntoView();
  document.getElementById("e-recording").focus();
}

async function loadWorklist() {
  const q = new URLSearchParams();
  const status = document.getElementById("w-filter").value;
  const channel = document.getElementById("w-channel-filter").value;
  if (status) q.set("status", status);
  if (channel) q.set("channel", channel);
  const body = await cc.api("GET", `/api/qa/worklist?${q}`);
  const tb = document.querySelector("#w-items tbody");
  tb.replaceChildren();
  for (const item of body.items) {
    const tr = cc.el("tr", null, { "data-recording": item.recording_id || "",
                                   "data-item": item.item_id, "data-channel": item.channel,
                                   "data-status": item.status });
    const go = cc.el("button", "Evaluate", { type: "button", class: "w-evaluate" });
    go.addEventListener("click", () => evaluateItem(item));
    const cell = cc.el("td", null);
    if (item.status === "open") cell.append(go);
    tr.append(cc.el("td", item.week), cc.el("td", item.rule),
              cc.el("td", CHANNEL_NAMES[item.channel] || item.channel), cc.el("td", item.agent_id),
              cc.el("td", item.queue), cc.el("td", new Date(item.started_at).toLocaleString()),
              cc.el("td", item.label || ""),
              cc.el("td", item.status, { class: "w-status" }), cell);
    tb.append(tr);
  }
  document.getElementById("w-none").classList.toggle("hidden", body.items.length > 0);
}

async function loadKeywordLists() {
  const body = await cc.api("GET", "/api/qa/keywords");
  const tb = document.querySelector("#k-lists tbody");
  tb.replaceChildren();
  const select = document.getElementById("k-list");
  const picked = select.value;
  select.replaceChildren();
  for (const list of body.lists) {
    const tr = cc.el("tr", null, { "data-list": list.name });
    tr.append(cc.el("td", list.name), cc.el("td", list.phrases.length), cc.el("td", list.version),
              cc.el("td", `${new Date(list.updated_at).toLocaleString()} by ${list.updated_by}`));
    tr.addEventListener("click", () => editKeywords(list));
    tb.append(tr);
    select.append(cc.el("option", list.name, { value: list.name }));
  }
  if (picked) select.value = picked;
}

function editKeywords(list) {
  document.getElementById("k-name").value = list ? list.name : "";
  document.getElementById("k-phrases").value = list ? list.phrases.join("\n") : "";
  document.getElementById("k-min").value = list ? String(list.min_match) : "0.8";
  document.getElementById("k-errors").replaceChildren();
  cc.text("k-status", "");
}

async function saveKeywords() {
  const errors = document.getElementById("k-errors");
  errors.replaceChildren();
  const name = document.getElementById("k-name").value.trim();
  const phrases = document.getElementById("k-phrases").value.split("\n")
    .map((p) => p.trim()).filter((p) => p);
  try {
    const list = await cc.api("PUT", `/api/qa/keywords/${encodeURIComponent(name)}`, {
      phrases, min_match: Number(document.getElementById("k-min").value) });
    cc.text("k-status", `saved ${list.name} v${list.version}`);
    await loadKeywordLists();
    document.getElementById("k-list").value = list.name;
  } catch (err) {
    const problems = (err.body && err.body.problems && err.body.problems.length)
      ? err.body.problems : [err.message];
    for (const p of problems) errors.append(cc.el("li", p));
  }
}

async function deleteKeywords() {
  const name = document.getElementById("k-name").value.trim();
  if (!name || !confirm(`Delete the keyword list ${name}?`)) return;
  try {
    await cc.api("DELETE", `/api/qa/keywords/${encodeURIComponent(name)}`);
    editKeywords(null);
    cc.text("k-status", `deleted ${name}`);
    await loadKeywordLists();
  } catch (err) { cc.text("k-status", err.message); }
}

async function searchKeywords() {
  const q = new URLSearchParams({ list: document.getElementById("k-list").value });
  for (const [key, id] of [["phrase", "k-phrase"], ["agent_id", "k-agent"], ["queue", "k-queue"]]) {
    const v = document.getElementById(id).value.trim();
    if (v) q.set(key, v);
  }
  const tb = document.querySelector("#k-hits tbody");
  tb.replaceChildren();
  try {
    const body = await cc.api("GET", `/api/qa/keywords/hits?${q}`);
    for (const rec of body.recordings) {
      const tr = cc.el("tr", null, { "data-recording": rec.recording_id });
      const heard = cc.el("ul", null, { class: "hits" });
      for (const h of rec.hits) {
        heard.append(cc.el("li", `${cc.secs(h.start)} ${h.phrase}` +
                                 (h.heard !== h.phrase ? ` (heard "${h.heard}")` : ""),
                           { class: "hit", "data-start": h.start }));
      }
      const links = cc.el("td", null);
      links.append(cc.el("a", "play", { href: `/recordings?text=${encodeURIComponent(rec.hits[0].heard)}` }),
                   " · ",
                   cc.el("a", "evaluate", { href: `/qa?recording=${rec.recording_id}` }));
      const cell = cc.el("td", null);
      cell.append(heard);
      tr.append(cc.el("td", new Date(rec.started_at).toLocaleString()), cc.el("td", rec.agent_id || ""),
                cc.el("td", rec.queue), cc.el("td", rec.caller_id || ""), cell, links);
      tb.append(tr);
    }
    document.getElementById("k-none").classList.toggle("hidden", body.recordings.length > 0);
  } catch (err) { cc.text("k-status", err.message); }
}

(async () => {
  user = await cc.session(["agent", "supervisor", "admin"]);
  const staff = user.role === "supervisor" || user.role === "admin";
  for (const el of document.querySelectorAll(".staff-only")) el.classList.toggle("hidden", !staff);
  for (const el of document.querySelectorAll(".admin-only")) {
    el.classList.toggle("hidden", user.role !== "admin");
  }
  cc.text("list-title", staff ? "Evaluations" : "My evaluations");
  document.getElementById("d-ack").addEventListener("click", () => respond("acknowledge"));
  document.getElementById("d-dispute").addEventListener("click", () => respond("dispute"));
  if (staff) {
    document.getElementById("e-start").addEventListener("click", start);
    document.getElementById("e-save").addEventListener("click", () => save(false));
    document.getElementById("e-form").addEventListener("submit", (ev) => { ev.preventDefault(); save(true); });
    document.getElementById("s-new").addEventListener("click", () => editScorecard(null));
    document.getElementById("s-save").addEventListener("click", saveScorecard);
    document.getElementById("e-channel").addEventListener("change",
      (ev) => setChannel(ev.target.value));
    const query = new URLSearchParams(location.search);
    for (const [key, channel] of [["recording", "voice"], ["chat", "chat"], ["ticket", "ticket"]]) {
      if (!query.get(key)) continue;
      setChannel(channel);
      document.getElementById("e-recording").value = query.get(key);
    }
    document.getElementById("k-new").addEventListener("click", () => editKeywords(null));
    document.getElementById("k-save").addEventListener("click", saveKeywords);
    document.getElementById("k-delete").addEventListener("click", deleteKeywords);
    document.getElementById("k-search").addEventListener("click", searchKeywords);
    document.getElementById("w-new").addEventListener("click", () => editRule(null));
    document.getElementById("w-save").addEventListener("click", saveRule);
    document.getElementById("w-run").addEventListener("click", runSampling);
    document.getElementById("w-filter").addEventListener("change", loadWorklist);
    document.getElementById("w-channel-filter").addEventListener("change", loadWorklist);
    editScorecard(null);
    await loadKeywordLists();
    await loadScorecards();
    editRule(null);
    await loadRules();
    await loadWorklist();
    await loadQueue();
    setInterval(loadQueue, 3000);
    await qaReport.init();  // qa_report.js
  }
  await loadEvaluations();
})();
