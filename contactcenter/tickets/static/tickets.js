// The tickets page: my tickets (or, for staff, unassigned and all), a ticket's thread with
// public replies and internal notes, status and priority. Text is shown as text; a mail's
// sanitised HTML only inside a sandboxed frame (no scripts, no same-origin access). SLA
// clocks come computed by the server (state, business seconds left): shown, never recomputed.
// Beside the reply box, suggested articles (agent assist); a solved ticket can become a draft
// article of the knowledge base.
"use strict";

const STATUSES = ["new", "open", "pending", "on-hold", "solved", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
let current = null;
let staff = false;
let thread = [];         // the open ticket's articles: what agent assist reads
let assist = null;       // suggested articles (kb/static/assist.js)

const TARGETS = { first_response: "First response", next_response: "Next response",
                  resolution: "Resolution" };

function duration(seconds) {
  const s = Math.abs(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : `${m}m`;
}

function slaText(t) {
  if (t.met_at !== null) return t.state === "breached" ? "met late" : "met";
  if (t.state === "breached") return `overdue ${duration(t.left_s)}`;
  if (t.state === "paused") return `paused, ${duration(t.left_s)} left`;
  return `${duration(t.left_s)} left`;
}

// The badge of a list row: the target that still counts (first response, then resolution).
function slaBadge(sla) {
  if (!sla) return "";
  for (const key of Object.keys(TARGETS)) {
    const t = sla[key];
    if (!t || t.met_at !== null) continue;
    return cc.el("span", slaText(t), { class: `sla sla-${t.state}`,
      title: `${TARGETS[key]} due ${new Date(t.due * 1000).toLocaleString()} (business hours)` });
  }
  return cc.el("span", "met", { class: "sla sla-met" });
}

function showSla(sla) {
  const p = document.getElementById("t-sla");
  p.textContent = "";
  if (!sla) return;
  p.append(`SLA ${sla.policy}: `);
  for (const [key, name] of Object.entries(TARGETS)) {
    const t = sla[key];
    if (!t) continue;
    const due = new Date(t.due * 1000).toLocaleString();
    p.append(cc.el("span", `${name} ${slaText(t)} (due ${due})`,
                   { class: `sla sla-${t.met_at !== null ? "met" : t.state}`, "data-target": key }), " ");
  }
}

// The customer's answer to the satisfaction survey (good / bad, and their comment).
function showRating(rating) {
  const p = document.getElementById("t-rating");
  p.textContent = "";
  p.classList.toggle("hidden", !rating);
  if (!rating) return;
  // 1..5, 5 best: 4 and 5 are satisfied (the CSAT score's definition, docs/reports.md)
  const verdict = rating.rating >= 4 ? "good" : "bad";
  p.append("Customer rating: ", cc.el("span", `${rating.rating}/5`, { class: `rating rating-${verdict}` }));
  if (rating.comment) p.append(" ", cc.el("q", rating.comment, { class: "rating-comment" }));
}

function options(select, values, first) {
  select.textContent = "";
  if (first) select.append(first);
  for (const v of values) select.append(cc.el("option", v, { value: v }));
}

// Loads in flight: a live change and a new filter can each start one, and only the newest
// may draw the list (an older answer, unfiltered, must not overwrite a filtered one).
let listLoads = 0;

async function loadList() {
  const load = ++listLoads;
  const view = document.getElementById("view").value;
  const q = document.getElementById("q").value.trim();
  const params = new URLSearchParams({ view, limit: "100" });
  if (q) params.set("q", q);
  if (window.ticketDesk) ticketDesk.listParams(params);  // type and field filters
  try {
    const data = await cc.api("GET", `/api/tickets?${params}`);
    if (load !== listLoads) return;
    const body = document.querySelector("#tickets tbody");
    body.textContent = "";
    for (const t of data.tickets) {
      const tr = cc.el("tr", null, { "data-id": String(t.id) });
      tr.append(cc.el("td", `#${t.id}`), cc.el("td", t.subject),
                cc.el("td", t.requester.email || t.requester.phone || ""),
                cc.el("td", t.status));
      const sla = cc.el("td", null, { class: "sla-cell" });
      const badge = slaBadge(t.sla);
      if (badge) sla.append(badge);
      tr.append(sla, cc.el("td", t.assignee || "—"));
      if (current && current.id === t.id) tr.classList.add("current");
      tr.addEventListener("click", () => openTicket(t.id));
      body.append(tr);
    }
    cc.text("list-error", "");
  } catch (err) { cc.fail("list-error", err); }
  if (cc.user.agent_id) {
    try {
      const offers = (await cc.api("GET", "/api/tickets/offers")).offers;
      cc.text("offers", offers.length ? `${offers.length} ticket(s) offered to you: Next ticket takes the oldest.` : "");
    } catch (err) { cc.text("offers", ""); }
  }
}

function article(a) {
  const li = cc.el("li", null, { "data-article": String(a.id) });
  li.classList.add(a.visibility, a.author);
  const when = new Date(a.created_at * 1000).toLocaleString();
  const who = a.author_name || a.author;
  const kind = a.visibility === "internal" ? "Note" : a.author === "customer" ? "Customer" : "Reply";
  const meta = cc.el("div", `${kind} · ${who} · ${when}`, { class: "meta" });
  for (const f of a.flags || []) meta.append(" ", cc.el("span", f, { class: "flag" }));
  li.append(meta, cc.el("pre", a.body_text, { class: "body" }));
  if (a.body_html) {
    const d = cc.el("details");
    d.append(cc.el("summary", "Formatted"));
    const frame = cc.el("iframe", null, { sandbox: "", title: "formatted mail", referrerpolicy: "no-referrer" });
    frame.srcdoc = a.body_html;
    d.append(frame);
    li.append(d);
  }
  return li;
}

// The call a ticket comes from: a voice message to play, or a call with its recordings.
async function showCalls(id) {
  const ul = document.getElementById("t-calls");
  ul.replaceChildren();
  ul.classList.add("hidden");
  let calls = [];
  try { calls = (await cc.api("GET", `/api/tickets/${id}/calls`)).calls; } catch (err) { return; }
  if (!current || current.id !== id) return;
  for (const c of calls) {
    const what = c.kind === "voicemail" ? "Voice message"
      : c.kind === "chat" ? "Chat message" : "Call";  // chat: a message left (from_chat.py)
    const li = cc.el("li", `${what} ${c.caller_id ? "from " + c.caller_id + " " : ""}` +
                           `(${c.interaction_id}) `, { "data-kind": c.kind });
    if (c.audio_url) {
      li.append(cc.el("audio", null, { controls: "", preload: "none", src: c.audio_url,
                                       class: "voice-message" }));
    }
    for (const r of c.recordings) li.append(" ", cc.el("a", "recording", { href: r.audio_url }));
    ul.append(li);
  }
  ul.classList.toggle("hidden", !calls.length);
}

async function openTicket(id) {
  try {
    const data = await cc.api("GET", `/api/tickets/${id}`);
    current = data.ticket;
    document.getElementById("ticket-panel").classList.remove("hidden");
    cc.text("t-number", `#${current.id}`);
    cc.text("t-subject", current.subject);
    cc.text("t-requester", current.requester.email || current.requester.phone || "");
    cc.text("t-queue", current.queue);
    cc.text("t-assignee", current.assignee || "—");
    document.getElementById("t-status").value = current.status;
    document.getElementById("t-priority").value = current.priority;
    showSla(current.sla);
    if (window.ticketSlaTimeline) ticketSlaTimeline.opened(current);  // its clocks in time
    showRating(data.rating);
    if (window.ticketDesk) ticketDesk.opened(data);  // fields, followers, viewers, canned
    showCalls(id);
    const list = document.getElementById("thread");
    list.textContent = "";
    for (const a of data.articles) list.append(article(a));
    thread = data.articles;
    if (window.ticketMerge) ticketMerge.opened(data);  // links, merge, split
    if (window.ticketAttachments) ticketAttachments.opened(data);  // files under messages
    const done = current.status === "solved" || current.status === "closed";
    document.getElementById("t-draft").classList.toggle("hidden", !done);
    if (assist) assist.refresh();
    const history = document.getElementById("history");
    history.textContent = "";
    for (const h of data.history) {
      const when = new Date(h.at * 1000).toLocaleString();
      history.append(cc.el("li", `${when} ${h.actor}: ${h.field} ${JSON.stringify(h.old)} → ${JSON.stringify(h.new)}`));
    }
    cc.text("t-error", "");
    for (const tr of document.querySelectorAll("#tickets tbody tr")) {
      tr.classList.toggle("current", tr.dataset.id === String(current.id));
    }
  } catch (err) { cc.fail("list-error", err); }
}

async function write(kind) {
  if (!current) return;
  const text = document.getElementById("text").value;
  const body = { text };
  const status = document.getElementById("reply-status").value;
  if (kind === "replies" && status) body.status = status;
  if (kind === "replies" && window.ticketDesk) body.seen = ticketDesk.seen();
  try {
    if (kind === "replies" && window.ticketAttachments && ticketAttachments.chosen()) {
      await ticketAttachments.send(current.id, body);  // the reply and its files, one request
    } else {
      await cc.api("POST", `/api/tickets/${current.id}/${kind}`, body);
    }
    document.getElementById("text").value = "";
    await openTicket(current.id);
    await loadList();
  } catch (err) {
    // A reply on a stale view: show what changed; the text stays for a second send.
    if (err.status === 409 && err.body && err.body.changes && window.ticketDesk) {
      ticketDesk.stale(err.body.changes);
    }
    cc.fail("t-error", err);
  }
}

async function save() {
  if (!current) return;
  const body = { status: document.getElementById("t-status").value,
                 priority: document.getElementById("t-priority").value };
  try {
    await cc.api("PATCH", `/api/tickets/${current.id}`, body);
    await openTicket(current.id);
    await loadList();
  } catch (err) { cc.fail("t-error", err); }
}

async function draftArticle() {
  if (!current) return;
  cc.text("t-draft-status", "");
  try {
    const a = await cc.api("POST", `/api/tickets/${current.id}/kb-draft`, {});
    if (staff) { location.href = a.editor_url; return; }
    cc.text("t-draft-status", `Draft article #${a.id} created for the knowledge base's editors.`);
  } catch (err) { cc.fail("t-error", err); }
}

async function next() {
  try {
    const t = await cc.api("POST", "/api/tickets/next");
    await loadList();
    await openTicket(t.id);
  } catch (err) { cc.fail("list-error", err); }
}

async function main() {
  const user = await cc.session();
  staff = user.role === "supervisor" || user.role === "admin";
  for (const o of document.querySelectorAll(".staff-only")) o.hidden = !staff;
  if (staff) document.getElementById("view").value = "all";
  if (!user.agent_id) document.getElementById("next").classList.add("hidden");
  options(document.getElementById("t-status"), STATUSES);
  options(document.getElementById("t-priority"), PRIORITIES);
  const rs = document.getElementById("reply-status");
  for (const s of ["open", "pending", "on-hold", "solved"]) rs.append(cc.el("option", s, { value: s }));
  document.getElementById("view").addEventListener("change", loadList);
  document.getElementById("q").addEventListener("input", () => { clearTimeout(main.t); main.t = setTimeout(loadList, 250); });
  document.getElementById("next").addEventListener("click", next);
  document.getElementById("t-save").addEventListener("click", save);
  document.getElementById("t-draft").addEventListener("click", draftArticle);
  if (window.kbAssist) {
    // The subject and what the customer wrote (the latest three messages) are the question.
    assist = kbAssist.attach(document.getElementById("t-assist"), {
      source: () => ({
        text: [current ? current.subject : "", ...thread
          .filter((a) => a.author === "customer" && a.visibility === "public")
          .slice(-3).map((a) => a.body_text)].join("\n"),
        context: {} }),
      insert: (text) => {
        const box = document.getElementById("text");
        const at = box.selectionStart ?? box.value.length;
        const before = box.value.slice(0, at);
        box.value = before + (before && !/\s$/.test(before) ? "\n" : "") + text + box.value.slice(box.selectionEnd ?? at);
        box.focus();
      } });
  }
  document.getElementById("compose").addEventListener("submit", (e) => { e.preventDefault(); write("replies"); });
  document.getElementById("add-note").addEventListener("click", () => write("notes"));
  const topics = user.agent_id ? [`agent.${user.agent_id}`] : [];
  if (staff) topics.push("tickets");  // SLA warnings and breaches of every ticket
  if (topics.length) {
    cc.live(topics, (_topic, data) => {
      if (data.type === "ticket-viewers") { if (window.ticketDesk) ticketDesk.viewers(data); return; }
      if (!String(data.type || "").startsWith("ticket")) return;
      loadList();
      if (current && data.ticket && data.ticket.id === current.id) openTicket(current.id);
    }, (state) => { if (state === "live" && window.ticketDesk) ticketDesk.live(); });
  }
  await loadList();
  const wanted = new URLSearchParams(location.search).get("id");
  if (wanted && /^[0-9]{1,9}$/.test(wanted)) await openTicket(Number(wanted));
}

main();
