// Admin: flows (view, validate, save with file:line errors), users, configuration, audit log.
"use strict";

let editing = null;

function rows(selector, items, cells, attrs) {
  const tb = document.querySelector(selector + " tbody");
  tb.replaceChildren();
  for (const it of items) {
    const tr = cc.el("tr", null, attrs ? attrs(it) : {});
    for (const c of cells(it)) tr.append(c instanceof Node ? c : cc.el("td", c));
    tb.append(tr);
  }
}

async function loadFlows() {
  const { flows } = await cc.api("GET", "/api/panel/flows");
  rows("#flows", flows, (f) => {
    const a = cc.el("a", f.name, { href: "#", class: "flow-open" });
    a.addEventListener("click", (ev) => { ev.preventDefault(); openFlow(f.name); });
    const td = cc.el("td"); td.append(a);
    return [td, f.version ? f.version.slice(0, 10) : "–",
            f.errors.length ? `refused: ${f.errors[0]}` : (f.loaded ? "loaded" : "not loaded")];
  }, (f) => ({ "data-flow": f.name }));
}

async function openFlow(name) {
  const f = await cc.api("GET", `/api/panel/flows/${encodeURIComponent(name)}`);
  editing = f.name;
  document.getElementById("editor").classList.remove("hidden");
  cc.text("flow-name", f.name);
  cc.text("flow-file", f.file);
  document.getElementById("flow-text").value = f.text;
  showErrors([]);
  cc.text("flow-status", "");
}

function showErrors(errors) {
  const ul = document.getElementById("flow-errors");
  ul.replaceChildren();
  for (const e of errors) {
    ul.append(cc.el("li", `${e.file}:${e.line}:${e.col}: ${e.message}`,
                    { "data-line": String(e.line) }));
  }
}

function jumpToLine(line) {
  const ta = document.getElementById("flow-text");
  const lines = ta.value.split("\n");
  const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
  ta.focus();
  ta.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

async function flowAction(save) {
  if (!editing) return;
  const text = document.getElementById("flow-text").value;
  const path = `/api/panel/flows/${encodeURIComponent(editing)}`;
  cc.text("flow-status", save ? "saving…" : "checking…");
  try {
    const r = save ? await cc.api("PUT", path, { text }) : await cc.api("POST", path + "/validate", { text });
    showErrors(r.errors);
    if (r.ok) {
      cc.text("flow-status", save ? `saved, version ${String(r.version).slice(0, 10)}` : "valid");
      if (save) { loadFlows(); loadAudit(); }
    } else {
      cc.text("flow-status", "invalid: not saved");
      if (r.errors.length) jumpToLine(r.errors[0].line);
    }
  } catch (err) {
    if (err.status === 422 && err.body && err.body.errors) {
      showErrors(err.body.errors);
      cc.text("flow-status", "refused: nothing was saved");
      if (err.body.errors.length) jumpToLine(err.body.errors[0].line);
      loadAudit();
    } else {
      cc.text("flow-status", "");
      showErrors([{ file: editing, line: 0, col: 0, message: err.message }]);
    }
  }
}

async function loadUsers() {
  const { users } = await cc.api("GET", "/api/users");
  rows("#users", users, (u) => {
    const td = cc.el("td");
    const b = cc.el("button", u.disabled ? "enable" : "disable", { type: "button", class: "user-toggle" });
    b.addEventListener("click", () => setDisabled(u.id, !u.disabled));
    td.append(b);
    return [u.username, u.role, u.agent_id || "", u.disabled ? "disabled" : "active", td];
  }, (u) => ({ "data-user": u.username }));
}

async function setDisabled(id, disabled) {
  cc.text("user-error", "");
  try { await cc.api("PATCH", `/api/users/${id}`, { disabled }); } catch (err) { cc.fail("user-error", err); }
  loadUsers(); loadAudit();
}

async function createUser() {
  cc.text("user-error", "");
  const val = (id) => document.getElementById(id).value;
  try {
    await cc.api("POST", "/api/users", { username: val("new-username"), role: val("new-role"),
                                         password: val("new-password"), agent_id: val("new-agent") || null });
    for (const id of ["new-username", "new-password", "new-agent"]) document.getElementById(id).value = "";
  } catch (err) { cc.fail("user-error", err); }
  loadUsers(); loadAudit();
}

async function loadConfig() {
  const cfg = await cc.api("GET", "/api/panel/config");
  const fmt = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ");
  rows("#cfg-queues", cfg.queues, (q) => [q.name, q.strategy, fmt(q.skills), cc.secs(q.wrapup_s)]);
  rows("#cfg-agents", cfg.agents, (a) => [`${a.name} (${a.id})`, a.dial_string || "", fmt(a.skills),
                                          a.queues.join(", ")]);
}

async function loadAudit() {
  const { entries } = await cc.api("GET", "/api/audit?limit=50");
  rows("#audit", entries, (e) => [new Date(e.at).toLocaleString(), e.actor, e.action, e.target || "",
                                  e.outcome], (e) => ({ "data-action": e.action }));
}

async function main() {
  await cc.session(["admin"]);
  document.getElementById("flow-validate").onclick = () => flowAction(false);
  document.getElementById("flow-save").onclick = () => flowAction(true);
  document.getElementById("user-create").onclick = createUser;
  document.getElementById("flow-errors").addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (li && Number(li.dataset.line) > 0) jumpToLine(Number(li.dataset.line));
  });
  await Promise.all([loadFlows(), loadUsers(), loadConfig(), loadAudit()]);
}

main();
