// The reports page: filters -> /api/reports/<kind> (table) and /api/reports/queues (charts).
// Cells show the JSON's values as they are (seconds and percentages with their one decimal),
// so the page, the JSON and the CSV read the same.
"use strict";

const LABELS = {
  period: "Period", period_start: "Start (epoch)", queue: "Queue", channel: "Channel",
  agent_id: "Agent", agent_name: "Name", offered: "Offered", arrived: "Arrived",
  overflowed_in: "Overflow in", transferred_in: "Transfer in", answered: "Answered",
  abandoned: "Abandoned", short_abandoned: "Short abandons", exited: "Exited",
  overflowed_out: "Overflow out", transferred_out: "Transfer out",
  transferred_external: "Transfer outside", callbacks_requested: "Callbacks asked",
  callbacks_answered: "Callbacks answered", service_level_pct: "Service level %",
  asa_s: "ASA s", abandon_rate_pct: "Abandon rate %", longest_wait_s: "Longest wait s",
  handled: "Handled", aht_s: "AHT s", avg_talk_s: "Avg talk s", avg_hold_s: "Avg hold s",
  avg_wrapup_s: "Avg wrap-up s", holds: "Holds", offers: "Offers", rona: "RONA",
  talk_s: "Talk s", hold_s: "Hold s", wrapup_s: "Wrap-up s", logged_in_s: "Logged in s",
  available_s: "Available s", ringing_s: "Ringing s", busy_s: "Busy s",
  in_wrapup_s: "In wrap-up s", paused_s: "Paused s", occupancy_pct: "Occupancy %",
  utilization_pct: "Utilization %", reason: "Reason", disposition: "Disposition",
  count: "Count", share_pct: "Share %",
};

const $ = (id) => document.getElementById(id);
let options = null;
// The chart objects, for whoever wants to look at what they plot (the browser test does).
window.__charts = {};

/** A value as the page shows it: "" for none, one decimal for seconds and percentages. */
function shown(col, v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" && (col.endsWith("_s") || col.endsWith("_pct"))) return v.toFixed(1);
  return String(v);
}

function params(extra) {
  const p = new URLSearchParams();
  p.set("from", $("from").value);
  p.set("to", $("to").value || $("from").value);
  p.set("by", $("by").value);
  if ($("kind").value === "queues") p.set("group", $("group").value);
  for (const f of ["queue", "agent", "channel"]) if ($(f).value) p.set(f, $(f).value);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p;
}

function fill(select, entries) {
  for (const [value, text] of entries) select.append(cc.el("option", text, { value }));
}

function drawTable(data) {
  const cols = data.columns.filter((c) => c !== "period_start");
  const head = cc.el("tr");
  for (const c of cols) head.append(cc.el("th", LABELS[c] || c, { "data-col": c }));
  document.querySelector("#report thead").replaceChildren(head);
  const row = (r, cls) => {
    const tr = cc.el("tr", null, { class: cls });
    for (const c of cols) {
      tr.append(cc.el("td", shown(c, r[c]), { "data-col": c,
                                             class: typeof r[c] === "number" ? "num" : "" }));
    }
    return tr;
  };
  document.querySelector("#report tbody").replaceChildren(...data.rows.map((r) => row(r, "report-row")));
  document.querySelector("#report tfoot").replaceChildren(row(data.totals, "totals"));
  $("no-rows").classList.toggle("hidden", data.rows.length > 0);
  $("report-title").textContent = `${LABELS[data.report] || data.report} report, ` +
    `${data.from} to ${data.to} (${data.timezone})`;
}

function chart(id, title, series, x, ys, data) {
  const el = $(id);
  el.replaceChildren();
  const width = Math.max(360, el.clientWidth || 600);
  const opts = {
    title, width, height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), data.timezone),
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
                                          points: { show: true, size: 6 }, scale: s.scale }))],
    scales: { x: { time: true, range: [data.start, data.end] }, pct: { range: [0, 100] } },
    axes: [{}, { scale: series[0].scale }, ...(series.some((s) => s.scale !== series[0].scale)
      ? [{ scale: series.find((s) => s.scale !== series[0].scale).scale, side: 1,
           grid: { show: false } }] : [])],
  };
  return new uPlot(opts, [x, ...ys], el);
}

async function drawCharts() {
  // Over time, whatever the table groups by: the queues report, all rows together.
  const by = $("by").value === "total" ? "day" : $("by").value;
  const p = params({ group: "none", by });
  p.delete("agent");
  const data = await cc.api("GET", `/api/reports/queues?${p}`);
  // Every interval (hour) of the range, so a quiet one shows as 0 rather than as a line
  // drawn across it; days come as they are (their length changes with DST).
  const step = { interval: 900, hour: 3600 }[by];
  const byStart = new Map(data.rows.map((r) => [r.period_start, r]));
  const x = step ? [] : data.rows.map((r) => r.period_start);
  if (step) for (let t = data.start; t < data.end; t += step) x.push(t);
  const counts = (c) => x.map((t) => (byStart.has(t) ? byStart.get(t)[c] : 0));
  const ratios = (c) => x.map((t) => (byStart.has(t) ? byStart.get(t)[c] : null));
  $("chart-note").textContent = `per ${by}, ${data.rows.length} with contacts`;
  window.__charts.volume = chart("chart-volume", "Contacts", [
    { label: "offered", color: "#2563eb", scale: "n" },
    { label: "answered", color: "#16a34a", scale: "n" },
    { label: "abandoned", color: "#dc2626", scale: "n" },
  ], x, [counts("offered"), counts("answered"), counts("abandoned")], data);
  window.__charts.service = chart("chart-service", "Service", [
    { label: "service level %", color: "#7c3aed", scale: "pct" },
    { label: "ASA s", color: "#d97706", scale: "s" },
  ], x, [ratios("service_level_pct"), ratios("asa_s")], data);
}

async function show(ev) {
  if (ev) ev.preventDefault();
  const kind = $("kind").value;
  $("group-label").classList.toggle("hidden", kind !== "queues");
  $("report-error").textContent = "";
  const p = params();
  $("csv").href = `/api/reports/${kind}.csv?${p}`;
  try {
    drawTable(await cc.api("GET", `/api/reports/${kind}?${p}`));
    await drawCharts();
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (e) {
    $("report-error").textContent = e.message;
  }
}

async function main() {
  await cc.session(["supervisor", "admin"]);
  options = await cc.api("GET", "/api/reports/options");
  $("timezone").textContent = options.timezone;
  $("from").value = $("to").value = options.today;
  fill($("queue"), options.queues.map((q) => [q, q]));
  fill($("agent"), Object.entries(options.agents).map(([id, name]) => [id, `${id} ${name}`]));
  fill($("channel"), options.channels.map((c) => [c, c]));
  $("filters").addEventListener("submit", show);
  for (const id of ["kind", "by", "group", "queue", "agent", "channel"]) {
    $(id).addEventListener("change", () => show());
  }
  await show();
}

main();
