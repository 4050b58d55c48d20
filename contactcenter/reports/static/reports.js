// The reports page: filters -> /api/reports/<kind> (table) and /api/reports/queues (charts).
// Cells show the JSON's values as they are (seconds and percentages with their one decimal),
// so the page, the JSON and the CSV read the same.
"use strict";

const LABELS = {
  period: "Period", period_start: "Start (epoch)", queue: "Queue", channel: "Channel",
  agent_id: "Agent", agent: "Agent", agent_name: "Name", offered: "Offered", arrived: "Arrived",
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
  count: "Count", share_pct: "Share %", tickets: "Tickets", queues: "Queues",
  agents: "Agents", pauses: "Pauses", dispositions: "Dispositions",
  created: "Created", first_responses: "First responses",
  avg_first_response_s: "Avg first response s", first_response_in_target_pct: "First response in target %",
  first_response_breaches: "First response late", next_responses: "Next responses",
  avg_next_response_s: "Avg next response s", next_response_in_target_pct: "Next response in target %",
  next_response_breaches: "Next response late", solved: "Solved",
  avg_resolution_s: "Avg resolution s", resolution_in_target_pct: "Resolution in target %",
  resolution_breaches: "Resolution late", reopened: "Reopened", closed: "Closed",
  backlog: "Backlog", backlog_lt_1d: "Backlog < 1 d", backlog_1d_3d: "Backlog 1-3 d",
  backlog_3d_7d: "Backlog 3-7 d", backlog_7d_plus: "Backlog 7 d +", chats: "Chats",
  started: "Started", longest_first_response_s: "Longest first response s",
  closed_unanswered: "Closed unanswered", avg_duration_s: "Avg duration s",
  closed_by_visitor: "Closed by visitor", closed_by_agent: "Closed by agent",
  closed_other: "Closed otherwise",
  sla_first_response_pct: "SLA first response %", sla_first_response_breaches: "SLA first response late",
  sla_next_response_pct: "SLA next response %", sla_next_response_breaches: "SLA next response late",
  sla_resolution_pct: "SLA resolution %", sla_resolution_breaches: "SLA resolution late",
  surveys: "Surveys", csat_response_pct: "Survey response %", ratings: "Ratings",
  ratings_satisfied: "Rated 4-5", csat_pct: "CSAT %", csat_avg: "CSAT avg (1-5)", faq_shown: "Answers shown",
  bot_talked: "Bot chats", bot_deflected: "Bot deflected",
  self_served: "Self-served", deflection_pct: "Deflection %",
  left_messages: "Messages left", left_from_line: "Left from the line",
};
Object.assign(LABELS, {
  ivr: "IVR", flow: "Flow", node: "Node", sessions: "Sessions", queued: "Queued",
  transferred: "Transferred", fallback: "Fallback", caller_hangups: "Caller hung up",
  completed: "Completed in IVR", contained: "Contained", containment_pct: "Containment %",
  reached: "Reached", reached_pct: "Reached %", left: "Left here", left_pct: "Left here %",
  ended: "Ended here",
});
// The reports whose rows are grouped by queue, channel or all together.
const GROUPED = ["queues", "tickets", "chats"];
// Those that have rows per agent too (the agent's own figures: docs/reports.md).
const BY_AGENT = ["tickets", "chats"];

/** Offer "agent" in the group selector for the reports that have it, and only for them. */
function agentGroup(kind) {
  const select = $("group");
  const option = select.querySelector('option[value="agent"]');
  if (BY_AGENT.includes(kind) && !option) {
    select.append(cc.el("option", "agent", { value: "agent" }));
  } else if (!BY_AGENT.includes(kind) && option) {
    if (select.value === "agent") select.value = "queue";
    option.remove();
  }
}

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
  if (GROUPED.includes($("kind").value)) p.set("group", $("group").value);
  if ($("kind").value === "ivr") {
    p.set("group", $("ivr-group").value);
    if ($("flow").value) p.set("flow", $("flow").value);
  }
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

/** A report over time, all rows together: its x (period starts) and value getters. */
async function overTime(kind, by) {
  const p = params({ group: "none", by });
  p.delete("agent");
  const data = await cc.api("GET", `/api/reports/${kind}?${p}`);
  // Every interval (hour) of the range, so a quiet one shows as 0 rather than as a line
  // drawn across it; days come as they are (their length changes with DST).
  const step = { interval: 900, hour: 3600 }[by];
  const byStart = new Map(data.rows.map((r) => [r.period_start, r]));
  const x = step ? [] : data.rows.map((r) => r.period_start);
  if (step) for (let t = data.start; t < data.end; t += step) x.push(t);
  const counts = (c) => x.map((t) => (byStart.has(t) ? byStart.get(t)[c] : 0));
  const ratios = (c) => x.map((t) => (byStart.has(t) ? byStart.get(t)[c] : null));
  return { data, x, counts, ratios };
}

