// The recording player: search, a waveform with the silent spans over it, audited play.
"use strict";

let current = null;   // the selected recording's entry
let duration = 0;     // its length in seconds (the index's, then the audio element's)
let lines = [];       // transcript lines [{start, end, text, speaker}]
let poll = null;      // timer while a transcript is on its way
let staff = false;    // supervisors and admins evaluate calls

function isoDay(value, plusDays) {
  // A date input's value is a local day; the API wants instants.
  const d = new Date(value + "T00:00");
  d.setDate(d.getDate() + (plusDays || 0));
  return d.toISOString();
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

async function search(ev) {
  if (ev) ev.preventDefault();
  cc.text("find-error", "");
  const q = new URLSearchParams();
  const v = (id) => document.getElementById(id).value.trim();
  if (v("f-from")) q.set("from", isoDay(v("f-from")));
  if (v("f-to")) q.set("to", isoDay(v("f-to"), 1));
  for (const [id, name] of [["f-agent", "agent_id"], ["f-queue", "queue"], ["f-caller", "caller"],
                            ["f-min", "min_s"], ["f-max", "max_s"], ["f-text", "text"]]) {
    if (v(id)) q.set(name, v(id));
  }
  let body;
  try {
    body = await cc.api("GET", "/api/recordings/search?" + q.toString());
  } catch (err) { cc.fail("find-error", err); return; }
  const tb = document.querySelector("#results tbody");
  tb.replaceChildren();
  for (const r of body.recordings) {
    const tr = cc.el("tr", null, { "data-recording": r.id, "data-status": r.status });
    tr.append(cc.el("td", when(r.started_at)), cc.el("td", r.queue), cc.el("td", r.agent_id || ""),
              cc.el("td", r.caller_id || ""), cc.el("td", cc.secs(r.duration_s)),
              cc.el("td", r.status), cc.el("td", r.snippet || "", { class: "snippet" }));
    tr.addEventListener("click", () => select(r, tr));
    tb.append(tr);
  }
  document.getElementById("no-results").classList.toggle("hidden", body.recordings.length > 0);
}

async function select(entry, tr) {
  for (const row of document.querySelectorAll("#results tbody tr")) row.classList.remove("selected");
  tr.classList.add("selected");
  current = entry;
  duration = entry.duration_s || 0;
  const audio = document.getElementById("audio");
  audio.pause();
  audio.removeAttribute("src");
  audio.load();
  document.getElementById("player").classList.remove("hidden");
  cc.text("p-title", `${entry.queue} · ${entry.caller_id || "unknown caller"} · ${when(entry.started_at)}`);
  cc.text("p-error", "");
  document.getElementById("play").disabled = !entry.playable;
  const dl = document.getElementById("download");
  dl.classList.toggle("hidden", !entry.can_download);
  dl.href = `/api/recordings/${entry.id}/download`;
  const evaluate = document.getElementById("evaluate");
  evaluate.classList.toggle("hidden", !staff);
  evaluate.href = `/qa?recording=${entry.id}`;
  drawSpans(entry);
  clearCanvas();
  if (entry.playable) {
    try {
      const w = await cc.api("GET", `/api/recordings/${entry.id}/waveform?buckets=1000`);
      if (current !== entry) return;
      duration = w.peaks.duration_s || duration;
      drawPeaks(w.peaks);
      drawSpans(w.recording);
    } catch (err) { cc.fail("p-error", err); }
  } else {
    cc.text("p-error", `no audio: the recording is ${entry.status}`);
  }
  loadTranscript(entry);
}

function clearCanvas() {
  const c = document.getElementById("wave");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
}

function drawPeaks(p) {
  const c = document.getElementById("wave");
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.fillStyle = "#38bdf8";
  const mid = c.height / 2;
  const step = c.width / p.buckets;
  for (let i = 0; i < p.buckets; i++) {
    const top = mid - p.high[i] * mid;
    const bottom = mid - p.low[i] * mid;
    g.fillRect(i * step, top, Math.max(step - 0.5, 0.5), Math.max(bottom - top, 1));
  }
}

function drawSpans(entry) {
  const box = document.getElementById("wave-spans");
  const list = document.getElementById("spans");
  box.replaceChildren();
  list.replaceChildren();
  const total = duration || entry.duration_s || 0;
  const spans = [...(entry.pauses || []), ...(entry.off || [])].sort((a, b) => a.start - b.start);
  for (const s of spans) {
    const end = s.end === null || s.end === undefined ? total : s.end;
    if (total > 0) {
      const div = cc.el("div", null, { class: s.kind, "data-kind": s.kind,
                                       title: `${s.kind} ${cc.secs(s.start)}–${cc.secs(end)}` });
      div.style.left = `${(100 * s.start) / total}%`;
      div.style.width = `${(100 * Math.max(end - s.start, 0)) / total}%`;
      box.append(div);
    }
    const label = s.kind === "not_started" ? "not started" : s.kind === "pause" ? "paused" : s.kind;
    list.append(cc.el("li", `${label} ${cc.secs(s.start)}–${cc.secs(end)}` +
                            (s.by ? ` (${s.by})` : ""), { class: "span-" + s.kind }));
  }
}

async function play(at) {
  const audio = document.getElementById("audio");
  cc.text("p-error", "");
  if (!audio.getAttribute("src")) {
    try {
      const r = await cc.api("POST", `/api/recordings/${current.id}/play`);
      audio.src = r.src;
    } catch (err) { cc.fail("p-error", err); return; }
  }
  if (at !== undefined) audio.currentTime = at;
  try { await audio.play(); } catch (err) { cc.fail("p-error", err); }
}

function seek(ev) {
  if (!current || !current.playable || !duration) return;
  const box = document.getElementById("wave-box").getBoundingClientRect();
  play(Math.max(0, Math.min(1, (ev.clientX - box.left) / box.width)) * duration);
}

function tick() {
  const audio = document.getElementById("audio");
  const total = duration || audio.duration || 0;
  const head = document.getElementById("playhead");
  head.style.left = total ? `${(100 * audio.currentTime) / total}%` : "0";
  const items = document.querySelectorAll("#transcript li");
  lines.forEach((l, i) => {
    const on = audio.currentTime >= l.start && audio.currentTime < l.end + 0.5;
    if (items[i]) items[i].classList.toggle("current", on);
  });
}

const SPEAKERS = { caller: "Caller", agent: "Agent" };

async function loadTranscript(entry) {
  clearTimeout(poll);
  const ol = document.getElementById("transcript");
  ol.replaceChildren();
  lines = [];
  let t;
  try {
    t = await cc.api("GET", `/api/transcripts/${entry.id}`);
  } catch (err) {
    cc.text("t-status", err.status === 404 ? "none" : err.message);
    return;
  }
  if (current !== entry) return;
  if (t.status !== "done") {
    const pct = Math.round((t.progress || 0) * 100);
    cc.text("t-status", t.status === "failed" ? `failed: ${t.error || ""}`
      : t.status === "purged" ? "erased with the recording" : `${t.status} ${pct}%`);
    if (t.status === "pending" || t.status === "running") {
      poll = setTimeout(() => { if (current === entry) loadTranscript(entry); }, 2000);
    }
    return;
  }
  cc.text("t-status", t.lines.length ? "" : "no speech found");
  lines = t.lines;
  for (const l of lines) {
    const li = cc.el("li", null, { "data-start": l.start });
    const at = cc.el("button", cc.secs(l.start), { type: "button", class: "t-at" });
    at.addEventListener("click", () => play(l.start));
    li.append(at);
    if (l.speaker) {  // the directions were recorded apart: who said it is known
      li.dataset.speaker = l.speaker;
      li.append(cc.el("span", SPEAKERS[l.speaker] || l.speaker, { class: `t-who t-${l.speaker}` }));
    }
    li.append(cc.el("span", l.text, { class: "t-text" }));
    ol.append(li);
  }
}

(async () => {
  const user = await cc.session(["agent", "supervisor", "admin"]);
  staff = user.role === "supervisor" || user.role === "admin";
  for (const el of document.querySelectorAll(".staff-only")) el.classList.toggle("hidden", !staff);
  document.getElementById("qa-link").classList.remove("hidden");
  document.getElementById("find").addEventListener("submit", search);
  document.getElementById("play").addEventListener("click", () => play());
  document.getElementById("wave-box").addEventListener("click", seek);
  const audio = document.getElementById("audio");
  audio.addEventListener("timeupdate", tick);
  audio.addEventListener("seeked", tick);
  audio.addEventListener("play", () => {
    // The native controls' play button must go through the audited play as well.
    if (!audio.getAttribute("src")) { audio.pause(); play(); }
  });
  const params = new URLSearchParams(location.search);
  if (params.get("text")) document.getElementById("f-text").value = params.get("text");
  await search();
})();
