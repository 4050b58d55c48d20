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
    var offline = false;              // the form is "leave a message" (channel offline)
    var fromLine = null;              // {id, token}: the waiting chat the message replaces
    var marked = { delivered: 0, read: 0 };  // the marks sent to the agent's card
    var agentRead = 0;                // the agent read the chat up to this seq
    var faqCfg = ctx.config.faq || {};
    var faqOn = !!faqCfg.enabled;     // articles from the knowledge base before a person
    var asking = null;                // {answers}: the next message typed is the question
    var visitorEmail = "";            // the pre-chat form's email: the transcript's address
    var resendTimer = null;           // a message refused by the rate limit goes again then
    var ratingOffered = false;        // the server offered the rating form ahead of the end

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
    // A loader cached from before an upgrade (5 minutes at most) has no addStyles.
    var addStyles = ctx.addStyles || function (r, text) {
      var style = document.createElement("style");
      style.textContent = text;
      r.appendChild(style);
    };
    addStyles(root,
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
      ".mark{display:block;font-size:11px;opacity:.85;text-align:right}" +
      ".who{display:block;font-size:12px;opacity:.8}.typing{font-size:13px;color:#667085;" +
      "padding:0 12px;min-height:1.2em}.foot{display:flex;gap:6px;padding:8px;border-top:1px solid #eaecf0}" +
      ".foot textarea{flex:1;resize:none;font:inherit;padding:6px;border:1px solid #d0d5dd;" +
      "border-radius:6px}button.send,form button{font:inherit;border:0;border-radius:6px;" +
      "padding:6px 12px;color:#fff;cursor:pointer;background:" + ctx.config.colour + "}" +
      "form label{display:block;margin:8px 0 2px;font-size:14px}form input,form select," +
      "form textarea{width:100%;box-sizing:border-box;font:inherit;padding:6px;" +
      "border:1px solid #d0d5dd;border-radius:6px}.err{color:#b42318;font-size:13px;min-height:1em}" +
      "button:focus-visible,textarea:focus-visible,input:focus-visible,select:focus-visible" +
      "{outline:3px solid #1d2330;outline-offset:1px}.hidden{display:none!important}" +
      ".pane{flex:1;display:flex;flex-direction:column;min-height:0}" +
      ".tabs{display:flex;border-bottom:1px solid #eaecf0}.tabs button{flex:1;font:inherit;" +
      "background:none;border:0;border-bottom:3px solid transparent;padding:6px;cursor:pointer;" +
      "color:#1d2330}.tabs button[aria-selected=true]{border-bottom-color:" + ctx.config.colour +
      ";font-weight:600}.faq,.help{padding:4px 0}.faq ol,.help ul{list-style:none;margin:6px 0;" +
      "padding:0}.faq li,.help li{border:1px solid #eaecf0;border-radius:8px;padding:8px;" +
      "margin:0 0 8px}.faq h3{font-size:15px;margin:0 0 4px}.snippet{font-size:13px;color:#475467;" +
      "margin:4px 0}.snippet mark{background:#fef0c7;color:inherit}.faq a,.help a{color:" +
      ctx.config.colour + "}.faq li button{margin-top:4px}.faq .faq-person{background:#fff;" +
      "color:#1d2330;border:1px solid #d0d5dd}.faq button{font:inherit;border:0;border-radius:6px;" +
      "padding:5px 10px;color:#fff;cursor:pointer;background:" + ctx.config.colour + "}" +
      ".help form{display:flex;gap:6px;align-items:flex-end;flex-wrap:wrap}.help label{width:100%;" +
      "font-size:14px}.help input{flex:1;font:inherit;padding:6px;border:1px solid #d0d5dd;" +
      "border-radius:6px}.bot-buttons{display:flex;flex-wrap:wrap;gap:6px;padding:6px 0}" +
      ".bot-buttons button{font:inherit;border:1px solid " + ctx.config.colour + ";color:" +
      ctx.config.colour + ";background:#fff;border-radius:14px;padding:3px 10px;cursor:pointer}" +
      ".bot-articles{margin:4px 0 0;padding-left:18px}.bot-articles a{color:" + ctx.config.colour +
      "}.wait-offer button,.help form button{font:inherit;border:0;border-radius:6px;padding:6px 12px;" +
      "color:#fff;cursor:pointer;background:" + ctx.config.colour + "}" +
      ".msg ul,.msg ol{margin:2px 0;padding-left:20px;white-space:normal}.msg pre{margin:2px 0;" +
      "white-space:pre-wrap}.msg code{font:13px ui-monospace,monospace;background:#0001;" +
      "border-radius:3px;padding:0 2px}.msg a{color:inherit}.msg .thumb{display:block;" +
      "max-width:100%;max-height:160px;margin:4px 0;border-radius:6px}.msg .file{display:block}" +
      ".foot button.attach{font:inherit;border:1px solid #d0d5dd;background:#fff;color:#1d2330;" +
      "border-radius:6px;padding:0 8px;cursor:pointer}.attach-err{color:#b42318;font-size:13px;" +
      "padding:0 12px}.attach-err:empty{display:none}" +
      ".rating fieldset{border:0;margin:0;padding:0}.rating legend{font-weight:600;padding:0}" +
      ".rating label.score{display:flex;align-items:center;gap:8px;margin:4px 0;padding:4px 6px;" +
      "border:1px solid #d0d5dd;border-radius:6px;cursor:pointer}.rating input[type=radio]{" +
      "width:auto;margin:0}.rating .skip{background:#fff;color:#1d2330;border:1px solid #d0d5dd;" +
      "margin-left:6px}");

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
    var faqBox = el("div", "faq hidden");
    body.append(form, log, faqBox);
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
    var files = ctx.config.attachments && ctx.config.attachments.enabled ? ctx.config.attachments : null;
    var fileInput = null;
    var attachErr = el("div", "attach-err");
    attachErr.setAttribute("role", "alert");
    if (files) {
      var attachBtn = el("button", "attach", "📎");
      attachBtn.type = "button";
      attachBtn.setAttribute("aria-label", S.attach);
      attachBtn.title = S.attach;
      fileInput = el("input", "file-input hidden");
      fileInput.type = "file";
      fileInput.tabIndex = -1;
      fileInput.setAttribute("aria-hidden", "true");
      attachBtn.addEventListener("click", function () { fileInput.click(); });
      fileInput.addEventListener("change", function () {
        var f = fileInput.files && fileInput.files[0];
        fileInput.value = "";
        if (f) sendFile(f);
      });
      foot.append(attachBtn, fileInput);
    }
    foot.append(input, sendBtn);
    var chatPane = el("div", "pane chat-pane");
    chatPane.append(status, body, typing, attachErr, foot);
    panel.append(head);
    // --- the Help tab: the knowledge base's published articles, no chat needed -------------
    var helpPane = null;
    if (faqCfg.help_tab) {
      var tabs = el("div", "tabs");
      tabs.setAttribute("role", "tablist");
      var tabChat = el("button", "tab-chat", S.tab_chat);
      var tabHelp = el("button", "tab-help", S.tab_help);
      helpPane = el("div", "pane help hidden");
      [[tabChat, chatPane, "cc-pane-chat"], [tabHelp, helpPane, "cc-pane-help"]].forEach(function (t) {
        t[0].type = "button";
        t[0].id = t[2] + "-tab";
        t[0].setAttribute("role", "tab");
        t[0].setAttribute("aria-controls", t[2]);
        t[1].id = t[2];
        t[1].setAttribute("role", "tabpanel");
        t[1].setAttribute("aria-labelledby", t[0].id);
        t[0].addEventListener("click", function () { selectTab(t[0] === tabHelp); });
        tabs.append(t[0]);
      });
      tabs.addEventListener("keydown", function (ev) {
        if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") {
          ev.preventDefault();
          selectTab(tabChat.getAttribute("aria-selected") === "true");
          (tabHelp.getAttribute("aria-selected") === "true" ? tabHelp : tabChat).focus();
        }
      });
      var selectTab = function (help) {
        tabChat.setAttribute("aria-selected", String(!help));
        tabHelp.setAttribute("aria-selected", String(help));
        tabChat.tabIndex = help ? -1 : 0;
        tabHelp.tabIndex = help ? 0 : -1;
        chatPane.classList.toggle("hidden", help);
        helpPane.classList.toggle("hidden", !help);
      };
      var helpForm = el("form", "help-form");
      helpForm.setAttribute("role", "search");
      var helpLabel = el("label", null, S.help_label);
      helpLabel.htmlFor = "cc-help-q";
      var helpInput = el("input", "help-q");
      helpInput.type = "search";
      helpInput.id = "cc-help-q";
      helpInput.maxLength = 200;
      var helpGo = el("button", "help-go", S.help_search);
      helpGo.type = "submit";
      helpForm.append(helpLabel, helpInput, helpGo);
      var helpStatus = el("p", "help-status");
      helpStatus.setAttribute("role", "status");
      var helpList = el("ul", "help-results");
      var helpBody = el("div", "body");
      helpBody.append(helpForm, helpStatus, helpList);
      helpPane.append(helpBody);
      helpForm.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var q = helpInput.value.trim();
        if (!q) return;
        fetch(api("/help?q=" + encodeURIComponent(q)), { mode: "cors", credentials: "omit" })
          .then(function (r) { return r.json().then(function (d) { return { status: r.status, data: d }; }); })
          .then(function (res) {
            helpList.replaceChildren();
            if (res.status !== 200) { helpStatus.textContent = (res.data && res.data.error) || S.unavailable; return; }
            var items = res.data.articles || [];
            helpStatus.textContent = items.length ? fill(S.help_found, { count: items.length }) : S.help_none;
            items.forEach(function (a) {
              var li = el("li", "help-article");
              li.dataset.article = String(a.id);
              li.append(articleTitle(a, "span"), snippet(a));
              helpList.append(li);
            });
          }).catch(function () { helpStatus.textContent = S.unavailable; });
      });
      panel.append(tabs);
      selectTab(false);
    }
    panel.append(chatPane);
    if (helpPane) panel.append(helpPane);
    root.appendChild(panel);

    function api(path) {
      return ctx.base + "/api/chat/widget/" + encodeURIComponent(ctx.channel) + path;
    }
    function post(path, payload) {
      return fetch(api(path), {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      }).then(function (r) {
        return r.json().then(function (data) { return { status: r.status, data: data }; });
      });
    }
    // An article's title: a link to the help center's page (a new tab), or text without one.
    function articleTitle(a, tag) {
      var t = el(tag, "article-title");
      if (a.url) {
        var link = el("a", null, a.title);
        link.href = ctx.base + a.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        t.append(link);
      } else t.textContent = a.title;
      return t;
    }
    // The snippet comes as plain-text pieces (matches marked): set as text, never as HTML.
    function snippet(a) {
      var p = el("p", "snippet");
      (a.snippet || []).forEach(function (part) {
        p.append(part.mark ? el("mark", null, part.text) : document.createTextNode(part.text));
      });
      return p;
    }

    // --- the pre-chat form ----------------------------------------------------------------
    var formErrors = {};
    var general = el("p", "err");
    general.setAttribute("role", "alert");
    function buildForm() {
      form.replaceChildren();
      formErrors = {};
      title.textContent = offline ? S.offline_title : S.title;
      if (offline && !fromLine) form.append(el("p", "offline-intro", S.offline_intro));
      // From the line the server has the answers already: the message alone is asked.
      (fromLine ? [] : ctx.config.prechat).forEach(function (f) {
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
      if (offline) {
        // The message itself (its own name: a pre-chat field may be called "message").
        var label = el("label", null, S.offline_message + " *");
        label.htmlFor = "cc-f-cc_message";
        var text = el("textarea");
        text.rows = 4;
        text.id = "cc-f-cc_message";
        text.name = "cc_message";
        text.maxLength = ctx.config.max_message_chars;
        text.setAttribute("aria-required", "true");
        var err = el("div", "err");
        err.id = "cc-f-cc_message-err";
        text.setAttribute("aria-describedby", err.id);
        formErrors.cc_message = err;
        form.append(label, text, err);
      }
      var go = el("button", offline ? "leave" : "start", offline ? S.offline_send : S.start);
      go.type = "submit";
      form.append(general, go);
    }
    function showOffline() {
      offline = true;
      showForm();
    }
    function thanks() {
      form.replaceChildren();
      var done = el("p", "offline-thanks", S.offline_thanks);
      done.setAttribute("role", "status");
      form.append(done);
      done.tabIndex = -1;
      done.focus();
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit();
    });

    function submit() {
      var answers = {};
      var missing = false;
      general.textContent = "";
      (fromLine ? [] : ctx.config.prechat).forEach(function (f) {
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
      var message = offline ? form.elements.cc_message.value.trim() : "";
      if (offline) {
        formErrors.cc_message.textContent = "";
        form.elements.cc_message.removeAttribute("aria-invalid");
        if (!message) {
          formErrors.cc_message.textContent = S.required;
          form.elements.cc_message.setAttribute("aria-invalid", "true");
          missing = true;
        }
      }
      if (missing) return;
      if (!offline && faqOn) {
        var q = faqCfg.question_field ? answers[faqCfg.question_field] : "";
        if (q) askFaq(answers, q); else askQuestion(answers);
        return;
      }
      sendStart(answers, null, message);
    }

    function sendStart(answers, faq, message) {
      var payload = { answers: answers, page: String(location.href).slice(0, 500),
                      attributes: identity.attributes, name: identity.name || "" };
      if (identity.id) payload.visitor_id = identity.id;
      if (identity.id && identity.signature) payload.visitor_signature = identity.signature;
      if (offline) payload.message = message;
      if (offline && fromLine) { payload.conversation_id = fromLine.id; payload.token = fromLine.token; }
      if (faq) payload.faq = faq;
      var path = offline ? "/messages" : "/conversations";
      if (typeof answers.email === "string") visitorEmail = answers.email;
      var leaving = offline;
      post(path, payload).then(function (res) {
        if (leaving && res.status === 201) { fromLine = null; thanks(); return; }
        if (res.status === 201 && res.data.self_served) { selfServed(); return; }
        if (faq && res.status !== 201) backToForm(answers);
        if (!leaving && res.status === 409 && res.data && res.data.offline) {
          // The hours ended (or the last agent left) since the widget loaded.
          var kept = answers;
          showOffline();
          Object.keys(kept).forEach(function (k) { if (form.elements[k]) form.elements[k].value = kept[k]; });
          return;
        }
        if (res.status === 201) {
          saved = { id: res.data.conversation_id, token: res.data.token, seq: 0,
                    visitor: res.data.visitor_id };
          lastSeq = 0;
          ended = false;
          writeStore();
          if (faq) {  // the question comes back as message 1, the suggestions as 2
            log.replaceChildren();
            faqBox.querySelectorAll("button").forEach(function (b) { b.remove(); });
            body.insertBefore(faqBox, log);  // the articles stay above the conversation
          }
          showChat();
          connect();
          return;
        }
        if (res.status === 429) {  // the form stays as filled in: nothing typed is lost
          var minutes = Math.max(1, Math.ceil(((res.data && res.data.retry_after) || 60) / 60));
          general.textContent = fill(S.too_many_chats, { minutes: minutes });
          return;
        }
        var errors = (res.data && res.data.errors) || {};
        if (leaving && errors.message) { errors.cc_message = errors.message; delete errors.message; }
        Object.keys(errors).forEach(function (k) {
          if (formErrors[k]) {
            formErrors[k].textContent = errors[k];
            form.elements[k].setAttribute("aria-invalid", "true");
          } else general.textContent = k + ": " + errors[k];
        });
        if (!Object.keys(errors).length) general.textContent = (res.data && res.data.error) || S.unavailable;
      }).catch(function () { general.textContent = S.unavailable; });
    }

    // --- answers before a person (docs/chat.md, "Answers from the knowledge base") ---------
    function backToForm(answers) {
      asking = null;
      faqBox.replaceChildren();
      faqBox.classList.add("hidden");
      showForm();
      Object.keys(answers).forEach(function (k) { if (form.elements[k]) form.elements[k].value = answers[k]; });
    }
    function askQuestion(answers) {
      asking = { answers: answers };
      showChat();
      endBtn.classList.add("hidden");
      log.replaceChildren(el("div", "msg system faq-ask", S.faq_ask));
      input.focus();
    }
    function askFaq(answers, question) {
      asking = null;
      showChat();
      endBtn.classList.add("hidden");
      input.disabled = true;
      sendBtn.disabled = true;
      log.replaceChildren(el("div", "msg visitor faq-q", question));
      post("/faq", { answers: answers, question: question }).then(function (res) {
        if (res.status === 422) {
          backToForm(answers);
          var errors = res.data.errors || {};
          Object.keys(errors).forEach(function (k) {
            if (formErrors[k]) {
              formErrors[k].textContent = errors[k];
              form.elements[k].setAttribute("aria-invalid", "true");
            } else general.textContent = k + ": " + errors[k];
          });
          return;
        }
        var articles = res.status === 200 ? res.data.articles || [] : [];
        if (!articles.length) {
          sendStart(answers, { question: question, shown: [], outcome: "none" });
          return;
        }
        showArticles(answers, question, articles);
      }).catch(function () { sendStart(answers, { question: question, shown: [], outcome: "none" }); });
    }
    function showArticles(answers, question, articles) {
      var shown = articles.map(function (a) { return a.id; });
      faqBox.replaceChildren();
      var intro = el("p", "faq-intro", S.faq_intro);
      intro.id = "cc-faq-intro";
      intro.tabIndex = -1;
      var list = el("ol", "faq-articles");
      list.setAttribute("aria-labelledby", intro.id);
      articles.forEach(function (a) {
        var li = el("li", "faq-article");
        li.dataset.article = String(a.id);
        var t = articleTitle(a, "h3");
        t.id = "cc-faq-t-" + a.id;
        var yes = el("button", "faq-answered", S.faq_answered);
        yes.type = "button";
        yes.setAttribute("aria-describedby", t.id);
        yes.addEventListener("click", function () {
          disableFaq();
          sendStart(answers, { question: question, shown: shown, outcome: "answered", article_id: a.id });
        });
        li.append(t, snippet(a), yes);
        list.append(li);
      });
      var person = el("button", "faq-person", S.faq_person);
      person.type = "button";
      person.addEventListener("click", function () {
        disableFaq();
        sendStart(answers, { question: question, shown: shown, outcome: "person" });
      });
      faqBox.append(intro, list, person);
      faqBox.classList.remove("hidden");
      foot.classList.add("hidden");
      intro.focus();
    }
    function disableFaq() {
      faqBox.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }
    function selfServed() {
      asking = null;
      faqBox.querySelectorAll("button").forEach(function (b) { b.remove(); });
      var done = el("p", "faq-thanks", S.faq_thanks);
      done.setAttribute("role", "status");
      done.tabIndex = -1;
      faqBox.append(done);
      foot.classList.add("hidden");
      endBtn.classList.add("hidden");
      newBtn.classList.remove("hidden");
      done.focus();
    }

    // --- the conversation -----------------------------------------------------------------
    function showForm() {
      if (!offline && ctx.config.available === false) offline = true;
      buildForm();
      form.classList.remove("hidden");
      faqBox.classList.add("hidden");
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

    // The bot's buttons (answers to click) and article links (``bot`` frames, chat/bot.py)
    var botButtons = el("div", "bot-buttons hidden");
    botButtons.setAttribute("role", "group");
    var botExtras = {};  // seq -> articles, when the frame comes before its message
    function showBotArticles(row, articles) {
      if (!articles || !articles.length || row.querySelector(".bot-articles")) return;
      var text = row.querySelector(".bot-text");
      if (text) text.textContent = text.textContent.split("\n")[0];  // the links replace the titles
      var list = el("ul", "bot-articles");
      articles.forEach(function (a) {
        var li = el("li");
        if (a.url) {
          var link = el("a", null, a.title);
          link.href = ctx.base + a.url;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          li.append(link);
        } else li.textContent = a.title;
        list.append(li);
      });
      row.append(list);
    }
    function onBot(f) {
      var row = log.querySelector('.msg[data-seq="' + f.seq + '"]');
      if (row) showBotArticles(row, f.articles); else botExtras[f.seq] = f.articles;
      botButtons.replaceChildren();
      (f.buttons || []).forEach(function (label) {
        var b = el("button", null, label);
        b.type = "button";
        b.addEventListener("click", function () { input.value = label; send(); });
        botButtons.append(b);
      });
      botButtons.classList.toggle("hidden", !(f.buttons || []).length);
      log.after(botButtons);
      body.scrollTop = body.scrollHeight;
    }

    function addRow(m) {
      var row = el("div", "msg " + m.from);
      row.dataset.seq = String(m.seq);
      if ((m.from === "agent" || m.from === "bot") && m.name) row.append(el("span", "who", m.name));
      if (m.from === "bot") row.append(el("span", "bot-text", m.text));
      else if (m.attachment) row.append(attachment(m.attachment));
      else if (m.from === "visitor" || m.from === "agent") row.append(ccChatMarkdown.render(m.text));
      else row.append(document.createTextNode(m.text));
      if (botExtras[m.seq]) { showBotArticles(row, botExtras[m.seq]); delete botExtras[m.seq]; }
      if (m.from === "visitor" && m.seq <= agentRead) markSeen(row);
      log.append(row);
      body.scrollTop = body.scrollHeight;
      if (panel.classList.contains("hidden") && m.from !== "visitor") ctx.dot.classList.remove("hidden");
    }

    function onFrame(f) {
      if (f.type === "welcome") {
        retry = 500;
        agentName = f.agent || "";
        marked = { delivered: 0, read: 0 };  // a new socket: say them again
        if (f.state === "closed") finish(false);
        else sayState(f.state);
        pending.forEach(function (p) { sendRaw({ type: "message", text: p.text, client_id: p.client_id }); });
        sendMarks();
      } else if (f.type === "message") {
        if (f.seq <= lastSeq) return;  // seen before the reconnect
        lastSeq = f.seq;
        if (saved) { saved.seq = lastSeq; writeStore(); }
        if (f.client_id) { dropPending(f.client_id); dropUpload(f.client_id); }
        if (f.from !== "visitor") typing.textContent = "";
        addRow(f);
        sendMarks();
      } else if (f.type === "bot") {
        onBot(f);
      } else if (f.type === "read") {
        agentRead = Math.max(agentRead, f.seq);
        log.querySelectorAll(".msg.visitor").forEach(function (row) {
          if (Number(row.dataset.seq) <= agentRead) markSeen(row);
        });
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
      } else if (f.type === "rating") {
        ratingOffered = true;  // the end follows: finish() shows the form
      } else if (f.type === "leave_message") {
        offerMessage();
      } else if (f.type === "error" && f.code === "rate-limited") {
        // The message stays pending and goes again, same client_id, once the limit allows.
        var wait = Math.max(1, Math.ceil(f.retry_after || 5));
        status.textContent = fill(S.slow_down, { seconds: wait });
        clearTimeout(resendTimer);
        resendTimer = setTimeout(function () {
          if (status.dataset.state) sayState(status.dataset.state);
          pending.forEach(function (p) { sendRaw({ type: "message", text: p.text, client_id: p.client_id }); });
        }, wait * 1000);
      } else if (f.type === "error") {
        status.textContent = f.error;
      }
    }

    // A long wait (leave_message_after_s, or the queue's max wait): keep waiting, or leave a
    // message instead; the server ends the waiting chat when the message is sent.
    function offerMessage() {
      if (!saved || log.querySelector(".wait-offer")) return;
      var conv = { id: saved.id, token: saved.token };
      var box = el("div", "wait-offer", S.wait_offer + " ");
      box.setAttribute("role", "status");
      var go = el("button", "leave-instead", S.wait_leave);
      go.type = "button";
      go.addEventListener("click", function () {
        box.remove();
        newBtn.classList.add("hidden");
        fromLine = conv;
        if (!ended) {
          ended = true;
          if (ws) { var sk = ws; ws = null; sk.onclose = null; sk.close(); }
        }
        saved = null;
        writeStore();
        showOffline();
        var text = form.elements.cc_message;
        if (text) text.focus();
      });
      box.append(go);
      log.append(box);
      body.scrollTop = body.scrollHeight;
    }

    function sayState(st) {
      delete status.dataset.position;  // a position frame follows while waiting
      status.dataset.state = st;
      status.textContent = st === "active" ? agentName : st === "bot" ? "" : S.connecting;
    }

    function dropPending(clientId) {
      pending = pending.filter(function (p) {
        if (p.client_id !== clientId) return true;
        p.row.remove();
        return false;
      });
    }

    function finish(live) {
      var conv = saved ? { id: saved.id, token: saved.token } : null;
      ended = true;
      botButtons.replaceChildren();
      botButtons.classList.add("hidden");
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
      if (conv && ctx.config.transcript_mail) offerTranscript(conv);
      if (conv && ratingOffered) offerRating(conv);
      ratingOffered = false;
    }

    // The 1-5 rating offered at the end (chat/rating.py): once per chat, and it may be skipped.
    function offerRating(conv) {
      if (log.querySelector(".rating")) return;
      var box = el("form", "rating");
      box.noValidate = true;
      var set = el("fieldset");
      set.append(el("legend", null, S.rating_question));
      var name = "cc-rating-" + randomId().slice(0, 8);
      [5, 4, 3, 2, 1].forEach(function (n) {
        var label = el("label", "score");
        var radio = el("input");
        radio.type = "radio";
        radio.name = name;
        radio.value = String(n);
        label.append(radio, el("strong", null, String(n)), " ", el("span", null, S["rating_" + n]));
        set.append(label);
      });
      var id = name + "-comment";
      var label = el("label", null, S.rating_comment);
      label.htmlFor = id;
      var comment = el("textarea");
      comment.id = id;
      comment.rows = 2;
      comment.maxLength = 2000;
      var go = el("button", null, S.rating_send);
      go.type = "submit";
      var skip = el("button", "skip", S.rating_skip);
      skip.type = "button";
      var note = el("div", "err");
      note.setAttribute("role", "status");
      box.append(set, label, comment, go, skip, note);
      skip.addEventListener("click", function () { box.remove(); });
      box.addEventListener("submit", function (ev) {
        ev.preventDefault();
        note.textContent = "";
        var chosen = box.querySelector("input[type=radio]:checked");
        post("/rating", { conversation_id: conv.id, token: conv.token,
                          rating: chosen ? Number(chosen.value) : null,
                          comment: comment.value }).then(function (res) {
          if (res.status === 201 || res.status === 200) {
            box.replaceChildren(el("p", "sent", res.status === 201 ? S.rating_thanks : S.rating_already));
            return;
          }
          var errors = (res.data && res.data.errors) || {};
          note.textContent = errors.rating || errors.comment || (res.data && res.data.error) || S.unavailable;
        }).catch(function () { note.textContent = S.unavailable; });
      });
      log.append(box);
      body.scrollTop = body.scrollHeight;
    }

    // The ended chat's transcript by email, to the pre-chat form's address or one typed now.
    function offerTranscript(conv) {
      if (log.querySelector(".transcript")) return;
      var box = el("form", "transcript");
      box.noValidate = true;
      var id = "cc-transcript-" + randomId().slice(0, 8);
      var label = el("label", null, S.transcript_email);
      label.htmlFor = id;
      var email = el("input");
      email.type = "email";
      email.id = id;
      email.autocomplete = "email";
      email.value = visitorEmail || identity.email || "";
      var go = el("button", null, S.transcript_send);
      go.type = "submit";
      var note = el("div", "err");
      note.setAttribute("role", "status");
      box.append(el("p", null, S.transcript_offer), label, email, go, note);
      box.addEventListener("submit", function (ev) {
        ev.preventDefault();
        note.textContent = "";
        post("/transcript", { conversation_id: conv.id, token: conv.token,
                              email: email.value.trim() }).then(function (res) {
          if (res.status === 202) {
            box.replaceChildren(el("p", "sent", fill(S.transcript_sent, { email: res.data.email })));
            return;
          }
          var errors = (res.data && res.data.errors) || {};
          note.textContent = errors.email || (res.data && res.data.error) || S.unavailable;
          if (errors.email) email.setAttribute("aria-invalid", "true");
        }).catch(function () { note.textContent = S.unavailable; });
      });
      log.append(box);
      body.scrollTop = body.scrollHeight;
    }

    function markSeen(row) {
      if (row.classList.contains("read")) return;
      row.classList.add("read");
      row.append(el("span", "mark", "✓✓ " + S.seen));
    }

    // Delivered: every message this widget got; read: shown (panel open, page visible).
    function sendMarks() {
      var visible = !panel.classList.contains("hidden") && document.visibilityState === "visible";
      var next = { delivered: lastSeq, read: visible ? lastSeq : marked.read };
      if (next.delivered <= marked.delivered && next.read <= marked.read) return;
      if (sendRaw({ type: "seen", delivered: next.delivered, read: next.read })) marked = next;
    }
    document.addEventListener("visibilitychange", sendMarks);

    function sendRaw(frame) {
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
      return false;
    }

    function send() {
      var text = input.value.trim();
      if (!text || ended) return;
      input.value = "";
      if (asking) { askFaq(asking.answers, text); return; }
      botButtons.replaceChildren();
      botButtons.classList.add("hidden");
      var p = { client_id: randomId(), text: text, row: el("div", "msg visitor pending", text) };
      log.append(p.row);
      body.scrollTop = body.scrollHeight;
      pending.push(p);
      sendRaw({ type: "message", text: text, client_id: p.client_id });
      stopTyping();
    }

    // --- files (docs/chat.md, "Files"): sent and read with the conversation's token ---------
    var uploads = {};  // client_id -> the row shown until the server's message replaces it
    function fileUrl(key) { return api("/attachments/" + encodeURIComponent(key)); }
    var fileToken = saved ? saved.token : "";  // kept after the end: its files stay readable
    // A file of the conversation: a thumbnail for an image, a link that downloads it. Its
    // bytes come with the token (never in a URL), as a blob: no page of ours ever shows it.
    function attachment(a) {
      var box = el("span", "attachment");
      var token = fileToken;
      var get = function () {
        return fetch(fileUrl(a.key), { mode: "cors", credentials: "omit",
                                       headers: { Authorization: "Bearer " + token } })
          .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.blob(); });
      };
      if (a.kind === "image") {
        var img = el("img", "thumb");
        img.alt = a.filename;
        get().then(function (b) { img.src = URL.createObjectURL(b); }).catch(function () { img.alt = a.filename + " (!)"; });
        box.append(img);
      }
      var link = el("a", "file", "📎 " + a.filename + " (" + sizeText(a.size) + ")");
      link.href = "#";
      link.dataset.key = a.key;
      link.addEventListener("click", function (ev) {
        ev.preventDefault();
        get().then(function (b) {
          var url = URL.createObjectURL(b);
          var save = el("a");
          save.href = url;
          save.download = a.filename;
          root.append(save);
          save.click();
          save.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        }).catch(function () { attachErr.textContent = S.attach_failed; });
      });
      box.append(link);
      return box;
    }
    function sizeText(n) {
      return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
    }
    function dropUpload(clientId) {
      if (uploads[clientId]) { uploads[clientId].remove(); delete uploads[clientId]; }
    }
    function sendFile(f) {
      attachErr.textContent = "";
      if (!saved || ended) return;
      if (f.size > files.max_bytes) {
        attachErr.textContent = fill(S.attach_too_large, { size: sizeText(files.max_bytes) });
        return;
      }
      var clientId = randomId();
      var row = el("div", "msg visitor pending", "📎 " + f.name);
      uploads[clientId] = row;
      log.append(row);
      body.scrollTop = body.scrollHeight;
      var url = api("/conversations/" + encodeURIComponent(saved.id) + "/attachments?filename=" +
                    encodeURIComponent(f.name.slice(0, 200)) + "&client_id=" + clientId);
      fetch(url, { method: "POST", mode: "cors", credentials: "omit", body: f,
                   headers: { Authorization: "Bearer " + saved.token,
                              "Content-Type": "application/octet-stream" } })
        .then(function (r) {
          if (r.status === 201) return;  // the message comes on the socket (or its backlog)
          dropUpload(clientId);
          return r.json().catch(function () { return {}; }).then(function (d) {
            attachErr.textContent = r.status === 415 ? S.attach_type
              : r.status === 413 ? fill(S.attach_too_large, { size: sizeText(files.max_bytes) })
              : (d && d.error) || S.attach_failed;
          });
        })
        .catch(function () { dropUpload(clientId); attachErr.textContent = S.attach_failed; });
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
      faqBox.replaceChildren();
      faqBox.classList.add("hidden");
      body.append(faqBox);
      asking = null;
      pending = [];
      typing.textContent = "";
      showForm();
    });

    function connect() {
      clearTimeout(retryTimer);
      if (!saved || ended) return;
      fileToken = saved.token;
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
      sendMarks();
      if ((saved && !ended) || asking) input.focus();
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
