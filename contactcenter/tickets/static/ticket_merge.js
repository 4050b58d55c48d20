// Merge and split on the ticket page: the ticket's links (merged into / from, split from /
// into) as links, "Merge into #", with "tell the requester", and a checkbox on each message
// for "Split chosen messages". Loaded after tickets.js, which calls ticketMerge.opened(data)
// once a ticket's thread is on the page; the server checks every request.
"use strict";

window.ticketMerge = (() => {
  const $ = (id) => document.getElementById(id);
  let open = null;  // the ticket on the page

  function link(label, numbers) {
    if (!numbers.length) return [];
    const out = [`${label} `];
    numbers.forEach((n, i) => {
      const a = cc.el("a", `#${n}`, { href: `?id=${n}`, "data-ticket": String(n) });
      a.addEventListener("click", (e) => { e.preventDefault(); openTicket(n); });
      out.push(...(i ? [", ", a] : [a]));
    });
    out.push(" · ");
    return out;
  }

  function opened(data) {
    open = data.ticket;
    const l = data.links || { merged_from: [], split_into: [] };
    $("t-links").replaceChildren(
      ...link("Merged into", l.merged_into ? [l.merged_into] : []),
      ...link("Merged from", l.merged_from),
      ...link("Split from", l.split_from ? [l.split_from] : []),
      ...link("Split into", l.split_into));
    const closed = open.status === "closed";
    $("t-merge-tools").classList.toggle("hidden", closed);
    cc.text("t-merge-status", "");
    if (closed) return;
    for (const li of document.querySelectorAll("#thread li[data-article]")) {
      const box = cc.el("input", null, { type: "checkbox", class: "split-pick",
        "aria-label": `choose message ${li.dataset.article} to split off` });
      li.querySelector(".meta").prepend(box, " ");
    }
  }

  async function merge() {
    const into = Number($("t-merge-into").value);
    if (!open || !into) { cc.text("t-merge-status", "Give the number of the ticket to merge into."); return; }
    try {
      const t = await cc.api("POST", `/api/tickets/${open.id}/merge`,
                             { into, notify: $("t-merge-notify").checked });
      $("t-merge-into").value = "";
      await loadList();
      await openTicket(t.id);
    } catch (err) { cc.fail("t-merge-status", err); }
  }

  async function split() {
    if (!open) return;
    const articles = [...document.querySelectorAll("#thread li[data-article]")]
      .filter((li) => li.querySelector(".split-pick:checked"))
      .map((li) => Number(li.dataset.article));
    if (!articles.length) { cc.text("t-merge-status", "Tick the messages to split off first."); return; }
    try {
      const t = await cc.api("POST", `/api/tickets/${open.id}/split`, { articles });
      await loadList();
      await openTicket(t.id);
    } catch (err) { cc.fail("t-merge-status", err); }
  }

  $("t-merge").addEventListener("click", merge);
  $("t-split").addEventListener("click", split);
  return { opened };
})();
