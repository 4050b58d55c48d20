// Admin: flows (view, validate, save with file:line errors), users, the routing configuration
// (skills, queues, agents: edit as YAML, validate, save, enable/disable, live), audit log.
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

function jumpToLine(line, id = "flow-text") {
  const ta = document.getElementById(id);
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

let users = [];
let editingUser = null;

async function loadUsers() {
  ({ users } = await cc.api("GET", "/api/users"));
  rows("#users", users, (u) => {
    const td = cc.el("td");
    const edit = cc.el("button", "edit", { type: "button", class: "user-edit" });
    edit.addEventListener("click", () => editUser(u));
    const b = cc.el("button", u.disabled ? "enable" : "disable", { type: "button", class: "user-toggle" });
    b.addEventListener("click", () => setDisabled(u.id, !u.disabled));
    td.append(edit, " ", b);
    return [u.username, u.role, u.agent_id || "", u.phone || "", u.disabled ? "disabled" : "active", td];
  }, (u) => ({ "data-user": u.username }));
}

function editUser(u) {
  editingUser = u;
  cc.text("edit-username", u.username);
  document.getElementById("edit-role").value = u.role;
  document.getElementById("edit-agent").value = u.agent_id || "";
  document.getElementById("edit-phone").value = u.phone || "";
  document.getElementById("edit-password").value = "";
  document.getElementById("user-edit").classList.remove("hidden");
}

async function saveUser() {
  const u = editingUser;
  if (!u) return;
  cc.text("user-error", "");
  const val = (id) => document.getElementById(id).value;
  // Only what changed: a role, agent or password change ends the user's sessions.
  const body = {};
  if (val("edit-role") !== u.role) body.role = val("edit-role");
  if ((val("edit-agent") || null) !== (u.agent_id || null)) body.agent_id = val("edit-agent") || null;
  if ((val("edit-phone") || null) !== (u.phone || null)) body.phone = val("edit-phone") || null;
  if (val("edit-password")) body.password = val("edit-password");
  try {
    if (Object.keys(body).length) await cc.api("PATCH", `/api/users/${u.id}`, body);
    document.getElementById("user-edit").classList.add("hidden");
    editingUser = null;
  } catch (err) { cc.fail("user-error", err); }
  loadUsers(); loadAudit();
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
                                         password: val("new-password"), agent_id: val("new-agent") || null,
                                         phone: val("new-phone") || null });
    for (const id of ["new-username", "new-password", "new-agent", "new-phone"]) {
      document.getElementById(id).value = "";
    }
  } catch (err) { cc.fail("user-error", err); }
  loadUsers(); loadAudit();
}

// --- routing configuration: skills, queues, agents (files + database) ----------------------

const ONE = { skills: "skill", queues: "queue", agents: "agent" };
const TEMPLATES = {
  skills: "description: \n",
  queues: "description: \nstrategy: longest_idle\nskills: {}\nwrapup_s: 15\nring_timeout_s: 20\n",
  agents: "name: \ndial_string: PJSIP/\nskills: {}\ncapacity: {voice: 1, chat: 3, ticket: 5}\nqueues: []\n",
};
const entries = { skills: [], queues: [], agents: [] };
let cfg = null; // the entry in the editor: {kind, name, version, enabled, isNew}

const fmt = (o) => Object.entries(o || {}).map(([k, v]) => `${k} ${v}`).join(", ");

function summary(kind, e) {
  const d = e.document || {};
  if (kind === "skills") return [e.name, d.description || "", (e.used_by || []).join(", ")];
  if (kind === "queues") {
    return [e.name, d.strategy || "longest_idle", fmt(d.skills), cc.secs(d.wrapup_s ?? 15)];
  }
  return [`${d.name || ""} (${e.name})`, d.dial_string || "", fmt(d.skills), (d.queues || []).join(", ")];
}

