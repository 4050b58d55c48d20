// The agent's chat cards beside the call card: offers (accept), conversations (reply, typing,
// close with a disposition), chats in wrap-up; below them, the messages visitors left while
// chat was offline (window.chatMessages: listed from /api/chat/offline-messages, marked done). Fed by the agent page's live socket
// (agent.<id>: "chat", "chat-message", "chat-typing", "chat-gone", "chat-rating" and the agent view), and
// reloaded from /api/chat/conversations whenever that socket (re)connects. Visitors' words
// are shown with textContent only.
"use strict";

// A property of window, not a top-level const: agent.js looks for it there.
window.chatCards = (() => {
  const cards = new Map();  // conversation id -> {root, conv, lastSeq, unread, ...}
  let loading = null;
  let again = false;
  // One set per list request in flight: the chats a live event changed meanwhile. The list
  // was read before those events, so its state of them is older: it must not undo them.
  const inflight = new Set();
  let transferQueues = [];  // from /api/chat/conversations
  let colleagues = [];  // agents logged in for chat: to transfer to or invite (same source)
  let me = null;  // my agent id (same source)

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
    // A file to the visitor, when the chat's channel takes files (chat-body.js shows them).
    const attach = cc.el("button", "Attach file", { type: "button", class: "chat-attach hidden" });
    const file = cc.el("input", null, { type: "file", class: "chat-file-input hidden",
                                        "aria-label": "file to send", tabindex: "-1" });
    replyRow.append(input, attach, file, send);
    // Canned replies: "/greet" then Enter or Tab inserts it; matching ones are listed below.
    const cannedHint = cc.el("div", null, { class: "chat-canned-hint hidden", "aria-live": "polite" });
    const closeRow = cc.el("div", null, { class: "row chat-close-row" });
    const disposition = dispositions();
    const close = cc.el("button", "Close chat", { type: "button", class: "chat-close" });
    closeRow.append(disposition, close);
    const transferRow = cc.el("div", null, { class: "row chat-transfer-row" });
    const transferTo = cc.el("select", null, { class: "chat-transfer-queue", "aria-label": "transfer chat to queue" });
    const transfer = cc.el("button", "Transfer", { type: "button", class: "chat-transfer" });
    transferRow.append(transferTo, transfer);
    // A named colleague: transfer the chat to them, or invite them in beside me.
    const colleagueRow = cc.el("div", null, { class: "row chat-colleague-row" });
    const colleague = cc.el("select", null, { class: "chat-colleague", "aria-label": "colleague" });
    const toColleague = cc.el("button", "Transfer to colleague", { type: "button", class: "chat-transfer-agent" });
    const invite = cc.el("button", "Invite", { type: "button", class: "chat-invite" });
    colleagueRow.append(colleague, toColleague, invite);
    // A chat I was invited into: I talk, then leave; the colleague who has it closes it.
    const guestRow = cc.el("div", null, { class: "row chat-guest-row hidden" });
    const leave = cc.el("button", "Leave chat", { type: "button", class: "chat-leave" });
    guestRow.append(cc.el("span", "invited", { class: "badge chat-guest" }), leave);
    const error = cc.el("p", "", { class: "error chat-error" });
    // The visitor's rating once the chat ended (chat/rating.py): textContent only.
    const rating = cc.el("p", "", { class: "chat-rating hidden", role: "status" });
    root.append(head, answers, earlier, log, typing, rating, offerRow, replyRow, cannedHint, closeRow,
                transferRow, colleagueRow, guestRow, error);
    const card = { root, conv, lastSeq: 0, unread: 0, badge, unreadBadge: unread, answers, log,
                   verified, earlier,
                   typing, offerRow, replyRow, closeRow, input, error, close, typingSent: 0,
                   typingStop: null, typingHide: null, workState: null, cannedHint,
                   canned: null, cannedLoad: null, transferRow, transferTo, colleagueRow,
                   colleague, guestRow, rating };
    card.visitorSaid = [];  // the visitor's latest messages: what agent assist reads
    if (window.kbAssist) {
      card.assist = kbAssist.attach(root, {
        source: () => ({ text: card.visitorSaid.join("\n"),
                         context: Object.fromEntries(card.conv.answers.map((a) => [a.label, a.value])) }),
        insert: (text) => {
          const at = input.selectionStart ?? input.value.length;
          const before = input.value.slice(0, at);
          input.value = before + (before && !/\s$/.test(before) ? " " : "") + text + input.value.slice(input.selectionEnd ?? at);
          input.focus();
        },
      });
    }
    accept.onclick = () => act(card, "accept", {});
    const say = async () => {
      const text = input.value.trim();
      if (!text) return;
      const ok = await act(card, "messages", { text });
      if (ok) {
        input.value = "";
        addMessage(card, Object.assign({ agent_id: me || card.conv.agent_id }, ok.message));
        stopTyping(card);
      }
    };
    send.onclick = say;
    loadFileSettings().then((channels) => {
      const s = channels[conv.channel];
      card.fileMax = s && s.enabled ? s.max_bytes : 0;
      attach.classList.toggle("hidden", !card.fileMax);
    });
    attach.onclick = () => file.click();
    file.onchange = () => {
      const f = file.files && file.files[0];
      file.value = "";
      if (f) sendFile(card, f);
    };
    input.addEventListener("keydown", (ev) => {
      if ((ev.key === "Enter" && !ev.shiftKey) || ev.key === "Tab") {
        if (expandCanned(card)) { ev.preventDefault(); return; }
      }
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); say(); }
    });
    input.addEventListener("input", () => {
      showCanned(card);
      const now = Date.now();
      if (now - card.typingSent > 3000) { card.typingSent = now; act(card, "typing", { typing: true }); }
      clearTimeout(card.typingStop);
      card.typingStop = setTimeout(() => stopTyping(card), 4000);
    });
    root.addEventListener("focusin", () => markRead(card));
    root.addEventListener("click", () => markRead(card));
    close.onclick = () => act(card, "close", { disposition: disposition.value });
    transfer.onclick = () => act(card, "transfer", { queue: transferTo.value });
    toColleague.onclick = () => act(card, "transfer", { agent: colleague.value });
    invite.onclick = () => act(card, "invite", { agent: colleague.value });
    leave.onclick = async () => {
      if (card.conv.state === "closed" || await act(card, "leave", {})) drop(conv.id);
    };
    container().append(root);
    cards.set(conv.id, card);
    return card;
  }

  let fileSettings = null;  // chat channel -> {enabled, max_bytes, types}: loaded once
  function loadFileSettings() {
    if (!fileSettings) {
      fileSettings = cc.api("GET", "/api/chat/attachment-settings")
        .then((body) => body.channels).catch(() => { fileSettings = null; return {}; });
    }
    return fileSettings;
  }

  // The raw bytes as the body: the server decides the type from them, not from this header.
  async function sendFile(card, f) {
    card.error.textContent = "";
    if (f.size > card.fileMax) {
      card.error.textContent = `The file is larger than this chat takes (${Math.round(card.fileMax / 1024)} KB).`;
      return;
    }
    const url = `/api/chat/conversations/${encodeURIComponent(card.conv.id)}/attachments` +
                `?filename=${encodeURIComponent(f.name.slice(0, 200))}`;
    try {
      const r = await fetch(url, { method: "POST", credentials: "same-origin", body: f, headers: {
        "X-CSRF-Token": cc.csrf || "", "Content-Type": "application/octet-stream", "Accept": "application/json" } });
      let out = null;
      try { out = await r.json(); } catch (e) { out = { error: r.statusText }; }
      if (!r.ok) { card.error.textContent = (out && out.error) || String(r.status); return; }
      addMessage(card, Object.assign({ agent_id: me || card.conv.agent_id }, out.message));
    } catch (err) { card.error.textContent = err.message; }
  }

  function loadCanned(card) {
    // One request per card, shared by the keystrokes typed while it is on its way.
    if (!card.cannedLoad) {
      card.cannedLoad = cc.api("GET", `/api/chat/conversations/${encodeURIComponent(card.conv.id)}/canned`)
        .then((body) => { card.canned = body.replies; return card.canned; })
        .catch((err) => { card.error.textContent = err.message; card.cannedLoad = null; return []; });
    }
    return card.cannedLoad;
  }

  function cannedQuery(card) {
    const m = /^\/([a-z0-9_-]*)$/.exec(card.input.value.trim());
    return m ? m[1] : null;
  }

  function insertCanned(card, reply) {
    card.input.value = reply.text;
    card.cannedHint.classList.add("hidden");
    card.input.focus();
  }

  async function showCanned(card) {
    const query = cannedQuery(card);
    if (query === null) { card.cannedHint.classList.add("hidden"); return; }
    const replies = await loadCanned(card);
    if (cannedQuery(card) !== query) return;  // typed on meanwhile
    const matches = replies.filter((r) => r.shortcut.startsWith(query));
    card.cannedHint.replaceChildren(...matches.map((r) => {
      const b = cc.el("button", `/${r.shortcut}`, { type: "button", class: "chat-canned", title: r.text });
      b.onclick = () => insertCanned(card, r);
      return b;
    }));
    card.cannedHint.classList.toggle("hidden", matches.length === 0);
  }

  function expandCanned(card) {
    const query = cannedQuery(card);
    if (query === null || !card.canned) return false;
    const reply = card.canned.find((r) => r.shortcut === query);
    if (!reply) return false;
    insertCanned(card, reply);
    return true;
  }

  function stopTyping(card) {
    clearTimeout(card.typingStop);
    if (card.typingSent) { card.typingSent = 0; act(card, "typing", { typing: false }); }
  }

  function markRead(card) {
    card.unread = 0;
    card.unreadBadge.classList.add("hidden");
    // The visitor's widget marks its messages read (only while the chat is mine and open).
    if (card.conv.state === "active" && card.workState !== "wrapup" && card.lastSeq > (card.readSent || 0)) {
      card.readSent = card.lastSeq;
      act(card, "read", { seq: card.lastSeq });
    }
  }

  function showMarks(card, marks) {
    if (!marks) return;
    card.marks = marks;
    for (const row of card.log.querySelectorAll(".chat-from-agent")) {
      const seq = Number(row.dataset.seq);
      const mark = seq <= marks.read ? "read" : seq <= marks.delivered ? "delivered" : "";
      if (row.dataset.mark === mark) continue;
      row.dataset.mark = mark;
      row.querySelector(".chat-mark").textContent = mark === "read" ? "✓✓ read" : mark === "delivered" ? "✓ delivered" : "";
    }
  }

  function show(card, conv, workState) {
    card.conv = conv;
    if (workState) card.workState = workState;
    else if (card.workState === "guest" && me && conv.agent_id === me) card.workState = null;  // now mine
    const wrapup = conv.state === "closed" || card.workState === "wrapup";
    const label = wrapup ? "wrap-up" : conv.state;
    card.badge.textContent = label;
    card.badge.className = `badge chat-state state-${wrapup ? "wrapup" : conv.state === "active" ? "busy" : "ringing"}`;
    card.root.dataset.state = label;
    card.offerRow.classList.toggle("hidden", conv.state !== "offered");
    card.replyRow.classList.toggle("hidden", conv.state !== "active");
    card.closeRow.classList.toggle("hidden", conv.state !== "active" && !wrapup);
    card.offerRow.classList.toggle("hidden", conv.state !== "offered" || wrapup);
    card.replyRow.classList.toggle("hidden", conv.state !== "active" || wrapup);
    const others = transferQueues.filter((q) => q !== conv.queue);
    if (card.transferTo.options.length !== others.length) {
      card.transferTo.replaceChildren(...others.map((q) => cc.el("option", q, { value: q })));
    }
    card.transferRow.classList.toggle("hidden", conv.state !== "active" || wrapup || !others.length);
    const others2 = colleagues.filter((c) => c.id !== conv.agent_id);
    if (card.colleague.options.length !== others2.length) {
      card.colleague.replaceChildren(...others2.map((c) => cc.el("option", c.name, { value: c.id })));
    }
    const guest = card.workState === "guest";
    card.colleagueRow.classList.toggle("hidden", conv.state !== "active" || wrapup || guest || !others2.length);
    card.guestRow.classList.toggle("hidden", !guest);
    if (guest) {
      card.transferRow.classList.add("hidden");
      card.closeRow.classList.add("hidden");
      card.replyRow.classList.toggle("hidden", conv.state !== "active");
      card.root.dataset.state = conv.state === "active" ? "guest" : label;
    }
    card.close.textContent = wrapup ? "Done" : "Close chat";
    const pairs = conv.answers.map((a) => [a.label, a.value]);
    if (conv.page) pairs.push(["Page", conv.page]);
    for (const [k, v] of Object.entries(conv.attributes || {})) pairs.push([k, v]);
    card.answers.replaceChildren();
    for (const [k, v] of pairs) card.answers.append(cc.el("dt", k), cc.el("dd", v));
    card.verified.classList.toggle("hidden", !conv.verified);
    if (card.assist) card.assist.refresh();
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
    // An agent's message is "You" unless a colleague (before a transfer, or invited in) or a
    // supervisor who joined (no agent id) wrote it. A note is a supervisor's, for agents only.
    const mine = m.agent_id != null && m.agent_id === (me || card.conv.agent_id);
    const who = m.from === "visitor" ? card.conv.visitor_name
      : m.from === "agent" ? (mine ? "You" : m.name || "Agent")
      : m.from === "note" ? `Private note from ${m.name}`
      : m.from === "bot" ? m.name || "Bot" : "";
    if (who) row.append(cc.el("span", who, { class: "chat-who" }));
    row.append(chatBody(m));
    if (m.from === "agent") row.append(cc.el("span", "", { class: "chat-mark muted" }));
    card.log.append(row);
    if (m.from === "agent" && card.marks) showMarks(card, card.marks);
    card.log.scrollTop = card.log.scrollHeight;
    if (m.from === "visitor") {
      card.visitorSaid = card.visitorSaid.concat(m.text).slice(-5);
      if (card.assist) card.assist.refresh();
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
        const touched = new Set();
        inflight.add(touched);
        let body;
        try { body = await cc.api("GET", "/api/chat/conversations"); }
        finally { inflight.delete(touched); }
        transferQueues = body.transfer_queues || [];
        colleagues = body.colleagues || [];
        me = body.agent_id || me;
        const seen = new Set();
        for (const item of body.conversations) {
          const id = item.conversation.id;
          seen.add(id);
          if (touched.has(id) && !cards.has(id)) continue;  // gone meanwhile
          const card = touched.has(id) ? cards.get(id) : upsert(item.conversation, item.work_state);
          showEarlier(card, item.earlier);
          for (const m of item.messages) addMessage(card, m);
          showMarks(card, item.marks);
          if (item.conversation.state === "closed") loadRating(card);
        }
        for (const id of [...cards.keys()]) if (!seen.has(id) && !touched.has(id)) drop(id);
        document.getElementById("chats").classList.toggle("hidden", cards.size === 0);
        if (touched.size) again = true;  // a list read after those events settles them
      } catch (err) { cc.fail("chats-error", err); }
    })();
    try { await loading; } finally {
      loading = null;
      if (again) { again = false; load(); }
    }
  }

  function showRating(card, r) {
    if (!r || !r.rating) return;
    card.rating.replaceChildren("Visitor's rating: ",
      cc.el("strong", `${r.rating}/5`, { class: r.rating >= 4 ? "rating-good" : "rating-bad" }));
    if (r.comment) card.rating.append(" ", cc.el("q", r.comment));
    card.rating.classList.remove("hidden");
  }

  async function loadRating(card) {
    try {
      const body = await cc.api("GET", `/api/chat/conversations/${encodeURIComponent(card.conv.id)}/rating`);
      showRating(card, body.rating);
    } catch (err) { /* no rating shown: the chat's card is complete without it */ }
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
      for (const touched of inflight) {
        const id = data.type === "chat" ? data.conversation.id : data.conversation_id;
        if (id && (data.type === "chat" || data.type === "chat-gone")) touched.add(id);
      }
      if (data.type === "chat") {
        const fresh = !cards.has(data.conversation.id);
        const card = upsert(data.conversation, data.work_state);
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
      } else if (data.type === "chat-marks") {
        const card = cards.get(data.conversation_id);
        if (card) showMarks(card, data);
      } else if (data.type === "chat-rating") {
        const card = cards.get(data.conversation_id);
        if (card) showRating(card, data);
      } else if (data.type === "chat-offline-message") {
        window.chatMessages.load();
      }
    },
    /** The agent's view changed: cards follow the chats it lists. */
    onAgent(agent) {
      const chats = agent.work.filter((w) => w.channel === "chat");
      const ids = new Set(chats.map((w) => w.interaction_id));
      // A view may be older than a card (a chat offered meanwhile): never drop a card on the
      // view alone, which would rebuild it and lose what the agent was typing; the server's
      // list (load) decides.
      const gone = [...cards].some(([id, card]) => !ids.has(id) && card.workState !== "guest");
      if (gone || chats.some((w) => !cards.has(w.interaction_id))) load();
    },
    /** The live socket (re)connected: anything may have been missed meanwhile. */
    onStatus(status) { if (status === "live") { load(); window.chatMessages.load(); } },
    load,
  };
})();

