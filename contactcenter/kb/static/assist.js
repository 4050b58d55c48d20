// Agent assist: a list of knowledge-base articles suggested from what the customer said (a
// chat's latest messages, a ticket's thread) or the call's IVR path and inputs, refreshed as
// they change (debounced). Per article: open it (the server's sanitized HTML), insert its link
// or its text into the reply box, mark it helpful or not. Used by the agent panel's call and
// chat cards and by the tickets page; every value but the sanitized article body is text.
"use strict";

window.kbAssist = (() => {
  const DEBOUNCE_MS = 600;
  const articles = new Map();  // id -> the article as GET /api/kb/articles/{id} answers it

  function article(id) {
    if (!articles.has(id)) {
      const load = cc.api("GET", `/api/kb/articles/${id}`);
      load.catch(() => articles.delete(id));
      articles.set(id, load);
    }
    return articles.get(id);
  }

  // The article's words without markup: each block of the sanitized HTML on its own line.
  // DOMParser builds an inert document (no script runs, no image loads).
  function plainText(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const blocks = [...doc.body.children].map((el) => el.textContent.trim()).filter(Boolean);
    return blocks.join("\n\n");
  }

  /**
   * Attach a suggestions list to `host` (appended to it). `source()` returns
   * {text, context} (what to suggest from); `insert(text)` puts text into the reply box, or
   * is null where there is none (a call). Returns {refresh(), element}.
   */
  function attach(host, { source, insert, label }) {
    const root = cc.el("section", null, { class: "kb-assist", "aria-label": label || "Suggested articles" });
    const head = cc.el("h3", label || "Suggested articles");
    const list = cc.el("ul", null, { class: "kb-assist-list" });
    const empty = cc.el("p", "No suggestion yet.", { class: "muted kb-assist-empty" });
    const status = cc.el("p", "", { class: "muted kb-assist-status", "aria-live": "polite" });
    root.append(head, list, empty, status);
    host.append(root);
    let timer = null;
    let asked = null;  // the last request's body, as JSON
    let seq = 0;

    function say(text) { status.textContent = text; }

    function item(hit) {
      const li = cc.el("li", null, { class: "kb-assist-item", "data-article": String(hit.id) });
      const bodyId = `kb-assist-${Math.random().toString(36).slice(2)}`;
      const open = cc.el("button", hit.title, { type: "button", class: "kb-assist-open",
                                               "aria-expanded": "false", "aria-controls": bodyId });
      const body = cc.el("div", null, { class: "kb-assist-body preview hidden", id: bodyId });
      const row = cc.el("div", null, { class: "row kb-assist-actions" });
      const link = cc.el("button", "Insert link", { type: "button", class: "kb-assist-link" });
      const text = cc.el("button", "Insert text", { type: "button", class: "kb-assist-text" });
      const yes = cc.el("button", "Helpful", { type: "button", class: "kb-assist-yes" });
      const no = cc.el("button", "Not helpful", { type: "button", class: "kb-assist-no" });
      if (insert) row.append(link, text);
      row.append(yes, no);
      li.append(open, row, body);
      open.onclick = async () => {
        const shown = open.getAttribute("aria-expanded") === "true";
        if (!shown && !body.dataset.loaded) {
          try {
            const a = await article(hit.id);
            body.innerHTML = a.html;  // rendered and sanitized by the server (kb/render.py)
            body.dataset.loaded = "yes";
          } catch (err) { say(err.message); return; }
        }
        open.setAttribute("aria-expanded", shown ? "false" : "true");
        body.classList.toggle("hidden", shown);
      };
      link.onclick = async () => {
        try {
          const a = await article(hit.id);
          if (a.state !== "published") { say(`“${a.title}” is internal: customers cannot open it.`); return; }
          insert(`${a.title}: ${location.origin}${a.url}`);
          say(`Inserted the link to “${a.title}”.`);
        } catch (err) { say(err.message); }
      };
      text.onclick = async () => {
        try {
          const a = await article(hit.id);
          insert(plainText(a.html));
          say(`Inserted the text of “${a.title}”.`);
        } catch (err) { say(err.message); }
      };
      const vote = async (helpful) => {
        try {
          await cc.api("POST", `/api/kb/articles/${hit.id}/feedback`, { helpful });
          yes.disabled = no.disabled = true;
          li.dataset.voted = helpful ? "helpful" : "not-helpful";
          say(`Thanks: “${hit.title}” marked ${helpful ? "helpful" : "not helpful"}.`);
        } catch (err) { say(err.message); }
      };
      yes.onclick = () => vote(true);
      no.onclick = () => vote(false);
      return li;
    }

    async function ask() {
      const { text, context } = source();
      const body = { text: (text || "").slice(-4000), context: context || {} };
      const key = JSON.stringify(body);
      if (key === asked) return;
      asked = key;
      const mine = ++seq;
      if (!body.text.trim() && !Object.keys(body.context).length) { show([]); return; }
      try {
        const out = await cc.api("POST", "/api/kb/suggest", body);
        if (mine === seq) show(out.hits);
      } catch (err) { if (mine === seq) { asked = null; say(err.message); } }
    }

    function show(hits) {
      // Keep the items already shown (an open article, a vote) when they are suggested again.
      const kept = new Map([...list.children].map((li) => [li.dataset.article, li]));
      list.replaceChildren(...hits.map((h) => kept.get(String(h.id)) || item(h)));
      empty.classList.toggle("hidden", hits.length > 0);
      root.dataset.count = String(hits.length);
    }

    return {
      element: root,
      /** The conversation changed: ask again once it settles. */
      refresh() { clearTimeout(timer); timer = setTimeout(ask, DEBOUNCE_MS); },
    };
  }

  return { attach, plainText };
})();
