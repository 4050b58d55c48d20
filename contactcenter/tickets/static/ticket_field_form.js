// The inputs of a ticket's type and custom fields in a form that creates a ticket (the tickets
// page's "New ticket", the agent desk's wrap-up): one typed input per field, required-on-solve
// fields marked, and the values read back checked as the server checks them (fields.py
// check_value), so a mistake is named before the ticket is sent. The server checks again.
"use strict";

window.ticketFieldForm = (() => {
  const TEXT_MAX = 1000;

  /** The types and fields (GET /api/tickets/fields); none when they cannot be read. */
  async function defs() {
    try { return await cc.api("GET", "/api/tickets/fields"); } catch (err) { return { types: [], fields: [] }; }
  }

  function input(f, id) {
    let el;
    if (f.kind === "dropdown") {
      el = cc.el("select");
      el.append(cc.el("option", "—", { value: "" }), ...f.options.map((o) => cc.el("option", o, { value: o })));
    } else if (f.kind === "checkbox") {
      el = cc.el("input", null, { type: "checkbox" });
    } else if (f.kind === "text") {
      // A textarea: a text value may hold line breaks (an address), which an input drops.
      el = cc.el("textarea", null, { rows: "1" });
      el.maxLength = TEXT_MAX;
    } else {
      el = cc.el("input", null, { type: { number: "number", date: "date" }[f.kind] || "text" });
      if (f.kind === "number") el.step = "any";
    }
    el.id = id;
    el.dataset.field = f.key;
    el.dataset.kind = f.kind;
    return el;
  }

  /** Fill ``box`` with a type select (when types exist) and one input per field; ids are
   * ``<prefix>type`` and ``<prefix><key>``. Hidden when there is nothing to fill. */
  function build(box, d, prefix) {
    box.replaceChildren();
    if (d.types.length) {
      const select = cc.el("select", null, { id: `${prefix}type` });
      select.append(cc.el("option", "—", { value: "" }), ...d.types.map((t) => cc.el("option", t, { value: t })));
      const label = cc.el("label", "Type ");
      label.append(select);
      box.append(label);
    }
    for (const f of d.fields) {
      const label = cc.el("label", f.label + (f.required_on_solve ? " *" : ""),
                          { class: "field-input", title: f.required_on_solve ? "required before solving" : "" });
      label.append(" ", input(f, `${prefix}${f.key}`));
      box.append(label);
    }
    box.classList.toggle("hidden", !d.types.length && !d.fields.length);
  }

  function check(f, el) {
    const what = `field '${f.key}' (${f.kind})`;
    if (f.kind === "checkbox") return { value: el.checked || null };
    // A dropdown's value is one of the options exactly (JavaScript's trim() would also take
    // a U+FEFF the server's strip() keeps, and the option would no longer match).
    const raw = f.kind === "dropdown" ? el.value : el.value.trim();
    // A number input holding what is not a number reads as "": say so rather than clear it.
    if (f.kind === "number" && el.validity && el.validity.badInput) return { error: `${what} takes a number` };
    if (!raw) return { value: null };
    if (f.kind === "text") {
      if (raw.length > TEXT_MAX || raw.includes("\u0000")) return { error: `${what} takes at most ${TEXT_MAX} characters, no NUL` };
      return { value: raw };
    }
    if (f.kind === "number") {
      const n = Number(raw);
      return Number.isFinite(n) ? { value: n } : { error: `${what} takes a number` };
    }
    if (f.kind === "date") {
      const ok = /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(`${raw}T00:00:00Z`))
        && new Date(`${raw}T00:00:00Z`).toISOString().slice(0, 10) === raw;
      return ok ? { value: raw } : { error: `${what} takes a date as YYYY-MM-DD` };
    }
    return f.options.includes(raw) ? { value: raw } : { error: `${what} takes one of ${f.options.join(", ")}` };
  }

  /** What ``build`` shows, checked: ``{type, fields, errors}`` (fields left empty are not sent). */
  function read(d, prefix) {
    const out = { type: null, fields: {}, errors: [] };
    const select = document.getElementById(`${prefix}type`);
    if (select && select.value) out.type = select.value;
    for (const f of d.fields) {
      const el = document.getElementById(`${prefix}${f.key}`);
      if (!el) continue;
      const got = check(f, el);
      el.toggleAttribute("aria-invalid", !!got.error);
      if (got.error) out.errors.push(got.error);
      else if (got.value !== null) out.fields[f.key] = got.value;
    }
    return out;
  }

  /** The request body's part: ``{type?, fields?}`` from what ``read`` returned. */
  function body(got) {
    const out = {};
    if (got.type) out.type = got.type;
    if (Object.keys(got.fields).length) out.fields = got.fields;
    return out;
  }

  return { defs, build, read, body };
})();
