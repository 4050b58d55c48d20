// Supervisors' live chats: every open chat, and one watched at a time (read-only transcript
// over the live topic chat.<id>), with a private note to its agents, or joining it to write
// to the visitor (supervise.py). Every text is set with textContent.
"use strict";

let watching = null;  // {id, lastSeq, joined}
let ws = null;
let listDue = null;

function row(item) {
  const c = item.conversation;
  const tr = cc.el("tr", null, { "data-conversation": c.id });
  const guests = item.guests.concat(item.joined).join(", ");
  tr.append(cc.el("td", c.visitor_name), cc.el("td", c.queue), cc.el("td", c.state),
            cc.el("td", item.agent_name || ""), cc.el("td", guests));
  const td = cc.el("td");
  const b = cc.el("button", "Watch", { type: "button", class: "watch" });
  b.onclick = () => watch(c.id);
  td.append(b);
  tr.append(td);
  return tr;
}

async function loadList() {
  try {
    const body = await cc.api("GET", "/api/chat/live");
    document.querySelector("#live-chats tbody").replaceChildren(...body.conversations.map(row));
    document.getElementById("no-chats").classList.toggle("hidden", body.conversations.length > 0);
    cc.text("list-error", "");
  } catch (err) { cc.fail("list-error", err); }
}

function listSoon() {  // the wallboard topic changes often: at most one reload a second
  if (!listDue) listDue = setTimeout(() => { listDue = null; loadList(); }, 1000);
}

function addMessage(m) {
  if (!watching || m.seq <= watching.lastSeq) return;
  watching.lastSeq = m.seq;
  const row = cc.el("div", null, { class: `chat-msg chat-from-${m.from}`, "data-seq": String(m.seq) });
  const who = m.from === "note" ? `Private note from ${m.name}` : m.from === "system" ? "" : m.name;
  if (who) row.append(cc.el("span", who, { class: "chat-who" }));
  row.append(chatBody(m));
  const log = document.getElementById("watch-log");
  log.append(row);
  log.scrollTop = log.scrollHeight;
}

function showState(conv) {
  cc.text("watch-visitor", conv.visitor_name);
  cc.text("watch-state", conv.state);
  document.getElementById("watch").dataset.state = conv.state;
}

function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

async function watch(id) {
  cc.text("watch-error", "");
  if (watching) send({ type: "unsubscribe", topics: [`chat.${watching.id}`] });
  try {
    const body = await cc.api("POST", `/api/chat/conversations/${encodeURIComponent(id)}/watch`, {});
    watching = { id, lastSeq: 0, joined: body.joined.includes(cc.user.username) };
    document.getElementById("watch-log").replaceChildren();
    showState(body.conversation);
    for (const m of body.messages) addMessage(m);
    showJoined();
    document.getElementById("watch").classList.remove("hidden");
    send({ type: "subscribe", topics: [body.topic] });
  } catch (err) { cc.fail("watch-error", err); }
}

async function catchUp() {  // after a reconnect: what came meanwhile
  if (!watching) return;
  try {
    const id = watching.id;
    const body = await cc.api("GET", `/api/chat/conversations/${encodeURIComponent(id)}/messages?after=${watching.lastSeq}`);
    if (watching && watching.id === id) { showState(body.conversation); body.messages.forEach(addMessage); }
  } catch (err) { cc.fail("watch-error", err); }
}

function showJoined() {
  const joined = watching && watching.joined;
  document.getElementById("join").classList.toggle("hidden", !!joined);
  document.getElementById("say-text").classList.toggle("hidden", !joined);
  document.getElementById("say-send").classList.toggle("hidden", !joined);
}

async function post(path, body, input) {
  cc.text("watch-error", "");
  try {
    const out = await cc.api("POST", `/api/chat/conversations/${encodeURIComponent(watching.id)}/${path}`, body);
    if (input) input.value = "";
    if (out && out.message) addMessage(out.message);
    return out;
  } catch (err) { cc.fail("watch-error", err); return null; }
}

function connect(delay) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/api/live`);
  ws.onopen = () => {
    const topics = ["wallboard"].concat(watching ? [`chat.${watching.id}`] : []);
    ws.send(JSON.stringify({ type: "subscribe", topics }));
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "subscribed") {
      cc.text("live-status", "live");
      document.body.dataset.live = "1";
      if (msg.topics.includes("wallboard")) loadList();
      // Whatever came between the watch's transcript (or a reconnect) and this subscription.
      if (watching && msg.topics.includes(`chat.${watching.id}`)) catchUp();
    } else if (msg.type === "event" && msg.topic === "wallboard") listSoon();
    else if (msg.type === "event" && watching && msg.topic === `chat.${watching.id}`) {
      if (msg.data.type === "chat-message") addMessage(msg.data.message);
      else if (msg.data.type === "chat") { showState(msg.data.conversation); listSoon(); }
    }
  };
  ws.onclose = () => {
    cc.text("live-status", "reconnecting");
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  };
}

async function main() {
  await cc.session(["supervisor", "admin"]);
  const note = document.getElementById("note-text");
  const say = document.getElementById("say-text");
  document.getElementById("note-send").onclick = () => {
    if (note.value.trim()) post("note", { text: note.value.trim() }, note);
  };
  document.getElementById("join").onclick = async () => {
    if (await post("join", {})) { watching.joined = true; showJoined(); say.focus(); }
  };
  document.getElementById("say-send").onclick = () => {
    if (say.value.trim()) post("supervisor-messages", { text: say.value.trim() }, say);
  };
  document.getElementById("unwatch").onclick = () => {
    if (watching) send({ type: "unsubscribe", topics: [`chat.${watching.id}`] });
    watching = null;
    document.getElementById("watch").classList.add("hidden");
  };
  await loadList();
  connect(500);
}

main();
