"use strict";
const HOME = { agent: "/agent", supervisor: "/wallboard", admin: "/admin" };

document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  cc.text("login-error", "");
  try {
    const body = await cc.api("POST", "/api/login", {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    });
    const next = new URLSearchParams(location.search).get("next");
    // Only a local page of one segment (/agent, /recordings, /qa, ...): never an absolute or
    // protocol-relative URL taken from the query string.
    const safe = next && /^\/[a-z][a-z0-9-]*$/.test(next) ? next : null;
    location.href = safe || HOME[body.user.role] || "/agent";
  } catch (err) {
    cc.fail("login-error", err);
  }
});