async function loadRouting(kind) {
  ({ entries: entries[kind] } = await cc.api("GET", `/api/admin/${kind}`));
  rows(`#cfg-${kind}`, entries[kind], (e) => {
    const td = cc.el("td");
    const edit = cc.el("button", "edit", { type: "button", class: "cfg-edit" });
    edit.addEventListener("click", () => openEntry(kind, e.name));
    const toggle = cc.el("button", e.enabled ? "disable" : "enable", { type: "button", class: "cfg-toggle" });
    toggle.addEventListener("click", () => setEnabled(kind, e, !e.enabled));
    td.append(edit, " ", toggle);
    if (e.version > 0) {
      const back = cc.el("button", e.file_document ? "revert to file" : "delete",
                         { type: "button", class: "cfg-revert" });
      back.addEventListener("click", () => revert(kind, e));
      td.append(" ", back);
    }
    // Suspended: a file edit made this stored entry invalid; it waits for a fixed save.
    const status = e.suspended
      ? cc.el("td", `suspended: ${e.suspended.join("; ")}`, { class: "suspended" })
      : (e.in_force ? "in force" : (e.enabled ? "not in force" : "disabled"));
    return [...summary(kind, e), e.source, status, e.version ? String(e.version) : "file", td];
  }, (e) => ({ "data-name": e.name,
               "data-status": e.suspended ? "suspended" : (e.in_force ? "on" : "off") }));
}

const loadAllRouting = () => Promise.all(Object.keys(ONE).map(loadRouting));

function showEditor(kind, name, text, version, enabled, isNew) {
  cfg = { kind, name, version, enabled, isNew };
  document.getElementById("cfg-editor").classList.remove("hidden");
  cc.text("cfg-title", `${ONE[kind]} ${name}`);
  cc.text("cfg-version", isNew ? "(new)" : (version ? `version ${version}` : "from the file"));
  document.getElementById("cfg-text").value = text;
  document.getElementById("cfg-stale").classList.add("hidden");
  showCfgErrors([], []);
  cc.text("cfg-status", "");
  document.getElementById("cfg-editor").scrollIntoView({ block: "nearest" });
}

async function openEntry(kind, name) {
  const e = await cc.api("GET", `/api/admin/${kind}/${encodeURIComponent(name)}`);
  showEditor(kind, e.name, e.yaml, e.version, e.enabled, false);
  if (e.suspended) cc.text("cfg-status", `suspended: ${e.suspended.join("; ")} (save a fixed version)`);
}

function newEntry(kind) {
  cc.text("cfg-error", "");
  const input = document.getElementById(`new-${kind}`);
  const name = input.value.trim();
  if (!name) { cc.text("cfg-error", `name the new ${ONE[kind]} first`); return; }
  if (entries[kind].some((e) => e.name === name)) { openEntry(kind, name); return; }
  input.value = "";
  showEditor(kind, name, TEMPLATES[kind], 0, true, true);
}

function showCfgErrors(errors, problems) {
  const ul = document.getElementById("cfg-errors");
  ul.replaceChildren();
  const here = cfg ? `${ONE[cfg.kind]} ${cfg.name}` : "";
  for (const e of errors) {
    const where = e.line ? `${e.source}:${e.line}:${e.col}` : e.source;
    const field = e.field ? ` [${e.field}]` : "";
    ul.append(cc.el("li", `${where}${field}: ${e.message}`,
                    { "data-line": e.source === here && e.line ? String(e.line) : "0" }));
  }
  for (const p of problems) ul.append(cc.el("li", `not now: ${p}`, { class: "problem" }));
}