async function drawTicketChart(by) {
  // Tickets have figures of their own: what came in, what was solved, what is still open.
  const shown = $("kind").value === "tickets" || $("channel").value === "ticket";
  $("chart-tickets").classList.toggle("hidden", !shown);
  if (!shown) {
    delete window.__charts.tickets;
    return;
  }
  const { data, x, counts } = await overTime("tickets", by);
  window.__charts.tickets = chart("chart-tickets", "Tickets", [
    { label: "created", color: "#0891b2", scale: "n" },
    { label: "solved", color: "#65a30d", scale: "n" },
    { label: "backlog at the end", color: "#be185d", scale: "n" },
  ], x, [counts("created"), counts("solved"), counts("backlog")], data);
}

async function drawCharts() {
  // Over time, whatever the table groups by: the queues report, all rows together.
  const by = $("by").value === "total" ? "day" : $("by").value;
  const { data, x, counts, ratios } = await overTime("queues", by);
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
  await drawTicketChart(by);
}

/** The IVR funnel of one flow (the one chosen, else the busiest): sessions that reached each
 * node over the whole range, most reached first, as a table and a bar chart. */
async function drawFunnel() {
  const ivr = $("kind").value === "ivr";
  $("funnel").classList.toggle("hidden", !ivr);
  if (!ivr) {
    delete window.__charts.funnel;
    return;
  }
  const p = params({ group: "node", by: "total" });
  const data = await cc.api("GET", `/api/reports/ivr?${p}`);
  const sessions = new Map();
  for (const r of data.rows) sessions.set(r.flow, r.sessions);
  const flow = $("flow").value ||
    [...sessions.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  const rows = data.rows.filter((r) => r.flow === flow);
  $("funnel-note").textContent = flow ? `${flow}: ${sessions.get(flow)} sessions` : "no sessions";
  document.querySelector("#funnel-table tbody").replaceChildren(...rows.map((r) => {
    const tr = cc.el("tr", null, { class: "funnel-row" });
    tr.append(cc.el("td", r.node, { "data-col": "node" }));
    for (const c of ["reached", "reached_pct", "left", "caller_hangups"]) {
      tr.append(cc.el("td", shown(c, r[c]), { "data-col": c, class: "num" }));
    }
    return tr;
  }));
  const el = $("chart-funnel");
  el.replaceChildren();
  const names = rows.map((r) => r.node);
  const x = rows.map((_r, i) => i);
  const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 80] }) : undefined;
  window.__charts.funnel = new uPlot({
    title: "Sessions that reached each node", width: Math.max(360, el.clientWidth || 600),
    height: 240,
    series: [{}, { label: "reached", stroke: "#2563eb", fill: "#2563eb55", width: 2,
                   paths: bars, points: { show: true, size: 6 } },
             { label: "left here", stroke: "#dc2626", width: 2, paths: () => null,
               points: { show: true, size: 8 } }],
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, rows.length - 0.5)] },
              y: { range: [0, Math.max(1, ...rows.map((r) => r.reached))] } },
    axes: [{ values: (_u, ticks) => ticks.map((t) => names[t] ?? ""),
             splits: () => x }, {}],
  }, [x, rows.map((r) => r.reached), rows.map((r) => r.left)], el);
}

async function show(ev) {
  if (ev) ev.preventDefault();
  const kind = $("kind").value;
  $("group-label").classList.toggle("hidden", !GROUPED.includes(kind));
  agentGroup(kind);
  $("ivr-group-label").classList.toggle("hidden", kind !== "ivr");
  $("flow-label").classList.toggle("hidden", kind !== "ivr");
  $("report-error").textContent = "";
  const p = params();
  $("csv").href = `/api/reports/${kind}.csv?${p}`;
  try {
    drawTable(await cc.api("GET", `/api/reports/${kind}?${p}`));
    await drawCharts();
    await drawFunnel();
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
  fill($("flow"), (options.flows || []).map((f) => [f, f]));
  $("filters").addEventListener("submit", show);
  for (const id of ["kind", "by", "group", "queue", "agent", "channel", "ivr-group", "flow"]) {
    $(id).addEventListener("change", () => show());
  }
  await show();
}

main();
