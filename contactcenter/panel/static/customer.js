// One customer's page: their record, then their calls, chats and tickets, newest first, as
// the server lists them (GET /api/customers/{id}/history), each ended chat with its rating.
// Text only, never HTML.
"use strict";

function when(epoch) { return new Date(epoch * 1000).toLocaleString(); }

function fill(id, items, render) {
  const ul = document.getElementById(id);
  ul.replaceChildren();
  for (const item of items) ul.append(render(item));
  if (!items.length) ul.append(cc.el("li", "none", { class: "muted" }));
}

function call(c) {
  const li = cc.el("li", `${when(c.at)} — ${c.queue} — ${c.state}` +
    (c.agent_id ? ` (agent ${c.agent_id})` : "") + (c.disposition ? ` — ${c.disposition}` : ""),
    { "data-interaction": c.interaction_id });
  for (const r of c.recordings || []) {
    li.append(" ", cc.el("a", "recording", { href: r.audio_url }));
  }
  return li;
}

function chat(c) {
  const li = cc.el("li", `${when(c.at)} — ${c.channel} chat — ${c.state}` +
    (c.agent_id ? ` (agent ${c.agent_id})` : ""), { "data-conversation": c.conversation_id });
  if (c.state === "closed") showRating(li, c.rating);
  return li;
}

// The visitor's rating of an ended chat (score and comment, chat/rating.py), as the history
// gives it: only to staff and the chat's agent. data-rating is the score, or "none".
function showRating(li, r) {
  li.dataset.rating = r && r.rating ? String(r.rating) : "none";
  if (!r || !r.rating) return;
  const span = cc.el("span", " — visitor's rating: ", { class: "chat-rating" });
  span.append(cc.el("strong", `${r.rating}/5`));
  if (r.comment) span.append(" ", cc.el("q", r.comment));
  li.append(span);
}

function ticket(t) {
  const li = cc.el("li", `${when(t.at)} — `, { "data-ticket": String(t.id) });
  li.append(cc.el("a", `#${t.id} ${t.subject}`, { href: t.url }),
            ` — ${t.status} (${t.origin})`);
  return li;
}

async function main() {
  await cc.session();
  const id = location.pathname.split("/").pop();
  try {
    const h = await cc.api("GET", `/api/customers/${id}/history`);
    const c = h.customer;
    cc.text("c-name", c.name || c.phone);
    const dl = document.getElementById("c-fields");
    for (const [k, v] of [["Phone", c.phone], ["Email", c.email], ["Account", c.account],
                          ["Tier", c.tier], ["Notes", c.notes]]) {
      if (v) dl.append(cc.el("dt", k), cc.el("dd", v));
    }
    fill("c-calls", h.calls, call);
    fill("c-chats", h.chats, chat);
    fill("c-tickets", h.tickets, ticket);
  } catch (err) { cc.fail("c-error", err); }
}

main();
