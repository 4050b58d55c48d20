// Working a ticket beside its thread: its type and custom fields, its followers, who else has
// it open (and is writing a reply), canned answers for the reply box, and what changed when a
// reply was refused on a stale view. Loaded after tickets.js, which calls these hooks
// (window.ticketDesk); the server checks every value, the page only offers inputs.
"use strict";

window.ticketDesk = (() => {
  const HEARTBEAT_MS = 20000;  // presence.py's HEARTBEAT_S
  let defs = { types: [], fields: [] };
  let open = null;       // the ticket this page says it is viewing
  let mark = null;       // the view's mark (GET's "seen"), sent with a reply
  let replying = false;  // the reply box has text
  let timer = null;
  let answers = [];

  const $ = (id) => document.getElementById(id);
  const opts = (values, first) => [cc.el("option", first, { value: "" }),
                                   ...values.map((v) => cc.el("option", v, { value: v }))];

  async function loadDefs() {
    try { defs = await cc.api("GET", "/api/tickets/fields"); } catch (err) { return; }
    const keepType = $("f-type").value, keepField = $("f-field").value;
    $("f-type").replaceChildren(...opts(defs.types, "Any type"));
    $("f-field").replaceChildren(cc.el("option", "Any field", { value: "" }),
      ...defs.fields.map((f) => cc.el("option", f.label, { value: f.key })));
    $("f-type").value = keepType; $("f-field").value = keepField;
  }

  function listParams(params) {
    if ($("f-type").value) params.set("type", $("f-type").value);
    const key = $("f-field").value, value = $("f-value").value.trim();
    if (key && value) params.append("field", `${key}:${value}`);
  }

  // ------------------------------------------------------------------ fields
  function input(f, value) {
    let el;
    if (f.kind === "dropdown") {
      el = cc.el("select");
      el.append(...opts(f.options, "—"));
      el.value = value ?? "";
    } else if (f.kind === "checkbox") {
      el = cc.el("input", null, { type: "checkbox" });
      el.checked = value === true;
    } else if (f.kind === "text") {
      // A textarea: a text value may hold line breaks (an address), which an input would
      // drop, and saving the other fields would then change this one.
      el = cc.el("textarea", null, { rows: String(Math.min(4, String(value ?? "").split("\n").length)) });
      el.value = value ?? "";
    } else {
      const type = { number: "number", date: "date" }[f.kind] || "text";
      el = cc.el("input", null, { type });
      if (f.kind === "number") el.step = "any";
      el.value = value ?? "";
    }
    el.id = `tf-${f.key}`;
    el.dataset.field = f.key;
    return el;
  }

  function valueOf(f) {
    const el = $(`tf-${f.key}`);
    if (f.kind === "checkbox") return el.checked;
    // A dropdown's value is one of the options exactly (trim() would take a U+FEFF too).
    const v = f.kind === "dropdown" ? el.value : el.value.trim();
    if (!v) return null;
    return f.kind === "number" ? Number(v) : v;
  }

  async function showFields(id) {
    await ready;
    let found;
    try { found = await cc.api("GET", `/api/tickets/${id}/fields`); } catch (err) { return; }
    if (!current || current.id !== id) return;
    const types = defs.types.includes(found.type) || !found.type ? defs.types
      : [...defs.types, found.type];  // a type no longer listed stays shown
    $("t-type").replaceChildren(...opts(types, "—"));
    $("t-type").value = found.type || "";
    const list = $("t-field-list");
    list.replaceChildren();
    for (const f of defs.fields) {
      const label = cc.el("label", f.label + (f.required_on_solve ? " *" : ""),
                          { title: f.required_on_solve ? "required before solving" : "" });
      label.append(" ", input(f, found.values[f.key]));
      list.append(label);
    }
    $("t-fields").classList.toggle("hidden", !defs.types.length && !defs.fields.length);
  }

  async function saveFields() {
    if (!current) return;
    const values = {};
    for (const f of defs.fields) values[f.key] = valueOf(f);
    try {
      await cc.api("PATCH", `/api/tickets/${current.id}/fields`,
                   { type: $("t-type").value || null, values });
      cc.text("t-fields-status", "Saved.");
      await openTicket(current.id);
      await loadList();
    } catch (err) { cc.text("t-fields-status", ""); cc.fail("t-error", err); }
  }

  // ------------------------------------------------------------------ followers
  function showFollowers(list) {
    $("t-followers").replaceChildren(...list.map((f) =>
      cc.el("li", f.follower, { "data-kind": f.kind, title: `added by ${f.added_by}` })));
    const mine = list.some((f) => f.kind === "agent" && f.follower === cc.user.agent_id);
    const button = $("t-follow");
    button.classList.toggle("hidden", !cc.user.agent_id);
    button.textContent = mine ? "Unfollow" : "Follow";
    button.dataset.following = mine ? "1" : "";
  }

  async function loadFollowers(id) {
    try {
      const list = (await cc.api("GET", `/api/tickets/${id}/followers`)).followers;
      if (current && current.id === id) showFollowers(list);
    } catch (err) { /* the ticket is gone for us: the thread says so */ }
  }

  async function follow(body, remove) {
    if (!current) return;
    const path = `/api/tickets/${current.id}/followers`;
    try {
      const r = remove ? await cc.api("DELETE", `${path}/agent/${encodeURIComponent(cc.user.agent_id)}`)
        : await cc.api("POST", path, body);
      showFollowers(r.followers);
      cc.text("t-error", "");
    } catch (err) { cc.fail("t-error", err); }
  }

  // ------------------------------------------------------------------ viewers
  function showViewers(list) {
    const others = list.filter((v) => v.username !== cc.user.username);
    const p = $("t-viewers");
    p.replaceChildren();
    p.classList.toggle("hidden", !others.length);
    if (!others.length) return;
    p.append("Also viewing: ");
    others.forEach((v, i) => {
      if (i) p.append(", ");
      p.append(cc.el("strong", v.username, { class: v.replying ? "viewer replying" : "viewer" }));
      if (v.replying) p.append(" (writing a reply)");
    });
  }

  async function beat() {
    if (!open) return;
    try {
      showViewers((await cc.api("POST", `/api/tickets/${open}/viewing`, { replying })).viewers);
    } catch (err) { /* presence is a hint: the next beat tries again */ }
  }

  function watch(id) {
    if (open === id) return;
    if (open) cc.api("DELETE", `/api/tickets/${open}/viewing`).catch(() => {});
    open = id;
    showViewers([]);
    clearInterval(timer);
    timer = setInterval(beat, HEARTBEAT_MS);
    beat();
  }

  function syncReplying() {
    const now = !!$("text").value.trim();
    if (now !== replying) { replying = now; beat(); }
  }

  function viewers(event) {
    if (open === event.ticket_id) showViewers(event.viewers);
  }

  // The live socket is (again) subscribed: what was told meanwhile is lost, so ask now.
  function live() {
    document.body.dataset.live = "1";
    beat();
  }

  // ------------------------------------------------------------------ canned answers
  async function loadCanned(id) {
    try { answers = (await cc.api("GET", `/api/tickets/${id}/canned`)).answers; } catch (err) { answers = []; }
    const select = $("canned");
    select.replaceChildren(cc.el("option", "Canned answer…", { value: "" }),
      ...answers.map((a, i) => cc.el("option", `/${a.shortcut}${a.shared ? "" : " (mine)"}`,
                                     { value: String(i), title: a.filled })));
    select.classList.toggle("hidden", !answers.length);
  }

  function insertCanned() {
    const select = $("canned");
    const a = answers[Number(select.value)];
    select.value = "";
    if (!a) return;
    const box = $("text");
    const at = box.selectionStart ?? box.value.length;
    const before = box.value.slice(0, at);
    box.value = before + (before && !/\s$/.test(before) ? "\n" : "") + a.filled + box.value.slice(box.selectionEnd ?? at);
    box.focus();
    syncReplying();
  }

  // ------------------------------------------------------------------ stale views
  function stale(changes) {
    mark = changes.seen;  // now seen: sending again goes through
    const list = $("t-stale-list");
    list.replaceChildren();
    for (const a of changes.articles) {
      const kind = a.visibility === "internal" ? "Note" : a.author === "customer" ? "Customer" : "Reply";
      list.append(cc.el("li", `${kind} · ${a.author_name || a.author}: ${a.body_text.slice(0, 300)}`,
                        { class: "stale-article" }));
    }
    for (const h of changes.history) {
      if (h.field === "reply" || h.field === "note") continue;  // the article says it
      list.append(cc.el("li", `${h.actor}: ${h.field} ${JSON.stringify(h.old)} → ${JSON.stringify(h.new)}`,
                        { class: "stale-change" }));
    }
    $("t-stale").classList.remove("hidden");
  }

  function opened(data) {
    const id = data.ticket.id;
    if (open !== id) {
      $("t-stale").classList.add("hidden");
      cc.text("t-fields-status", "");
    }
    mark = data.seen;
    watch(id);
    showFields(id);
    loadFollowers(id);
    loadCanned(id);
    syncReplying();
  }

  $("t-fields-save").addEventListener("click", saveFields);
  $("t-follow").addEventListener("click", () => follow({}, !!$("t-follow").dataset.following));
  $("t-follow-add").addEventListener("click", async () => {
    const email = $("t-follow-email").value.trim();
    if (email) { await follow({ email }, false); $("t-follow-email").value = ""; }
  });
  $("canned").addEventListener("change", insertCanned);
  $("text").addEventListener("input", syncReplying);
  $("t-stale-close").addEventListener("click", () => $("t-stale").classList.add("hidden"));
  for (const id of ["f-type", "f-field"]) $(id).addEventListener("change", () => loadList());
  $("f-value").addEventListener("change", () => loadList());
  const ready = loadDefs();

  return { listParams, opened, seen: () => mark, stale, viewers, live, reloadDefs: loadDefs };
})();
