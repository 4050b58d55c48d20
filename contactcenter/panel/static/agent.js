// The agent panel: own state live over agent.<id>, screen pop with suggested articles, call
// controls (hang up, hold / resume, transfer to a queue or a number), wrap-up.
"use strict";

const HIDDEN_KEYS = new Set(["caller_id", "flow", "ivr_path", "channel", "on_hold_since"]);
let me = null;          // {agent_id, ...}
let view = null;        // the last agent view
let wrapupS = {};       // queue -> seconds
let wrapupStart = null; // Date.now() when wrap-up began
let wrapupQueue = null;
let wrapupIid = null;   // the call whose wrap-up the timer counts
let currentIid = null;
let holdStart = null;   // Date.now() when the current call went on hold
let popData = {};       // the shown call's screen-pop data: what agent assist reads
let callAssist = null;  // suggested articles for the call (kb/static/assist.js)

async function act(path, body, errorId) {
  cc.text(errorId, "");
  try { return await cc.api("POST", path, body); } catch (err) { cc.fail(errorId, err); return null; }
}

// Live agent events seen so far: a fetched state older than the newest event must not win.
let agentEvents = 0;

/** An agent action whose answer is shown at once: the live feed may not be subscribed yet
 *  (the first click can come before the socket opens), and its event would then be lost. */
async function actOnAgent(path, body) {
  const seen = agentEvents;
  const agent = await act(path, body, "state-error");
  if (agent && agentEvents === seen) showAgent(agent);
}

/** After the feed (re)connects, events sent while it was down are gone: read the state anew. */
async function resyncAgent() {
  const seen = agentEvents;
  try {
    const body = await cc.api("GET", "/api/panel/me");
    if (agentEvents === seen) showAgent(body.agent);
  } catch (err) { cc.fail("state-error", err); }
}

function showAgent(agent) {
  const prev = view ? view.state : null;
  view = agent;
  const badge = document.getElementById("state");
  badge.textContent = agent.state;
  badge.className = "badge state-" + agent.state;
  badge.dataset.state = agent.state;
  cc.text("pause-shown", agent.pause_reason ? `(${agent.pause_reason})` : "");
  cc.text("queues", agent.queues.join(", ") || "none");
  // The call card is about calls; chats have their own cards (chat/static/panel/agent-chats.js).
  const calls = agent.work.filter((w) => w.channel === "voice");
  const connected = calls.find((w) => w.state === "busy");
  const wrapping = calls.find((w) => w.state === "wrapup");
  for (const id of ["hangup", "hold", "resume", "transfer", "transfer-number-go"]) {
    document.getElementById(id).disabled = !connected;
  }
  if (!connected) setHeld(false);
  if (wrapping) {
    // A chat may keep the shown state "busy" through this call's wrap-up: follow the call.
    if (wrapupStart === null || wrapupIid !== wrapping.interaction_id) {
      wrapupIid = wrapping.interaction_id;
      wrapupStart = Date.now();
      wrapupQueue = wrapping ? wrapping.queue : (connected ? connected.queue : null);
    }
    document.getElementById("wrapup").classList.remove("hidden");
  } else {
    wrapupStart = null;
    document.getElementById("wrapup").classList.add("hidden");
    if (!connected && !calls.some((w) => w.state === "ringing" || w.state === "reserved")) {
      document.getElementById("pop").classList.add("hidden");
      if (prev === "wrapup") loadFigures();
    }
  }
  if (calls.length) refreshCurrent();
  if (window.chatCards) chatCards.onAgent(agent);
}

function setHeld(held) {
  if (held && holdStart === null) holdStart = Date.now();
  if (!held) holdStart = null;
  document.getElementById("hold-shown").classList.toggle("hidden", !held);
  document.getElementById("hold").classList.toggle("hidden", held);
  document.getElementById("resume").classList.toggle("hidden", !held);
  document.getElementById("pop").dataset.held = held ? "yes" : "no";
  tick();
}

function tick() {
  if (holdStart !== null) cc.text("hold-timer", cc.secs((Date.now() - holdStart) / 1000));
  if (wrapupStart === null) return;
  const elapsed = (Date.now() - wrapupStart) / 1000;
  const limit = wrapupS[wrapupQueue];
  cc.text("wrapup-timer", limit ? `${cc.secs(elapsed)} / ${cc.secs(limit)}` : cc.secs(elapsed));
}

