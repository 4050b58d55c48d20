// The tickets page's admin section: triggers and automations in the order they run (enable or
// disable each), a new rule from its JSON definition, a dry run of any rule (which tickets it
// matches now and what it would change; nothing is written), and the webhook delivery log.
// The new rule's event is chosen from the events the server lists (it rewrites the JSON's
// "event"). Shown to admins only; everything is text (no HTML from the server is inserted).
"use strict";

(function () {
  const SAMPLE = {
    name: "pending 3 days to solved", event: "time",
    conditions: [{ field: "status", op: "is", value: "pending" },
                 { field: "hours_in_status", op: "at_least", value: 72 }],
    actions: [{ type: "set_status", value: "solved" }],
  };
  const WHEN = {  // what each event means, for the choice (an unknown one shows its name)
    created: "a ticket is made", updated: "a ticket is changed", time: "hours have passed",
    merged: "a ticket was merged into this one", split: "this ticket was split off another",
  };
  const panel = document.getElementById("triggers-panel");
  let rules = [];
  let events = null;

  function summary(list, fn) { return list.map(fn).join("; "); }
  function condText(c) { return `${c.field} ${c.op}${c.value === null || c.value === undefined ? "" : " " + JSON.stringify(c.value)}`; }
  function actText(a) {
    if (a.type === "webhook") return `webhook ${a.url}`;
    if (a.type === "email") return `email ${a.to}`;
    if (a.type === "set_field") return `set fields.${a.field} ${JSON.stringify(a.value ?? null)}`;
    return a.value ? `${a.type} ${a.value}` : a.type;
  }

  function say(text, bad) {
    const p = document.getElementById("tr-status");
    p.textContent = text;
    p.className = bad ? "error" : "muted";
  }

  function showDry(result) {
    const list = document.getElementById("tr-dry");
    list.textContent = "";
    document.getElementById("tr-dry-count").textContent =
      `${result.matches.length} of ${result.scanned} tickets match now`;
    for (const m of result.matches) {
      const changes = Object.entries(m.changes).map(
        ([k, [o, n]]) => `${k}: ${JSON.stringify(o)} → ${JSON.stringify(n)}`).join(", ");
      const extra = [...m.emails.map((e) => `mail to ${e.to}`), ...m.webhooks.map((u) => `webhook ${u}`),
                     ...m.skipped.map((s) => `skipped: ${s}`)].join(", ");
      list.append(cc.el("li", `#${m.ticket.id} ${m.ticket.subject} (${m.ticket.status}): ` +
                        (changes || "no field change") + (extra ? `; ${extra}` : ""),
                        { "data-ticket": String(m.ticket.id) }));
    }
  }

  async function dryRun(rule) {
    try { showDry(await cc.api("POST", "/api/tickets/triggers/dry-run", rule)); say(""); }
    catch (e) { say(`Dry run refused: ${e.message}`, true); }
  }

  function editable(rule) {  // a stored rule as it may be sent back (secrets are write-only)
    const out = { name: rule.name, event: rule.event, enabled: rule.enabled,
                  position: rule.position, conditions: rule.conditions,
                  actions: rule.actions.map((a) => {
                    const b = { ...a }; delete b.secret_set; if (b.secret === null) delete b.secret; return b;
                  }) };
    out.conditions = out.conditions.map((c) => {
      const d = { ...c }; if (d.value === null) delete d.value; return d;
    });
    return out;
  }

  function eventChoice(names) {  // the select before the JSON box, built once
    if (events) return;
    events = names;
    const box = document.getElementById("tr-json");
    const label = document.querySelector('label[for="tr-json"]');
    if (label) label.textContent = "New rule (JSON: name, event, conditions, actions)";
    const select = cc.el("select", null, { id: "tr-event" });
    for (const name of names) select.append(cc.el("option", `${name}: ${WHEN[name] || name}`, { value: name }));
    const sync = () => {  // the JSON's event shown in the choice, when it is one
      try { const ev = JSON.parse(box.value).event; if (names.includes(ev)) select.value = ev; }
      catch (e) { /* not JSON yet: the choice stays */ }
    };
    select.addEventListener("change", () => {
      const rule = definition();
      if (!rule) return;
      rule.event = select.value;
      box.value = JSON.stringify(rule, null, 2);
      say("");
    });
    box.addEventListener("input", sync);
    (label || box).before(cc.el("label", "Event of the new rule", { for: "tr-event" }), select);
    sync();
  }

  async function load() {
    const listed = await cc.api("GET", "/api/tickets/triggers");
    rules = listed.triggers;
    eventChoice(listed.events || ["created", "updated", "time"]);
    const body = document.querySelector("#tr-rules tbody");
    body.textContent = "";
    for (const rule of rules) {
      const tr = cc.el("tr", null, { "data-trigger": rule.name });
      const on = cc.el("input", null, { type: "checkbox", "aria-label": `Enable ${rule.name}` });
      on.checked = rule.enabled;
      on.addEventListener("change", async () => {
        try {
          await cc.api("PUT", `/api/tickets/triggers/${rule.id}`, { ...editable(rule), enabled: on.checked });
          say(`${rule.name} ${on.checked ? "enabled" : "disabled"}`);
        } catch (e) { say(e.message, true); }
        await load();
      });
      const dry = cc.el("button", "Dry run", { type: "button" });
      dry.addEventListener("click", () => dryRun({ ...editable(rule), id: rule.id }));
      const del = cc.el("button", "Delete", { type: "button" });
      del.addEventListener("click", async () => {
        if (!confirm(`Delete the trigger ${rule.name}?`)) return;
        await cc.api("DELETE", `/api/tickets/triggers/${rule.id}`);
        await load();
      });
      const cells = [String(rule.position), rule.name, rule.event, null,
                     summary(rule.conditions, condText) || "(always)", summary(rule.actions, actText)];
      cells.forEach((text, i) => {
        const td = cc.el("td", text === null ? "" : text);
        if (i === 3) td.append(on);
        tr.append(td);
      });
      const tools = cc.el("td"); tools.append(dry, " ", del); tr.append(tools);
      body.append(tr);
    }
  }

  async function loadDeliveries() {
    const log = (await cc.api("GET", "/api/tickets/webhooks/deliveries?limit=50")).deliveries;
    const body = document.querySelector("#tr-deliveries tbody");
    body.textContent = "";
    for (const d of log) {
      const tr = cc.el("tr", null, { "data-delivery": String(d.id) });
      for (const text of [String(d.id), d.trigger, d.ticket_id === null ? "" : `#${d.ticket_id}`,
                          d.url, d.status, String(d.attempts),
                          d.response_code === null ? "" : String(d.response_code),
                          d.next_try_at ? new Date(d.next_try_at * 1000).toLocaleString() : "",
                          d.last_error || ""]) {
        tr.append(cc.el("td", text));
      }
      body.append(tr);
    }
  }

  // What a condition on the type or a custom field may name (the server checks the rule).
  async function fieldsHint() {
    let d;
    try { d = await cc.api("GET", "/api/tickets/fields"); } catch (e) { return; }
    if (!d.types.length && !d.fields.length) return;
    const parts = d.fields.map((f) => `fields.${f.key} (${f.kind})`);
    if (d.types.length) parts.unshift(`type (${d.types.join(", ")})`);
    document.getElementById("tr-json").after(cc.el("p", `Fields for conditions and set_field: ${parts.join(", ")}`,
                                                   { id: "tr-fields-hint", class: "muted" }));
  }

  function definition() {
    try { return JSON.parse(document.getElementById("tr-json").value); }
    catch (e) { say(`Not JSON: ${e.message}`, true); return null; }
  }

  async function start() {
    const session = await cc.api("GET", "/api/session");
    if (session.user.role !== "admin") return;
    cc.csrf = cc.csrf || session.csrf_token;
    panel.classList.remove("hidden");
    document.getElementById("tr-json").value = JSON.stringify(SAMPLE, null, 2);
    document.getElementById("tr-save").addEventListener("click", async () => {
      const rule = definition();
      if (!rule) return;
      try {
        const made = await cc.api("POST", "/api/tickets/triggers", rule);
        say(`Saved ${made.name}`);
        await load();
      } catch (e) { say(`Refused: ${e.message}`, true); }
    });
    document.getElementById("tr-try").addEventListener("click", () => {
      const rule = definition();
      if (rule) dryRun(rule);
    });
    document.getElementById("tr-refresh").addEventListener("click", loadDeliveries);
    fieldsHint();
    await load();
    await loadDeliveries();
  }

  start().catch((e) => say(e.message, true));
})();
