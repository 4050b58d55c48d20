// The tickets page's admin section for ticket types and custom fields: the list of types (in
// order, saved as a whole), the fields with their kind and whether a solve needs them, a new
// field, and deleting one (with every ticket's value of it). Shown to admins only.
"use strict";

(function () {
  const panel = document.getElementById("fields-panel");
  const $ = (id) => document.getElementById(id);

  function say(text, bad) {
    const p = $("fd-status");
    p.textContent = text;
    p.className = bad ? "error" : "muted";
  }

  async function load() {
    const defs = await cc.api("GET", "/api/tickets/fields");
    $("fd-types").value = defs.types.join(", ");
    const body = document.querySelector("#fd-fields tbody");
    body.replaceChildren();
    for (const f of defs.fields) {
      const tr = cc.el("tr", null, { "data-key": f.key });
      const del = cc.el("button", "Delete", { type: "button" });
      del.addEventListener("click", async () => {
        if (!confirm(`Delete field ${f.key} and its value on every ticket?`)) return;
        try { await cc.api("DELETE", `/api/tickets/fields/${f.key}`); say(`Deleted ${f.key}`); await load(); }
        catch (e) { say(`Refused: ${e.message}`, true); }
      });
      const td = cc.el("td");
      td.append(del);
      tr.append(cc.el("td", f.key), cc.el("td", f.label), cc.el("td", f.kind),
                cc.el("td", f.options.join(", ")), cc.el("td", f.required_on_solve ? "yes" : "no"), td);
      body.append(tr);
    }
    if (window.ticketDesk) await ticketDesk.reloadDefs();
  }

  async function start() {
    const session = await cc.api("GET", "/api/session");
    if (session.user.role !== "admin") return;
    cc.csrf = cc.csrf || session.csrf_token;
    $("fd-types-save").addEventListener("click", async () => {
      const types = $("fd-types").value.split(",").map((t) => t.trim()).filter(Boolean);
      try { await cc.api("PUT", "/api/tickets/fields/types", { types }); say("Types saved"); await load(); }
      catch (e) { say(`Refused: ${e.message}`, true); }
    });
    $("fd-add").addEventListener("click", async () => {
      const body = { key: $("fd-key").value.trim(), label: $("fd-label").value.trim() || $("fd-key").value.trim(),
                     kind: $("fd-kind").value, required_on_solve: $("fd-required").checked };
      if (body.kind === "dropdown") body.options = $("fd-options").value.split(",").map((o) => o.trim()).filter(Boolean);
      try {
        await cc.api("POST", "/api/tickets/fields", body);
        say(`Added ${body.key}`);
        for (const id of ["fd-key", "fd-label", "fd-options"]) $(id).value = "";
        $("fd-required").checked = false;
        await load();
      } catch (e) { say(`Refused: ${e.message}`, true); }
    });
    await load();
    panel.classList.remove("hidden");  // once filled: what is typed is never overwritten
  }

  start().catch((e) => say(e.message, true));
})();
