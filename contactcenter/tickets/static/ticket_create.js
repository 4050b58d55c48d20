// "New ticket" on the tickets page: subject, requester, the first message, priority, and the
// ticket's type and custom fields (ticket_field_form.js), sent in one request (POST
// /api/tickets with type and fields): the server makes the ticket with them or refuses it
// whole, naming the field. Fields are read again each time the form is opened (an admin may
// have changed them). A ticket I may not open (an agent's goes to its queue) is only named.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let defs = { types: [], fields: [] };

  async function refresh() {
    defs = await ticketFieldForm.defs();
    ticketFieldForm.build($("nt-fields"), defs, "nf-");
  }

  async function create(event) {
    event.preventDefault();
    cc.text("nt-error", ""); cc.text("nt-status", "");
    const got = ticketFieldForm.read(defs, "nf-");
    const email = $("nt-email").value.trim(), phone = $("nt-phone").value.trim();
    const errors = [...got.errors];
    if (!$("nt-subject").value.trim()) errors.unshift("the subject is required");
    if (!$("nt-text").value.trim()) errors.unshift("the message is required");
    if (!email && !phone) errors.unshift("the requester needs an email address or a phone");
    if (errors.length) { cc.text("nt-error", errors.join("; ")); return; }
    const requester = { name: $("nt-name").value.trim() };
    if (email) requester.email = email;
    if (phone) requester.phone = phone;
    const body = { subject: $("nt-subject").value.trim(), text: $("nt-text").value, requester,
                   priority: $("nt-priority").value, origin: "web", ...ticketFieldForm.body(got) };
    let t;
    try { t = await cc.api("POST", "/api/tickets", body); } catch (err) { cc.fail("nt-error", err); return; }
    $("nt-form").reset();
    await refresh();
    $("nt-status").replaceChildren("Created ", cc.el("a", `ticket #${t.id}`, { href: `/tickets?id=${t.id}`, id: "nt-link" }));
    await loadList();
    if (staff || (t.assignee && t.assignee === cc.user.agent_id)) await openTicket(t.id);
  }

  $("nt-form").addEventListener("submit", create);
  $("new-ticket").addEventListener("toggle", () => { if ($("new-ticket").open) refresh(); });
})();
