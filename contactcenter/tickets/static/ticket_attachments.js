// Files on the ticket page: each message's files as download links under it, and an "Attach
// files" picker beside "Send reply" (a reply with files is one multipart/form-data request).
// Loaded after tickets.js, which calls ticketAttachments.opened(data) once a ticket's thread is
// on the page and ticketAttachments.send(id, body) for a reply while files are chosen. The
// limits shown here only spare a round trip: the server checks every file (count, size, type
// from the bytes).
"use strict";

window.ticketAttachments = (() => {
  const $ = (id) => document.getElementById(id);
  let limits = { max_files: 0, max_bytes: 0, types: [] };
  let picker = null;

  function size(bytes) {
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  async function opened(data) {
    let files = [];
    try { files = (await cc.api("GET", `/api/tickets/${data.ticket.id}/attachments`)).attachments; } catch (err) { return; }
    for (const old of document.querySelectorAll("#thread ul.attachments")) old.remove();
    const byArticle = new Map();
    for (const f of files) {
      if (!byArticle.has(f.article_id)) byArticle.set(f.article_id, []);
      byArticle.get(f.article_id).push(f);
    }
    for (const [articleId, list] of byArticle) {
      const li = document.querySelector(`#thread li[data-article="${articleId}"]`);
      if (!li) continue;
      const ul = cc.el("ul", null, { class: "attachments", "aria-label": "Attachments" });
      for (const f of list) {
        const item = cc.el("li");
        item.append(cc.el("a", f.filename, { href: f.url, download: f.filename, "data-file": String(f.id) }),
                    " ", cc.el("span", `${f.content_type}${f.inline ? ", inline" : ""}, ${size(f.size)}`, { class: "muted" }));
        ul.append(item);
      }
      li.append(ul);
    }
  }

  function chosen() { return picker && picker.files.length > 0; }

  function check() {
    const files = picker ? [...picker.files] : [];
    let problem = "";
    if (files.length > limits.max_files) problem = `At most ${limits.max_files} files.`;
    const big = files.find((f) => f.size > limits.max_bytes);
    if (big) problem = `${big.name} is larger than ${size(limits.max_bytes)}.`;
    cc.text("reply-files-status", problem || files.map((f) => `${f.name} (${size(f.size)})`).join(", "));
    return !problem;
  }

  async function send(id, body) {
    if (!check()) throw new Error($("reply-files-status").textContent);
    const form = new FormData();
    form.append("text", body.text);
    if (body.status) form.append("status", body.status);
    if (body.seen) form.append("seen", JSON.stringify(body.seen));
    for (const f of picker.files) form.append("file", f, f.name);
    const r = await fetch(`/api/tickets/${id}/replies/files`, {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": cc.csrf || "" } });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error) || r.statusText || String(r.status));
      err.status = r.status; err.body = data;
      throw err;
    }
    picker.value = "";
    cc.text("reply-files-status", "");
    return data;
  }

  async function init() {
    try { limits = await cc.api("GET", "/api/tickets/attachment-settings"); } catch (err) { return; }
    if (!limits.max_files) return;
    const accept = limits.types.map((t) => `.${t}`).join(",");
    const label = cc.el("label", "Attach files ", { class: "attach" });
    picker = cc.el("input", null, { type: "file", id: "reply-files", multiple: "", accept,
                                     "aria-label": "Attach files to the reply" });
    picker.addEventListener("change", check);
    label.append(picker);
    $("send-reply").after(" ", label, " ", cc.el("span", "", { id: "reply-files-status", class: "muted", "aria-live": "polite" }));
  }

  init();
  return { opened, chosen, send };
})();
