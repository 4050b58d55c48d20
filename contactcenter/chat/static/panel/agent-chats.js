// The agent's chat cards beside the call card: offers (accept), conversations (reply, typing,
// close with a disposition), chats in wrap-up. Fed by the agent page's live socket
// (agent.<id>: "chat", "chat-message", "chat-typing", "chat-gone" and the agent view), and
// reloaded from /api/chat/conversations whenever that socket (re)connects. Visitors' words
// are shown with textContent only.
"use strict";

// A property of window, not a top-level const: agent.js looks for it there.
window.chatCards = (() => {
  const cards = new Map();  // conversation id -> {root, conv, lastSeq, unread, ...}
  let loading = null;
  let again = false;

  function container() { return document.getElementById("chat-cards"); }

  function dispositions() {
    const source = document.getElementById("disposition");
    const sel = cc.el("select", null, { class: "chat-disposition", "aria-label": "disposition" });
    for (const opt of source ? source.options : []) sel.append(cc.el("option", opt.textContent, { value: opt.value }));
    return sel;
  }

  async function act(card, path, body) {
    card.error.textContent = "";
    try { return await cc.api("POST", `/api/chat/conversations/${encodeURIComponent(card.conv.id)}/${path}`, body); }
    catch (err) { card.error.textContent = err.message; return null; }
  }

  function build(conv) {
    const root = cc.el("article", null, { class: "chat-card", "data-conversation": conv.id });
    const head = cc.el("h3");
    const name = cc.el("span", conv.visitor_name, { class: "chat-visitor" });
    const badge = cc.el("span", "", { class: "badge chat-state" });
    const unread = cc.el("span", "", { class: "badge chat-unread hidden", "aria-label": "unread messages" });
    const verified = cc.el("span", "verified", { class: "badge chat-verified hidden",
                                                 title: "the site vouched for this visitor's id" });
    head.append(name, " ", badge, " ", verified, " ", unread);
    const answers = cc.el("dl", null, { class: "kv chat-answers" });
    const earlier = cc.el("ul", null, { class: "chat-earlier hidden", "aria-label": "earlier chats" });
    const log = cc.el("div", null, { class: "chat-log", role: "log", "aria-live": "polite" });
    const typing = cc.el("div", "", { class: "chat-typing muted", "aria-live": "polite" });
    const offerRow = cc.el("div", null, { class: "row chat-offer" });
    const accept = cc.el("button", "Accept", { type: "button", class: "primary chat-accept" });
    offerRow.append(accept);
    const replyRow = cc.el("div", null, { class: "row chat-reply" });
    const input = cc.el("textarea", null, { class: "chat-input", rows: "2", maxlength: "2000",
                                            "aria-label": `reply to ${conv.visitor_name}` });
    const send = cc.el("button", "Send", { type: "button", class: "primary chat-send" });
    replyRow.append(input, send);
    const closeRow = cc.el("div", null, { class: "row chat-close-row" });
    const disposition = dispositions();
    const close = cc.el("button", "Close chat", { type: "button", class: "chat-close" });
    closeRow.append(disposition, close);
    const error = cc.el("p", "", { class: "error chat-error" });
    root.append(head, answers, earlier, log, typing, offerRow, replyRow, closeRow, error);
    const card = { root, conv, lastSeq: 0, unread: 0, badge, unreadBadge: unread, answers, log,
                   verified, earlier,
                   typing, offerRow, replyRow, closeRow, input, error, close, typingSent: 0,
                   typingStop: null, typingHide: null, workState: null };
    accept.onclick = () => act(card, "accept", {});
    const say = async () => {
      const text = input.value.trim();
      if (!text) return;
      const ok = await act(card, "messages", { text });
      if (ok) { input.value = ""; addMessage(card, ok.message); stopTyping(card); }
    };
    send.onclick = say;
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); say(); }
    });
    input.addEventListener("input", () => {
      const now = Date.now();
      if (now - card.typingSent > 3000) { card.typingSent = now; act(card, "typing", { typing: true }); }
      clearTimeout(card.typingStop);
      card.typingStop = setTimeout(() => stopTyping(card), 4000);
    });
    root.addEventListener("focusin", () => markRead(card));
    root.addEventListener("click", () => markRead(card));
    close.onclick = () => act(card, "close", { disposition: disposition.value });
    container().append(root);
    cards.set(conv.id, card);
    return card;
  }

  function stopTyping(card) {
    clearTimeout(card.typingStop);
    if (card.typingSent) { card.typingSent = 0; act(card, "typing", { typing: false }); }
  }

  function markRead(card) {
    card.unread = 0;
    card.unreadBadge.classList.add("hidden");
  }

  function show(card, conv, workState) {
    card.conv = conv;
    if (workState) card.workState = workState;
    const wrapup = conv.state === "closed";
    const label = wrapup ? "wrap-up" : conv.state;
    card.badge.textContent = label;
    card.badge.className = `badge chat-state state-${wrapup ? "wrapup" : conv.state === "active" ? "busy" : "ringing"}`;
    card.root.dataset.state = label;
    card.offerRow.classList.toggle("hidden", conv.state !== "offered");
    card.replyRow.classList.toggle("hidden", conv.state !== "active");
    card.closeRow.classList.toggle("hidden", conv.state !== "active" && !wrapup);
    card.close.textContent = wrapup ? "Done" : "Close chat";
    const pairs = conv.answers.map((a) => [a.label, a.value]);
    if (conv.page) pairs.push(["Page", conv.page]);
    for (const [k, v] of Object.entries(conv.attributes || {})) pairs.push([k, v]);
    card.answers.replaceChildren();
    for (const [k, v] of pairs) card.answers.append(cc.el("dt", k), cc.el("dd", v));
    card.verified.classList.toggle("hidden", !conv.verified);
  }

  function showEarlier(card, earlier) {
    card.earlier.replaceChildren();
    for (const e of earlier || []) {
      const when = new Date(e.created_at * 1000).toLocaleString();
      card.earlier.append(cc.el("li", `${when} — ${e.queue}${e.agent_id ? " (agent " + e.agent_id + ")" : ""}`));
    }
    card.earlier.classList.toggle("hidden", !(earlier && earlier.length));
  }

  function addMessage(card, m) {
    if (m.seq <= card.lastSeq) return;
    card.lastSeq = m.seq;
    const row = cc.el("div", null, { class: `chat-msg chat-from-${m.from}`, "data-seq": String(m.seq) });
    const who = m.from === "visitor" ? card.conv.visitor_name : m.from === "agent" ? "You" : "";
    if (who) row.append(cc.el("span", who, { class: "chat-who" }));
    row.append(document.createTextNode(m.text));
    card.log.append(row);
    card.log.scrollTop = card.log.scrollHeight;
    if (m.from === "visitor") {
      card.typing.textContent = "";
      if (!card.root.contains(document.activeElement)) {
        card.unread += 1;
        card.unreadBadge.textContent = String(card.unread);
        card.unreadBadge.classList.remove("hidden");
      }
    }
  }

  function upsert(conv, workState) {
    const card = cards.get(conv.id) || build(conv);
    show(card, conv, workState);
    return card;
  }

  function drop(id) {
    const card = cards.get(id);
    if (card) { card.root.remove(); cards.delete(id); }
    document.getElementById("chats").classList.toggle("hidden", cards.size === 0);
  }

  async function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      try {
        const body = await cc.api("GET", "/api/chat/conversations");
        const seen = new Set();
        for (const item of body.conversations) {
          seen.add(item.conversation.id);
          const card = upsert(item.conversation, item.work_state);
          showEarlier(card, item.earlier);
          for (const m of item.messages) addMessage(card, m);
        }
        for (const id of [...cards.keys()]) if (!seen.has(id)) drop(id);
        document.getElementById("chats").classList.toggle("hidden", cards.size === 0);
      } catch (err) { cc.fail("chats-error", err); }
    })();
    try { await loading; } finally {
      loading = null;
      if (again) { again = false; load(); }
    }
  }

  async function fetchMessages(card) {
    try {
      const body = await cc.api("GET", `/api/chat/conversations/${encodeURIComponent(card.conv.id)}/messages?after=${card.lastSeq}`);
      for (const m of body.messages) addMessage(card, m);
    } catch (err) { card.error.textContent = err.message; }
  }

  return {
    /** A message of the agent.<id> topic. */
    onEvent(data) {
      if (data.type === "chat") {
        const fresh = !cards.has(data.conversation.id);
        const card = upsert(data.conversation);
        document.getElementById("chats").classList.remove("hidden");
        if (fresh) load();  // its transcript and, for a known customer, the earlier chats
        else if (data.conversation.last_seq > card.lastSeq) fetchMessages(card);
      } else if (data.type === "chat-message") {
        const card = cards.get(data.conversation_id);
        if (!card) { load(); return; }
        if (data.message.seq > card.lastSeq + 1) fetchMessages(card);  // missed one: fill the gap
        else addMessage(card, data.message);
      } else if (data.type === "chat-typing") {
        const card = cards.get(data.conversation_id);
        if (!card) return;
        clearTimeout(card.typingHide);
        card.typing.textContent = data.typing ? `${card.conv.visitor_name} is typing…` : "";
        if (data.typing) card.typingHide = setTimeout(() => { card.typing.textContent = ""; }, 8000);
      } else if (data.type === "chat-gone") {
        drop(data.conversation_id);
      }
    },
    /** The agent's view changed: cards follow the chats it lists. */
    onAgent(agent) {
      const chats = agent.work.filter((w) => w.channel === "chat");
      const ids = new Set(chats.map((w) => w.interaction_id));
      for (const id of [...cards.keys()]) if (!ids.has(id)) drop(id);
      if (chats.some((w) => !cards.has(w.interaction_id))) load();
    },
    /** The live socket (re)connected: anything may have been missed meanwhile. */
    onStatus(status) { if (status === "live") load(); },
    load,
  };
})();