function kv(id, pairs) {
  const dl = document.getElementById(id);
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    dl.append(cc.el("dt", k), cc.el("dd", typeof v === "object" ? JSON.stringify(v) : v));
  }
  if (!pairs.length) dl.append(cc.el("dd", "—", { class: "muted" }));
}

function showPop(item) {
  const data = item.data || {};
  if (currentIid !== item.interaction_id) holdStart = null;
  currentIid = item.interaction_id;
  setHeld(item.state === "busy" && data.on_hold_since != null);
  document.getElementById("pop").classList.remove("hidden");
  document.getElementById("pop").dataset.interaction = item.interaction_id;
  cc.text("pop-caller", data.caller_id || "unknown");
  cc.text("pop-queue", item.queue);
  cc.text("pop-state", item.state || "connected");
  cc.text("pop-flow", data.flow || "");
  cc.text("pop-path", (data.ivr_path || "").split("/").join(" → "));
  const entries = Object.entries(data).filter(([k]) => !HIDDEN_KEYS.has(k));
  kv("pop-inputs", entries.filter(([k]) => !k.includes(".")));
  kv("pop-lookup", entries.filter(([k]) => k.includes(".")));
  popData = data;
  if (callAssist) callAssist.refresh();
  customerLink(data.caller_id);
  if (item.history) {
    const ul = document.getElementById("pop-history");
    ul.replaceChildren();
    for (const h of item.history) {
      const when = new Date(h.arrived_at * 1000).toLocaleString();
      ul.append(cc.el("li", `${when} — ${h.queue} — ${h.state}${h.agent_id ? " (agent " + h.agent_id + ")" : ""}`));
    }
    if (!item.history.length) ul.append(cc.el("li", "none", { class: "muted" }));
  }
}

// The screen pop links to the caller's customer page when the caller id is a customer's.
let customerFor = null;
async function customerLink(callerId) {
  if (callerId === customerFor) return;
  customerFor = callerId;
  const p = document.getElementById("pop-customer");
  p.classList.add("hidden");
  if (!callerId || !/^\+?[0-9]{1,31}$/.test(callerId)) return;
  try {
    const c = await cc.api("GET", `/api/customers/by-phone/${encodeURIComponent(callerId)}`);
    if (customerFor !== callerId) return;
    const a = document.getElementById("pop-customer-link");
    a.href = c.url;
    a.textContent = `Customer page: ${c.name || callerId}`;
    p.classList.remove("hidden");
  } catch (err) { /* 404: not a customer (or not yours): no link */ }
}

// "Create ticket" in wrap-up: a ticket about the call just ended, assigned to me, with its
// type and custom fields (tickets' ticket_field_form.js: typed inputs, checked before sending).
let ticketDefs = null;
async function ticketFields() {
  if (!window.ticketFieldForm) return;
  ticketDefs = await ticketFieldForm.defs();
  ticketFieldForm.build(document.getElementById("ticket-fields"), ticketDefs, "wf-");
}

async function createTicket() {
  cc.text("ticket-created", "");
  cc.text("ticket-error", "");
  const wrapping = view && view.work.find((w) => w.state === "wrapup");
  const iid = wrapping ? wrapping.interaction_id : (wrapupIid || currentIid);
  if (!iid) { cc.text("ticket-error", "no call to file"); return; }
  const got = ticketDefs ? ticketFieldForm.read(ticketDefs, "wf-") : null;
  if (got && got.errors.length) { cc.text("ticket-error", got.errors.join("; ")); return; }
  const t = await act("/api/tickets/from-call", {
    interaction_id: iid, subject: document.getElementById("ticket-subject").value,
    text: document.getElementById("ticket-note").value,
    ...(got ? ticketFieldForm.body(got) : {}) }, "ticket-error");
  if (!t) return;
  document.getElementById("ticket-subject").value = "";
  document.getElementById("ticket-note").value = "";
  ticketFields();  // empty again (and as an admin may have changed them)
  const span = document.getElementById("ticket-created");
  span.replaceChildren("Created ", cc.el("a", `ticket #${t.id}`, { href: `/tickets?id=${t.id}`,
                                                                   id: "ticket-link" }));
}

let refreshing = false;
async function refreshCurrent() {
  if (refreshing) return;
  refreshing = true;
  try {
    const cur = await cc.api("GET", "/api/panel/current");
    const calls = cur.work.filter((w) => w.channel === "voice");
    const item = calls.find((w) => w.state === "busy") || calls[0];
    if (item) showPop(item);
  } catch (err) { cc.fail("call-error", err); } finally { refreshing = false; }
}

