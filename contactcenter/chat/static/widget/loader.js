/* Contact center web chat: the loader. One tag on the site's page:
 *   <script src="https://cc.example.com/chat/widget.js" data-channel="website" async></script>
 * It draws the chat bubble and loads the rest (widget-app.js) on first open, or at once when
 * this browser has a chat going. Page API: ContactCenterChat.open(), .close(),
 * .identify({id, signature, name, email, attributes}). Nothing is fetched from anyone but our server. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.ContactCenterChat && window.ContactCenterChat.version)) return;
  var channel = script.getAttribute("data-channel") || "";
  var base = new URL(script.src, location.href).origin;
  var storeKey = "cc-chat:" + base + ":" + channel;
  var calls = [];  // API calls made before the rest is loaded, replayed by it
  var state = { loading: false, app: null };

  function later(name) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      if (state.app) return state.app[name].apply(null, args);
      calls.push([name, args]);
      if (name === "open") load();
    };
  }

  var api = {
    version: 1,
    open: later("open"),
    close: later("close"),
    identify: later("identify"),
    _boot: null,  // set once the bubble is drawn; widget-app.js calls it (or leaves _start)
    _start: null,
  };
  window.ContactCenterChat = api;

  function hasChat() {
    try { return !!JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { return false; }
  }

  function load() {
    if (state.loading) return;
    state.loading = true;
    var s = document.createElement("script");
    s.src = base + "/chat/widget-app.js?channel=" + encodeURIComponent(channel);
    s.async = true;
    s.crossOrigin = "anonymous";  // sends Origin: the server serves it to allowed sites only
    s.onerror = function () { state.loading = false; console.warn("contact center chat: not loaded"); };
    document.head.appendChild(s);
  }

  // A constructed stylesheet is no inline <style>: a site whose Content-Security-Policy has no
  // 'unsafe-inline' for styles still shows the widget styled. Older browsers get the element.
  function addStyles(root, text) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(text);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheet]);
      return;
    } catch (e) { /* no constructable stylesheets here */ }
    var style = document.createElement("style");
    style.textContent = text;
    root.appendChild(style);
  }

  function draw(config) {
    var host = document.createElement("div");
    host.id = "cc-chat";
    var root = host.attachShadow({ mode: "open" });
    var side = config.position === "left" ? "left" : "right";
    addStyles(root,
      ":host{all:initial}" +
      ".bubble{position:fixed;bottom:16px;" + side + ":16px;width:56px;height:56px;" +
      "border-radius:50%;border:0;background:" + config.colour + ";color:#fff;cursor:pointer;" +
      "box-shadow:0 2px 8px #0004;z-index:2147483000;display:flex;align-items:center;" +
      "justify-content:center}" +
      ".bubble:focus-visible{outline:3px solid #000;outline-offset:2px}" +
      ".bubble .dot{position:absolute;top:2px;right:2px;width:14px;height:14px;border-radius:50%;" +
      "background:#d92d20;border:2px solid #fff}.hidden{display:none!important}");
    var bubble = document.createElement("button");
    bubble.type = "button";
    bubble.className = "bubble";
    bubble.setAttribute("aria-label", config.strings.open);
    bubble.setAttribute("aria-expanded", "false");
    bubble.setAttribute("aria-haspopup", "dialog");
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z");
    svg.appendChild(path);
    var dot = document.createElement("span");
    dot.className = "dot hidden";
    bubble.appendChild(svg);
    bubble.appendChild(dot);
    bubble.addEventListener("click", function () {
      if (state.app) state.app.toggle(); else api.open();
    });
    root.appendChild(bubble);
    document.body.appendChild(host);
    api._boot = function (start) {
      state.app = start({ base: base, channel: channel, config: config, root: root,
                          bubble: bubble, dot: dot, storeKey: storeKey,
                          addStyles: addStyles });
      calls.splice(0).forEach(function (c) { state.app[c[0]].apply(null, c[1]); });
    };
    if (api._start) api._boot(api._start);  // the rest arrived before the bubble was drawn
    else if (hasChat()) load();
  }

  function boot() {
    fetch(base + "/api/chat/widget/" + encodeURIComponent(channel) + "/config",
          { credentials: "omit", mode: "cors" })
      .then(function (r) { if (!r.ok) throw new Error("refused (" + r.status + ")"); return r.json(); })
      .then(draw)
      .catch(function (e) { console.warn("contact center chat: " + e.message); });
  }

  if (document.body) boot(); else document.addEventListener("DOMContentLoaded", boot);
})();
