// The supervisor wallboard: the "wallboard" live topic redraws it; buttons call monitoring.
"use strict";

let board = null;
let updates = 0;

function chats(data, queue) {
  const c = ((data.channels || {})[queue] || {}).chat;
  return c ? `${c.waiting} / ${c.active}` : "0 / 0";
}

function pct(v) { return v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`; }

function draw(data) {
  board = data;
  updates += 1;
  const now = data.at;
  const qb = document.querySelector("#queues tbody");
  qb.replaceChildren();
  for (const q of data.queues) {
    const tr = cc.el("tr", null, { "data-queue": q.name });
    const states = Object.entries(q.agents).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
    for (const [cls, v] of [["name", q.name], ["waiting", q.waiting], ["longest", cc.secs(q.longest_wait_s)],
                            ["sl", pct(q.service_level)], ["answered", q.answered],
                            ["abandoned", q.abandoned], ["agents", states],
                            ["chats", chats(data, q.name)]]) {
      tr.append(cc.el("td", v, { class: "q-" + cls }));
    }
    qb.append(tr);
  }
  drawIvr(data.ivr || {});
  const cb = document.querySelector("#calls tbody");
  cb.replaceChildren();
  for (const c of data.calls) {
    const tr = cc.el("tr", null, { "data-interaction": c.interaction_id, "data-agent": c.agent_id });
    const talk = cc.el("td", cc.secs(now - c.started_at), { class: "c-talk" });
    if (c.on_hold_since !== null && c.on_hold_since !== undefined) {
      talk.append(" ", cc.el("span", `on hold ${cc.secs(now - c.on_hold_since)}`,
                             { class: "badge held" }));
    }
    tr.append(cc.el("td", c.caller_id || "unknown"), cc.el("td", c.queue), cc.el("td", c.agent_id),
              talk);
    const td = cc.el("td");
    for (const mode of ["listen", "whisper", "barge"]) {
      const b = cc.el("button", mode, { type: "button", class: "mon-" + mode, "data-mode": mode });
      b.addEventListener("click", () => monitor(c.interaction_id, mode));
      td.append(b, " ");
    }
    tr.append(td);
    cb.append(tr);
  }
  document.getElementById("no-calls").classList.toggle("hidden", data.calls.length > 0);
  const ul = document.getElementById("sessions");
  ul.replaceChildren();
  for (const s of data.sessions.filter((x) => x.supervisor === cc.user.username)) {
    const li = cc.el("li", `${s.mode} on ${s.interaction_id} (${s.state}) `,
                     { "data-session": s.session_id, "data-mode": s.mode });
    const stop = cc.el("button", "stop", { type: "button", class: "mon-stop" });
    stop.addEventListener("click", () => stopSession(s.session_id));
    li.append(stop);
    ul.append(li);
  }
  const ab = document.querySelector("#agents tbody");
  ab.replaceChildren();
  for (const a of data.agents) {
    const tr = cc.el("tr", null, { "data-agent": a.id });
    const st = cc.el("span", a.state + (a.pause_reason ? ` (${a.pause_reason})` : ""),
                     { class: "badge state-" + a.state });
    const td = cc.el("td"); td.append(st);
    tr.append(cc.el("td", `${a.name} (${a.id})`), td, cc.el("td", a.queues.join(", ")),
              cc.el("td", a.answered_today));
    ab.append(tr);
  }
  cc.text("updated", new Date().toLocaleTimeString());
  document.body.dataset.updates = String(updates);
}

// Today's callers per IVR flow and the share the IVR served itself: the IVR report's figures.
function drawIvr(flows) {
  const tb = document.querySelector("#ivr tbody");
  tb.replaceChildren();
  for (const [flow, f] of Object.entries(flows)) {
    const tr = cc.el("tr", null, { "data-flow": flow });
    const share = f.containment_pct === null ? "–" : `${f.containment_pct}%`;
    for (const [col, v] of [["flow", flow], ["sessions", f.sessions], ["contained", f.contained],
                            ["containment", share]]) {
      tr.append(cc.el("td", v, { class: "i-" + col }));
    }
    tb.append(tr);
  }
  document.getElementById("no-ivr").classList.toggle("hidden", tb.children.length > 0);
}

async function monitor(interactionId, mode) {
  cc.text("monitor-error", "");
  try {
    const mine = board && board.sessions.find((s) => s.supervisor === cc.user.username);
    if (mine && mine.interaction_id === interactionId) {
      await cc.api("PATCH", `/api/monitoring/sessions/${encodeURIComponent(mine.session_id)}`, { mode });
    } else {
      if (mine) await stopSession(mine.session_id);
      await cc.api("POST", "/api/monitoring/sessions", { interaction_id: interactionId, mode });
    }
  } catch (err) { cc.fail("monitor-error", err); }
}

async function stopSession(id) {
  try { await cc.api("DELETE", `/api/monitoring/sessions/${encodeURIComponent(id)}`); }
  catch (err) { cc.fail("monitor-error", err); }
}

async function main() {
  const user = await cc.session(["supervisor", "admin"]);
  if (user.role === "admin") document.getElementById("admin-link").classList.remove("hidden");
  draw(await cc.api("GET", "/api/panel/wallboard"));
  cc.live(["wallboard"], (topic, data) => { if (topic === "wallboard") draw(data); },
          (status) => cc.text("live-status", status));
}

main();
