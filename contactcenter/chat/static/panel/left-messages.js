// Supervisors' page of messages visitors left ("leave a message"): filter by queue, state and
// date, read one whole, mark it handled, follow the ticket it became. Live over the staff topic
// chat-left (a new message, its ticket, a message handled): the list reloads, filters kept.
// Every text is set with textContent.
"use strict";

let reading = null;  // the message shown whole
let listDue = null;
const REASONS = { closed: "outside hours", holiday: "holiday", nobody: "nobody logged in",
                  open: "left while open", waited: "after waiting" };

function when(epoch) { return new Date(epoch * 1000).toLocaleString(); }

function dayStart(value, plusDays) {  // a date input (the browser's time zone) as epoch seconds
  if (!value) return "";
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + plusDays);
  return String(Math.floor(d.getTime() / 1000));
}

function query() {
  const q = new URLSearchParams({ state: document.getElementById("f-state").value });
  const queue = document.getElementById("f-queue").value;
  if (queue) q.set("queue", queue);
  const since = dayStart(document.getElementById("f-from").value, 0);
  const until = dayStart(document.getElementById("f-to").value, 1);  // the whole day
  if (since) q.set("since", since);
  if (until) q.set("until", until);
  return q.toString();
}

function ticketLink(id) {
  return cc.el("a", `#${id}`, { href: `/tickets?id=${encodeURIComponent(id)}`, class: "ticket-link" });
}

function row(m) {
  const tr = cc.el("tr", null, { "data-message": m.id, "data-state": m.done_at ? "done" : "open" });
  const ticket = cc.el("td");
  if (m.ticket_id) ticket.append(ticketLink(m.ticket_id));
  const text = m.text.length > 80 ? `${m.text.slice(0, 80)}…` : m.text;
  tr.append(cc.el("td", when(m.created_at)), cc.el("td", m.visitor_name), cc.el("td", m.queue),
            cc.el("td", REASONS[m.reason] || m.reason), cc.el("td", text, { class: "m-text" }),
            ticket, cc.el("td", m.done_at ? `handled by ${m.done_by}` : "unhandled",
                          { class: "m-state" }));
  const td = cc.el("td");
  const b = cc.el("button", "Read", { type: "button", class: "read" });
  b.onclick = () => read(m.id);
  td.append(b);
  tr.append(td);
  return tr;
}

function fillQueues(queues) {
  const select = document.getElementById("f-queue");
  const have = new Set([...select.options].map((o) => o.value));
  for (const q of queues) if (!have.has(q)) select.append(cc.el("option", q, { value: q }));
}

async function loadList() {
  try {
    const body = await cc.api("GET", `/api/chat/offline-messages?${query()}`);
    fillQueues(body.queues);
    document.querySelector("#left-messages tbody").replaceChildren(...body.messages.map(row));
    document.getElementById("no-messages").classList.toggle("hidden", body.messages.length > 0);
    cc.text("list-error", "");
  } catch (err) { cc.fail("list-error", err); }
}

function listSoon() {  // a burst of changes: one reload
  if (!listDue) listDue = setTimeout(() => { listDue = null; loadList(); }, 300);
}

function show(m) {
  reading = m;
  cc.text("d-visitor", m.visitor_name);
  cc.text("d-state", m.done_at ? `handled by ${m.done_by}` : "unhandled");
  cc.text("d-when", when(m.created_at));
  cc.text("d-queue", m.queue);
  cc.text("d-reason", REASONS[m.reason] || m.reason);
  cc.text("d-page", m.page ? `· from ${m.page}` : "");
  cc.text("d-text", m.text);
  const answers = document.getElementById("d-answers");
  answers.replaceChildren();
  for (const a of m.answers) {
    if (a.value) answers.append(cc.el("dt", a.label || a.name), cc.el("dd", a.value));
  }
  const ticket = document.getElementById("d-ticket");
  ticket.replaceChildren();
  if (m.ticket_id) ticket.append("Ticket ", ticketLink(m.ticket_id));
  const detail = document.getElementById("left-detail");
  detail.dataset.message = m.id;
  detail.dataset.state = m.done_at ? "done" : "open";
  document.getElementById("d-done").classList.toggle("hidden", !!m.done_at);
  detail.classList.remove("hidden");
}

async function read(id) {
  cc.text("detail-error", "");
  try {
    show((await cc.api("GET", `/api/chat/offline-messages/${encodeURIComponent(id)}`)).message);
  } catch (err) { cc.fail("detail-error", err); }
}

async function main() {
  await cc.session(["supervisor", "admin"]);
  for (const id of ["f-queue", "f-state", "f-from", "f-to"]) {
    document.getElementById(id).addEventListener("change", loadList);
  }
  document.getElementById("filters").addEventListener("submit", (ev) => ev.preventDefault());
  document.getElementById("d-done").onclick = async () => {
    if (!reading) return;
    cc.text("detail-error", "");
    try {
      await cc.api("POST", `/api/chat/offline-messages/${encodeURIComponent(reading.id)}/done`, {});
      await read(reading.id);
      loadList();
    } catch (err) { cc.fail("detail-error", err); }
  };
  document.getElementById("d-close").onclick = () => {
    reading = null;
    document.getElementById("left-detail").classList.add("hidden");
  };
  await loadList();
  cc.live(["chat-left"], (topic, data) => {
    if (topic !== "chat-left") return;
    listSoon();
    if (reading && data.message && data.message.id === reading.id) show(data.message);
  }, (status) => {
    cc.text("live-status", status);
    if (status === "live") { document.body.dataset.live = "1"; loadList(); }
  });
}

main();
