/* The chat's markdown subset, built as DOM nodes: **bold**, *italic* or _italic_, `code`,
 * ``` code blocks ```, [links](https://...) and bare http(s) links, "- " and "1. " lists,
 * line breaks. Nothing a person wrote is ever parsed as HTML: every piece of text is a text
 * node, elements come from a fixed list, and a link's address must parse as http:, https:
 * or mailto: (anything else stays as the characters written). Links open in a new tab with
 * rel="noopener noreferrer nofollow". The agent's chat cards load this file; the widget's
 * script (widget-app.js) is served with it in front, inside one function (no global on the
 * site's page). */
var ccChatMarkdown = (function () {
  "use strict";
  var SCHEMES = { "http:": true, "https:": true, "mailto:": true };
  var MAX_DEPTH = 4;
  // Inline patterns, tried together: the earliest match wins, ties in this order.
  var INLINE = [
    ["code", /`([^`\n]+)`/g],
    ["link", /\[([^\]\n]{1,500})\]\(([^()\s]{1,2000})\)/g],
    ["url", /(?:https?:\/\/|mailto:)[^\s<>"'`]+/g],
    ["strong", /\*\*(?=\S)([^\n]*?\S)\*\*/g],
    ["em", /\*([^\s*]|[^\s*][^*\n]*?[^\s*])\*(?![A-Za-z0-9])/g],
    ["em_", /_([^\s_]|[^\s_][^_\n]*?[^\s_])_(?![A-Za-z0-9_])/g],
  ];

  function safeHref(raw) {
    var url;
    try { url = new URL(raw); } catch (e) { return null; }
    return SCHEMES[url.protocol] ? url.href : null;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.textContent = text;
    return a;
  }

  // The next match of ``re`` in ``text`` from ``from``; a single * or _ inside a word
  // (snake_case, 2*3*4) is a character, not emphasis.
  function next(kind, re, text, from) {
    re.lastIndex = from;
    var m;
    while ((m = re.exec(text)) !== null) {
      var inWord = (kind === "em" || kind === "em_") && m.index > 0 &&
                   /[A-Za-z0-9_]/.test(text.charAt(m.index - 1));
      if (!inWord) return m;
      re.lastIndex = m.index + 1;
    }
    return null;
  }

  function inline(text, parent, depth) {
    var at = 0;
    // Each pattern's next match, searched again only once passed: a pattern with no match
    // from here has none further on either, so a long message costs one scan per pattern.
    var found = INLINE.map(function () { return undefined; });
    while (at < text.length) {
      var best = null;
      var kind = null;
      for (var i = 0; i < INLINE.length; i++) {
        if (found[i] === undefined || (found[i] && found[i].index < at)) {
          found[i] = next(INLINE[i][0], INLINE[i][1], text, at);
        }
        var m = found[i];
        if (m && (!best || m.index < best.index)) { best = m; kind = INLINE[i][0]; }
      }
      if (!best) break;
      var whole = best[0];
      var node = null;
      if (kind === "code") {
        node = document.createElement("code");
        node.textContent = best[1];
      } else if (kind === "link") {
        var href = safeHref(best[2]);
        if (href) node = link(href, best[1]);
      } else if (kind === "url") {
        whole = whole.replace(/[.,;:!?)\]]+$/, "");  // the sentence's punctuation is not the link's
        var plain = safeHref(whole);
        if (plain) node = link(plain, whole);
      } else if (depth < MAX_DEPTH) {
        node = document.createElement(kind === "strong" ? "strong" : "em");
        inline(best[1], node, depth + 1);
      }
      parent.append(text.slice(at, best.index));
      if (node) parent.append(node); else parent.append(whole);
      at = best.index + whole.length;
    }
    parent.append(text.slice(at));
  }

  var BULLET = /^\s{0,3}[-*+]\s+(.*)$/;
  var NUMBER = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;

  /** ``text`` as a fragment of safe nodes (block level: lines, lists, code blocks). */
  function render(text) {
    var out = document.createDocumentFragment();
    var lines = String(text).split("\n");
    var para = null;  // the current run of plain lines: a span, lines split by <br>
    var list = null;
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (/^\s{0,3}```/.test(line)) {
        var code = [];
        for (i += 1; i < lines.length && !/^\s{0,3}```\s*$/.test(lines[i]); i++) code.push(lines[i]);
        var pre = document.createElement("pre");
        var c = document.createElement("code");
        c.textContent = code.join("\n");
        pre.append(c);
        out.append(pre);
        para = list = null;
        continue;
      }
      var bullet = BULLET.exec(line);
      var number = bullet ? null : NUMBER.exec(line);
      if (bullet || number) {
        var tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = document.createElement(tag);
          if (number && number[1] !== "1") list.start = Number(number[1]);
          out.append(list);
        }
        var li = document.createElement("li");
        inline(bullet ? bullet[1] : number[2], li, 0);
        list.append(li);
        para = null;
        continue;
      }
      list = null;
      if (!para) { para = document.createElement("span"); para.className = "md-lines"; out.append(para); }
      else para.append(document.createElement("br"));
      inline(line, para, 0);
    }
    return out;
  }

  return { render: render };
})();
