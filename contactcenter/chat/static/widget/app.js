/* Contact center web chat: the widget itself, loaded by widget.js on first open.
 * Every text from people is shown with textContent, never as HTML. The socket resumes after
 * the last message number this browser saw (kept in localStorage), so a cut network, a page
 * reload or a server restart loses and repeats nothing; unsent messages are resent with the
 * same client_id, which the server takes once. Wire protocol: docs/chat.md. */
(function () {
  "use strict";

  function start(ctx) {
    var S = ctx.config.strings;
    var root = ctx.root;
    var saved = readStore();          // {id, token, seq, visitor} of this browser's chat
    var identity = { id: null, signature: null, name: "", email: "", attributes: {} };
    var ws = null;
    var retry = 500;
    var retryTimer = null;
    var ended = false;
    var pending = [];                 // [{client_id, text, row}] not acknowledged yet
    var lastSeq = saved ? saved.seq || 0 : 0;
    var typingSent = 0;
    var typingStop = null;
    var typingHide = null;
    var agentName = "";

    function readStore() {
      try { return JSON.parse(localStorage.getItem(ctx.storeKey) || "null"); } catch (e) { return null; }
    }
    function writeStore() {
      try {
        if (saved) localStorage.setItem(ctx.storeKey, JSON.stringify(saved));
        else localStorage.removeItem(ctx.storeKey);
      } catch (e) { /* private mode: the chat still works until the page goes */ }
    }
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined && text !== null) e.textContent = String(text);
      return e;
    }
    function fill(template, values) {
      return String(template).replace(/\{(\w+)\}/g, function (m, k) {
        return values[k] === undefined ? m : String(values[k]);
      });
    }
    function randomId() {
      var a = new Uint8Array(12);
      crypto.getRandomValues(a);
      return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    }

    // --- the panel ------------------------------------------------------------------------
    var side = ctx.config.position === "left" ? "left" : "right";
    var css = document.createElement("style");
    css.textContent =
      ".panel{position:fixed;bottom:84px;" + side + ":16px;width:min(360px,calc(100vw - 32px));" +
      "height:min(520px,calc(100vh - 110px));background:#fff;color:#1d2330;border-radius:10px;" +
      "box-shadow:0 4px 24px #0005;display:flex;flex-direction:column;overflow:hidden;" +
      "font:15px/1.4 system-ui,sans-serif;z-index:2147483000}" +
      ".head{display:flex;align-items:center;gap:8px;padding:10px 12px;color:#fff;" +
      "background:" + ctx.config.colour + "}.head h2{flex:1;font-size:16px;margin:0}" +
      ".head button{background:transparent;color:#fff;border:1px solid #fff8;border-radius:5px;" +
      "font:inherit;padding:2px 8px;cursor:pointer}" +
      ".body{flex:1;overflow:auto;padding:10px 12px}.status{font-size:13px;color:#475467;" +
      "padding:4px 12px;min-height:1.2em}.log{display:flex;flex-direction:column;gap:6px}" +
      ".msg{max-width:85%;padding:6px 9px;border-radius:8px;white-space:pre-wrap;" +
      "overflow-wrap:anywhere;background:#f2f4f7}.msg.visitor{align-self:flex-end;" +
      "background:" + ctx.config.colour + ";color:#fff}.msg.system{align-self:center;" +
      "background:none;color:#667085;font-size:13px}.msg.pending{opacity:.6}" +
      ".who{display:block;font-size:12px;opacity:.8}.typing{font-size:13px;color:#667085;" +
      "padding:0 12px;min-height:1.2em}.foot{display:flex;gap:6px;padding:8px;border-top:1px solid #eaecf0}" +
      ".foot textarea{flex:1;resize:none;font:inherit;padding:6px;border:1px solid #d0d5dd;" +
      "border-radius:6px}button.send,form button{font:inherit;border:0;border-radius:6px;" +
      "padding:6px 12px;color:#fff;cursor:pointer;background:" + ctx.config.colour + "}" +
      "form label{display:block;margin:8px 0 2px;font-size:14px}form input,form select," +
      "form textarea{width:100%;box-sizing:border-box;font:inherit;padding:6px;" +
      "border:1px solid #d0d5dd;border-radius:6px}.err{color:#b42318;font-size:13px;min-height:1em}" +
      "button:focus-visible,textarea:focus-visible,input:focus-visible,select:focus-visible" +
      "{outline:3px solid #1d2330;outline-offset:1px}.hidden{display:none!important}";
    root.appendChild(css);

    var panel = el("div", "panel hidden");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", S.title);
    var head = el("div", "head");
    var title = el("h2", null, S.title);
    var endBtn = el("button", "end hidden", S.end);
    endBtn.type = "button";
    var newBtn = el("button", "again hidden", S.again);
    newBtn.type = "button";
    var closeBtn = el("button", "close", "×");
    closeBtn.type = "button";
    closeBtn.setAttribute("aria-label", S.close);
    head.append(title, endBtn, newBtn, closeBtn);
    var status = el("div", "status");
    status.setAttribute("aria-live", "polite");
    var body = el("div", "body");
    var form = el("form", "prechat");
    form.noValidate = true;
    var log = el("div", "log hidden");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    body.append(form, log);
    var typing = el("div", "typing");
    typing.setAttribute("aria-live", "polite");
    var foot = el("div", "foot hidden");
    var input = el("textarea", "input");
    input.rows = 2;
    input.maxLength = ctx.config.max_message_chars;
    input.placeholder = S.placeholder;
    input.setAttribute("aria-label", S.placeholder);
    var sendBtn = el("button", "send", S.send);
    sendBtn.type = "button";
    foot.append(input, sendBtn);
    panel.append(head, status, body, typing, foot);
    root.appendChild(panel);

    // --- the pre-chat form ----------------------------------------------------------------
    var formErrors = {};
    var general = el("p", "err");
    general.setAttribute("role", "alert");
    function buildForm() {
      form.replaceChildren();
      formErrors = {};
      ctx.config.prechat.forEach(function (f) {
        var id = "cc-f-" + f.name;
        var label = el("label", null, f.label + (f.required ? " *" : ""));
        label.htmlFor = id;
        var field;
        if (f.type === "select") {
          field = el("select");
          field.append(el("option", null, ""));
          f.options.forEach(function (o) { var opt = el("option", null, o); opt.value = o; field.append(opt); });
        } else if (f.type === "textarea") {
          field = el("textarea");
          field.rows = 3;
        } else {
          field = el("input");
          field.type = f.type === "email" || f.type === "tel" ? f.type : "text";
        }
        field.id = id;
        field.name = f.name;
        if (f.required) field.setAttribute("aria-required", "true");
        if (f.max_length) field.maxLength = f.max_length;
        if (f.name === "name" && identity.name) field.value = identity.name;
        if (f.name === "email" && identity.email) field.value = identity.email;
        var err = el("div", "err");
        err.id = id + "-err";
        field.setAttribute("aria-describedby", err.id);
        formErrors[f.name] = err;
        form.append(label, field, err);
      });
      var go = el("button", "start", S.start);
      go.type = "submit";
      form.append(general, go);
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit();
    });

    function submit() {
      var answers = {};
      var missing = false;
      general.textContent = "";
      ctx.config.prechat.forEach(function (f) {
        var v = form.elements[f.name].value.trim();
        formErrors[f.name].textContent = "";
        form.elements[f.name].removeAttribute("aria-invalid");
        if (f.required && !v) {
          formErrors[f.name].textContent = S.required;
          form.elements[f.name].setAttribute("aria-invalid", "true");
          missing = true;
        }
        if (v) answers[f.name] = v;
      });
      if (missing) return;
      var payload = { answers: answers, page: String(location.href).slice(0, 500),
                      attributes: identity.attributes, name: identity.name || "" };
      if (identity.id) payload.visitor_id = identity.id;
      if (identity.id && identity.signature) payload.visitor_signature = identity.signature;
      fetch(ctx.base + "/api/chat/widget/" + encodeURIComponent(ctx.channel) + "/conversations", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      }).then(function (r) {
        return r.json().then(function (data) { return { status: r.status, data: data }; });
      }).then(function (res) {
        if (res.status === 201) {
          saved = { id: res.data.conversation_id, token: res.data.token, seq: 0,
                    visitor: res.data.visitor_id };
          lastSeq = 0;
          ended = false;
          writeStore();
          showChat();
          connect();
          return;
        }
        var errors = (res.data && res.data.errors) || {};
        Object.keys(errors).forEach(function (k) {
          if (formErrors[k]) {
            formErrors[k].textContent = errors[k];
            form.elements[k].setAttribute("aria-invalid", "true");
          } else general.textContent = k + ": " + errors[k];
        });
        if (!Object.keys(errors).length) general.textContent = (res.data && res.data.error) || S.unavailable;
      }).catch(function () { general.textContent = S.unavailable; });
    }

    // --- the conversation -----------------------------------------------------------------
    function showForm() {
      buildForm();
      form.classList.remove("hidden");
      log.classList.add("hidden");
      foot.classList.add("hidden");
      endBtn.classList.add("hidden");
      status.textContent = "";
    }
    function showChat() {
      form.classList.add("hidden");
      log.classList.remove("hidden");
      foot.classList.remove("hidden");
      endBtn.classList.remove("hidden");
      input.disabled = false;
      sendBtn.disabled = false;
    }

    function addRow(m) {
      var row = el("div", "msg " + m.from);
      row.dataset.seq = String(m.seq);
      if (m.from === "agent" && m.name) row.append(el("span", "who", m.name));
      row.append(document.createTextNode(m.text));
      log.append(row);
      body.scrollTop = body.scrollHeight;
      if (panel.classList.contains("hidden") && m.from !== "visitor") ctx.dot.classList.remove("hidden");
    }

    function onFrame(f) {
      if (f.type === "welcome") {
        retry = 500;
        agentName = f.agent || "";
        if (f.state === "closed") finish(false);
        else sayState(f.state);
        pending.forEach(function (p) { sendRaw({ type: "message", text: p.text, client_id: p.client_id }); });
      } else if (f.type === "message") {
        if (f.seq <= lastSeq) return;  // seen before the reconnect
        lastSeq = f.seq;
        if (saved) { saved.seq = lastSeq; writeStore(); }
        if (f.client_id) dropPending(f.client_id);
        if (f.from !== "visitor") typing.textContent = "";
        addRow(f);
      } else if (f.type === "ack") {
        if (f.client_id) dropPending(f.client_id);
      } else if (f.type === "position") {
        var text = fill(S.position, { position: f.position });
        if (f.ewt_s !== null && f.ewt_s !== undefined) {
          text += " " + fill(S.expected_wait, { minutes: Math.max(1, Math.round(f.ewt_s / 60)) });
        }
        status.textContent = text;
        status.dataset.position = String(f.position);
        status.dataset.ewt = f.ewt_s === null ? "" : String(f.ewt_s);
      } else if (f.type === "state") {
        if (f.agent) agentName = f.agent;
        if (f.state === "closed") finish(true); else sayState(f.state);
      } else if (f.type === "typing") {
        clearTimeout(typingHide);
        typing.textContent = f.typing ? fill(S.typing, { name: f.name || S.agent }) : "";
        if (f.typing) typingHide = setTimeout(function () { typing.textContent = ""; }, 8000);
      } else if (f.type === "error") {
        status.textContent = f.error;
      }
    }

    function sayState(st) {
      delete status.dataset.position;  // a position frame follows while waiting
      status.dataset.state = st;
      status.textContent = st === "active" ? agentName : S.connecting;
    }

    function dropPending(clientId) {
      pending = pending.filter(function (p) {
        if (p.client_id !== clientId) return true;
        p.row.remove();
        return false;
      });
    }

    function finish(live) {
      ended = true;
      input.disabled = true;
      sendBtn.disabled = true;
      endBtn.classList.add("hidden");
      newBtn.classList.remove("hidden");
      status.textContent = S.ended;
      typing.textContent = "";
      saved = null;
      writeStore();
      // Taken live, the end was the last frame; on a reconnect the transcript still follows
      // the welcome, and the server closes that socket itself.
      if (live && ws) { var s = ws; ws = null; s.onclose = null; s.close(); }
      log.classList.remove("hidden");
    }

    function sendRaw(frame) {
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
      return false;
    }

    function send() {
      var text = input.value.trim();
      if (!text || ended) return;
      input.value = "";
      var p = { client_id: randomId(), text: text, row: el("div", "msg visitor pending", text) };
      log.append(p.row);
      body.scrollTop = body.scrollHeight;
      pending.push(p);
      sendRaw({ type: "message", text: text, client_id: p.client_id });
      stopTyping();
    }

    function stopTyping() {
      clearTimeout(typingStop);
      if (typingSent) { typingSent = 0; sendRaw({ type: "typing", typing: false }); }
    }

    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - typingSent > 3000) { typingSent = now; sendRaw({ type: "typing", typing: true }); }
      clearTimeout(typingStop);
      typingStop = setTimeout(stopTyping, 4000);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(); }
    });
    sendBtn.addEventListener("click", send);
    endBtn.addEventListener("click", function () { sendRaw({ type: "close" }); });
    newBtn.addEventListener("click", function () {
      newBtn.classList.add("hidden");
      log.replaceChildren();
      pending = [];
      typing.textContent = "";
      showForm();
    });

    function connect() {
      clearTimeout(retryTimer);
      if (!saved || ended) return;
      var url = ctx.base.replace(/^http/, "ws") + "/api/chat/widget/" +
                encodeURIComponent(ctx.channel) + "/ws";
      var sock = new WebSocket(url);
      ws = sock;
      sock.onopen = function () {
        sock.send(JSON.stringify({ type: "hello", conversation_id: saved.id, token: saved.token,
                                   after: lastSeq }));
      };
      sock.onmessage = function (m) {
        var f;
        try { f = JSON.parse(m.data); } catch (e) { return; }
        onFrame(f);
      };
      sock.onclose = function (ev) {
        if (ws !== sock) return;
        ws = null;
        if (ev.code === 4003) { saved = null; writeStore(); showForm(); return; }
        if (ended) return;
        status.textContent = S.reconnecting;
        retryTimer = setTimeout(connect, retry);
        retry = Math.min(retry * 2, 5000);
      };
    }
    window.addEventListener("online", function () { if (!ws && saved && !ended) { retry = 500; connect(); } });

    // --- open / close ---------------------------------------------------------------------
    function open() {
      panel.classList.remove("hidden");
      ctx.bubble.setAttribute("aria-expanded", "true");
      ctx.dot.classList.add("hidden");
      if (saved && !ended) input.focus();
      else { var first = form.querySelector("input,select,textarea"); if (first) first.focus(); }
    }
    function close() {
      panel.classList.add("hidden");
      ctx.bubble.setAttribute("aria-expanded", "false");
      ctx.bubble.focus();
    }
    closeBtn.addEventListener("click", close);
    panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") close(); });

    if (saved) { showChat(); connect(); } else showForm();

    return {
      open: open,
      close: close,
      toggle: function () { if (panel.classList.contains("hidden")) open(); else close(); },
      identify: function (info) {
        info = info || {};
        if (typeof info.id === "string") identity.id = info.id;
        if (typeof info.name === "string") identity.name = info.name;
        if (typeof info.email === "string") identity.email = info.email;
        if (typeof info.signature === "string") identity.signature = info.signature;
        if (info.attributes && typeof info.attributes === "object") identity.attributes = info.attributes;
        if (!saved) buildForm();
      },
    };
  }

  var api = window.ContactCenterChat;
  if (!api) return;
  if (api._boot) api._boot(start); else api._start = start;
})();
