// The tickets page: my tickets (or, for staff, unassigned and all), a ticket's thread with
// public replies and internal notes, status and priority. Text is shown as text; a mail's
// sanitised HTML only inside a sandboxed frame (no scripts, no same-origin access).
"use strict";

const STATUSES = ["new", "open", "pending", "on-hold", "solved", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
let current = null;
let staff = false;

function options(select, values, first) {
  select.textContent = "";
  if (first) select.append(first);
  for (const v of values) select.append(cc.el("option", v, { value: v }));
}

async function loadList() {
  const view = document.getElementById("view").value;
  const q = document.getElementById("q").value.trim();
  const params = new URLSearchParams({ view, limit: "100" });
  if (q) params.set("q", q);
  try {
    const data = await cc.api("GET", `/api/tickets?${params}`);
    const body = document.querySelector("#tickets tbody");
    body.textContent = "";
    for (const t of data.tickets) {
      const tr = cc.el("tr", null, { "data-id": String(t.id) });
      tr.append(cc.el("td", `#${t.id}`), cc.el("td", t.subject),
                cc.el("td", t.requester.email || t.requester.phone || ""),
                cc.el("td", t.status), cc.el("td", t.assignee || "—"));
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
    const thread = document.getElementById("thread");
    thread.textContent = "";
    for (const a of data.articles) thread.append(article(a));
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
  try {
    await cc.api("POST", `/api/tickets/${current.id}/${kind}`, body);
    document.getElementById("text").value = "";
    await openTicket(current.id);
    await loadList();
  } catch (err) { cc.fail("t-error", err); }
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
  document.getElementById("compose").addEventListener("submit", (e) => { e.preventDefault(); write("replies"); });
  document.getElementById("add-note").addEventListener("click", () => write("notes"));
  if (user.agent_id) {
    cc.live([`agent.${user.agent_id}`], (_topic, data) => {
      if (!String(data.type || "").startsWith("ticket")) return;
      loadList();
      if (current && data.ticket && data.ticket.id === current.id) openTicket(current.id);
    });
  }
  await loadList();
  const wanted = new URLSearchParams(location.search).get("id");
  if (wanted && /^[0-9]{1,9}$/.test(wanted)) await openTicket(Number(wanted));
}

main();
