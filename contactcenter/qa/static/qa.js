// Quality: evaluate a recorded call on a scorecard, the evaluations list (an agent answers
// theirs), the transcription queue, and the scorecards (admins).
"use strict";

let user = null;
let draft = null;      // the evaluation being filled
let shown = null;      // the evaluation in the detail pane
let editing = null;    // the scorecard id being edited (null: a new one)

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
  const heard = e ? `heard "${e.heard}" at ${cc.secs(e.start)}` : `"${auto.phrase}" not heard`;
  return `auto: ${auto.value}: ${heard}`;
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
  cc.text("e-what", `${ev.queue} call ${ev.interaction_id}, agent ${ev.agent_id || "?"}`);
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
  } catch (err) { cc.fail("e-error", err); }
}

async function start() {
  cc.text("e-error", "");
  const recording = document.getElementById("e-recording").value.trim();
  const scorecard = Number(document.getElementById("e-scorecard").value);
  try {
    renderDraft(await cc.api("POST", "/api/qa/evaluations",
                             { recording_id: recording, scorecard_id: scorecard }));
  } catch (err) { cc.fail("e-error", err); }
}

async function loadEvaluations() {
  const body = await cc.api("GET", "/api/qa/evaluations");
  const tb = document.querySelector("#evaluations tbody");
  tb.replaceChildren();
  for (const ev of body.evaluations) {
    const tr = cc.el("tr", null, { "data-evaluation": ev.id, "data-status": ev.status });
    tr.append(cc.el("td", ev.id), cc.el("td", ev.agent_id || ""), cc.el("td", ev.queue),
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
    const recording = new URLSearchParams(location.search).get("recording");
    if (recording) document.getElementById("e-recording").value = recording;
    editScorecard(null);
    await loadScorecards();
    await loadQueue();
    setInterval(loadQueue, 3000);
  }
  await loadEvaluations();
})();