async function cfgAction(save) {
  if (!cfg) return;
  const yaml = document.getElementById("cfg-text").value;
  const base = `/api/admin/${cfg.kind}`;
  const path = `${base}/${encodeURIComponent(cfg.name)}`;
  cc.text("cfg-status", save ? "saving…" : "checking…");
  try {
    if (!save) {
      const r = await cc.api("POST", path + "/validate", { yaml, enabled: cfg.enabled });
      showCfgErrors(r.errors, r.problems);
      cc.text("cfg-status", r.ok ? "valid" : "invalid: not saved");
      if (r.errors.length && r.errors[0].line) jumpToLine(r.errors[0].line, "cfg-text");
      return;
    }
    const r = cfg.isNew ? await cc.api("POST", base, { name: cfg.name, yaml })
                        : await cc.api("PUT", path, { yaml, version: cfg.version, enabled: cfg.enabled });
    cfg.version = r.version;
    cfg.isNew = false;
    showCfgErrors([], []);
    cc.text("cfg-version", `version ${r.version}`);
    cc.text("cfg-status", `saved, version ${r.version}: in force now`);
    loadRouting(cfg.kind); loadAudit();
  } catch (err) {
    const body = err.body || {};
    if (err.status === 422 && body.errors) {
      showCfgErrors(body.errors, []);
      cc.text("cfg-status", "refused: nothing was saved");
      const first = body.errors.find((e) => e.line);
      if (first) jumpToLine(first.line, "cfg-text");
    } else if (err.status === 409) {
      showCfgErrors([], body.problems || []);
      cc.text("cfg-status", body.problems ? "refused: nothing was saved" : err.message);
    } else {
      cc.text("cfg-status", err.message);
    }
    loadAudit();
  }
}

async function setEnabled(kind, e, enabled) {
  cc.text("cfg-error", "");
  try {
    await cc.api("PATCH", `/api/admin/${kind}/${encodeURIComponent(e.name)}`, { enabled, version: e.version });
  } catch (err) { cfgFailure(err); }
  loadRouting(kind); loadAudit();
}

async function revert(kind, e) {
  cc.text("cfg-error", "");
  try {
    await cc.api("DELETE", `/api/admin/${kind}/${encodeURIComponent(e.name)}?version=${e.version}`);
  } catch (err) { cfgFailure(err); }
  loadRouting(kind); loadAudit();
}

function cfgFailure(err) {
  const body = err.body || {};
  const details = (body.problems || []).concat((body.errors || []).map((x) => x.text || x.message));
  cc.text("cfg-error", [err.message, ...details].join("\n"));
}

function onConfigEvent(data) {
  // Another admin (or another tab) changed something: refresh that list, and warn if it is
  // the entry being edited here (saving would then be refused as stale).
  loadRouting(data.kind);
  if (data.kind === "skills") { loadRouting("queues"); loadRouting("agents"); }
  loadAudit();
  if (cfg && !cfg.isNew && cfg.kind === data.kind && cfg.name === data.name && cfg.version !== data.version) {
    const stale = document.getElementById("cfg-stale");
    stale.textContent = `${data.by} changed this ${ONE[data.kind]} (now version ${data.version}): ` +
                        "close and reopen it to edit the new version.";
    stale.classList.remove("hidden");
  }
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
  document.getElementById("user-save").onclick = saveUser;
  document.getElementById("user-cancel").onclick = () => document.getElementById("user-edit").classList.add("hidden");
  document.getElementById("cfg-validate").onclick = () => cfgAction(false);
  document.getElementById("cfg-save").onclick = () => cfgAction(true);
  document.getElementById("cfg-close").onclick = () => {
    cfg = null;
    document.getElementById("cfg-editor").classList.add("hidden");
  };
  for (const b of document.querySelectorAll("button.cfg-new")) b.onclick = () => newEntry(b.dataset.kind);
  document.getElementById("flow-errors").addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (li && Number(li.dataset.line) > 0) jumpToLine(Number(li.dataset.line));
  });
  document.getElementById("cfg-errors").addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (li && Number(li.dataset.line) > 0) jumpToLine(Number(li.dataset.line), "cfg-text");
  });
  await Promise.all([loadFlows(), loadUsers(), loadAllRouting(), loadAudit()]);
  cc.live(["admin.config"], (topic, data) => { if (topic === "admin.config") onConfigEvent(data); },
          (status) => cc.text("cfg-live", status === "live" ? "(live)" : `(${status})`));
}

main();