async function loadFigures() {
  const body = await cc.api("GET", "/api/panel/me");
  const f = body.figures || {};
  kv("figures", [["Answered", f.answered ?? 0], ["Completed", f.completed ?? 0],
                 ["Talk time", cc.secs(f.talk_s)], ["Avg handle", cc.secs(f.avg_handle_s)],
                 ["Missed", f.missed ?? 0],
                 ["Dispositions", Object.entries(f.dispositions || {}).map(([k, v]) => `${k}: ${v}`).join(", ") || "—"]]);
  document.getElementById("figures").dataset.answered = String(f.answered ?? 0);
  return body;
}

async function main() {
  const user = await cc.session();
  if (!user.agent_id) { cc.text("state-error", "Your user is not linked to an agent."); return; }
  me = user;
  const body = await loadFigures();
  wrapupS = body.wrapup_s || {};
  const sel = document.getElementById("transfer-queue");
  for (const q of body.all_queues || []) sel.append(cc.el("option", q, { value: q }));
  if (window.kbAssist) {
    // The IVR path's node names and the caller's inputs are the words a call gives us.
    callAssist = kbAssist.attach(document.getElementById("pop-assist"), {
      source: () => {
        const context = Object.fromEntries(Object.entries(popData)
          .filter(([k]) => !HIDDEN_KEYS.has(k) || k === "ivr_path" || k === "flow"));
        return { text: (popData.ivr_path || "").split(/[/_-]/).join(" "), context };
      },
      insert: null, label: "Suggested articles for this call" });
  }
  showAgent(body.agent);
  const base = `/api/agents/${encodeURIComponent(me.agent_id)}`;
  document.getElementById("queues-login").onclick = () => actOnAgent(base + "/login", {});
  document.getElementById("queues-logout").onclick = () => actOnAgent(base + "/logout", {});
  document.getElementById("available").onclick = () => actOnAgent(base + "/unpause", {});
  document.getElementById("pause").onclick = () =>
    actOnAgent(base + "/pause", { reason: document.getElementById("pause-reason").value });
  document.getElementById("hangup").onclick = () =>
    act("/api/panel/hangup", currentIid ? { interaction_id: currentIid } : {}, "call-error");
  const mine = (extra) => Object.assign(currentIid ? { interaction_id: currentIid } : {}, extra);
  document.getElementById("transfer").onclick = () =>
    act("/api/panel/transfer", mine({ queue: sel.value }), "call-error");
  document.getElementById("transfer-number-go").onclick = () => {
    const number = document.getElementById("transfer-number").value.trim();
    if (!/^\+?[0-9]{1,20}$/.test(number)) {
      cc.text("call-error", "A number is digits only, optionally after a +, at most 20.");
      return;
    }
    act("/api/panel/transfer", mine({ number }), "call-error");
  };
  document.getElementById("hold").onclick = async () => {
    if (await act("/api/panel/hold", mine({}), "call-error")) setHeld(true);
  };
  document.getElementById("resume").onclick = async () => {
    if (await act("/api/panel/resume", mine({}), "call-error")) setHeld(false);
  };
  document.getElementById("ticket-create").onclick = createTicket;
  ticketFields();
  document.getElementById("wrapup-done").onclick = async () => {
    const wrapping = view && view.work.find((w) => w.state === "wrapup");
    const payload = { disposition: document.getElementById("disposition").value,
                      notes: document.getElementById("notes").value };
    if (wrapping) payload.interaction_id = wrapping.interaction_id;
    const ok = await act(base + "/wrapup", payload, "wrapup-error");
    if (ok) { document.getElementById("notes").value = ""; showAgent(ok); loadFigures(); }
  };
  cc.live([`agent.${me.agent_id}`], (topic, data) => {
    if (data.type === "agent") {
      agentEvents += 1;
      wrapupS = data.wrapup_s || wrapupS;
      showAgent(data.agent);
    }
    else if (data.type === "screen-pop") {
      showPop({ interaction_id: data.interaction_id, queue: data.queue, state: "connected",
                data: Object.assign({ caller_id: data.caller_id }, data.data || {}) });
      refreshCurrent();
    } else if (window.chatCards) chatCards.onEvent(data);
  }, (status) => {
    cc.text("live-status", status);
    if (status === "live") resyncAgent();
    if (window.chatCards) chatCards.onStatus(status);
  });
  setInterval(tick, 250);
}

main();
