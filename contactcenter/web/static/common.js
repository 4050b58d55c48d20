// Shared by every panel page: the session, JSON calls with the CSRF token, the live socket.
"use strict";

const cc = {
  csrf: null,
  user: null,

  /** Load the session or go to the login page; returns the user. */
  async session(roles) {
    const r = await fetch("/api/session", { credentials: "same-origin" });
    if (r.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
      throw new Error("login required");
    }
    const body = await r.json();
    cc.csrf = body.csrf_token;
    cc.user = body.user;
    if (roles && !roles.includes(body.user.role)) {
      document.body.innerHTML = "<p class='error' id='forbidden'>This page is not for your role.</p>";
      throw new Error("forbidden");
    }
    const who = document.getElementById("who");
    if (who) who.textContent = `${body.user.username} (${body.user.role})`;
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", cc.logout);
    return body.user;
  },

  /** A JSON API call; throws an Error carrying .status and .body when not 2xx. */
  async api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = cc.csrf || "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, credentials: "same-origin",
                                  body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
    if (!r.ok) {
      const err = new Error((data && data.error) || r.statusText || String(r.status));
      err.status = r.status; err.body = data;
      throw err;
    }
    return data;
  },

  async logout() {
    try { await cc.api("POST", "/api/logout"); } finally { location.href = "/login"; }
  },

  /** Subscribe to live topics; calls onEvent(topic, data). Reconnects with backoff. */
  live(topics, onEvent, onStatus) {
    let delay = 500;
    const connect = () => {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${proto}//${location.host}/api/live`);
      ws.onopen = () => { delay = 500; ws.send(JSON.stringify({ type: "subscribe", topics })); };
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.type === "event") onEvent(msg.topic, msg.data, msg.seq);
        else if (msg.type === "subscribed" && onStatus) onStatus("live", msg);
      };
      ws.onclose = () => {
        if (onStatus) onStatus("reconnecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    };
    connect();
  },

  /** Set the text of the element with this id (no HTML). */
  text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value === null || value === undefined ? "" : String(value);
  },

  /** A new element with text content and attributes. */
  el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  },

  /** Show an error message in the element with this id. */
  fail(id, err) { cc.text(id, err && err.message ? err.message : String(err)); },

  secs(s) {
    if (s === null || s === undefined) return "–";
    s = Math.max(0, Math.round(s));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  },
};