// Messages left while chat was offline, for this agent's queues (every queue for staff).
window.chatMessages = (() => {
  let section = null;
  let list = null;
  let error = null;

  function ensure() {
    if (section) return;
    section = cc.el("section", null, { id: "chat-messages", class: "wide hidden" });
    list = cc.el("ul", null, { class: "chat-messages-list", "aria-label": "messages left" });
    error = cc.el("p", "", { class: "error" });
    section.append(cc.el("h2", "Messages left"), list, error);
    const after = document.getElementById("chats");
    if (after) after.after(section); else document.querySelector("main").append(section);
  }

  function item(m) {
    const li = cc.el("li", null, { class: "chat-message-left", "data-message": m.id });
    const when = new Date(m.created_at * 1000).toLocaleString();
    const head = cc.el("div", null, { class: "row" });
    head.append(cc.el("strong", m.visitor_name, { class: "chat-message-name" }),
                cc.el("span", ` ${when} · ${m.queue}`, { class: "muted" }));
    const answers = cc.el("dl", null, { class: "kv" });
    for (const a of m.answers) answers.append(cc.el("dt", a.label), cc.el("dd", a.value));
    if (m.page) answers.append(cc.el("dt", "Page"), cc.el("dd", m.page));
    const text = cc.el("p", m.text, { class: "chat-message-text" });
    const done = cc.el("button", "Done", { type: "button", class: "chat-message-done" });
    done.onclick = async () => {
      error.textContent = "";
      try {
        await cc.api("POST", `/api/chat/offline-messages/${encodeURIComponent(m.id)}/done`, {});
        li.remove();
        section.classList.toggle("hidden", list.children.length === 0);
      } catch (err) { error.textContent = err.message; }
    };
    li.append(head, answers, text, done);
    return li;
  }

  async function load() {
    ensure();
    try {
      const body = await cc.api("GET", "/api/chat/offline-messages");
      list.replaceChildren(...body.messages.map(item));
      section.classList.toggle("hidden", body.messages.length === 0);
      error.textContent = "";
    } catch (err) { error.textContent = err.message; }
  }

  return { load };
})();
