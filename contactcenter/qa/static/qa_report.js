// The QA report on /qa (supervisors, admins): scores per agent, per question and over time,
// from /api/qa/report; the chart is uPlot (vendored by the reports page), the CSV links ask
// the same query of /api/qa/report.csv.
"use strict";

const qaReport = (() => {
  const $ = (id) => document.getElementById(id);
  let plot = null;

  function localDay(d) {
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-` +
           String(d.getDate()).padStart(2, "0");
  }

  function params() {
    const p = new URLSearchParams();
    for (const [key, id] of [["from", "r-from"], ["to", "r-to"], ["by", "r-by"],
                             ["scorecard_id", "r-scorecard"], ["channel", "r-channel"],
                             ["agent", "r-agent"]]) {
      const v = $(id).value.trim();
      if (v) p.set(key, v);
    }
    return p;
  }

  function table(id, data, withTotals) {
    const cols = data.columns;
    const head = cc.el("tr", null);
    for (const c of cols) head.append(cc.el("th", c.replaceAll("_", " ")));
    document.querySelector(`#${id} thead`).replaceChildren(head);
    const row = (r, cls) => {
      const tr = cc.el("tr", null, { class: cls });
      for (const c of cols) {
        const v = r[c];
        tr.append(cc.el("td", v === null || v === undefined ? "" : v,
                        { "data-col": c, class: typeof v === "number" ? "num" : "" }));
      }
      return tr;
    };
    const part = (name) => document.querySelector(`#${id} ${name}`);
    part("tbody").replaceChildren(...data.rows.map((r) => row(r, "r-row")));
    if (withTotals) part("tfoot").replaceChildren(row(data.totals, "totals"));
  }

  function chart(data) {
    const el = $("r-chart");
    el.replaceChildren();
    const rows = data.periods.rows;
    // Each period at noon UTC of its first day: the axis shows the day whatever the zone.
    const x = rows.map((r) => Date.parse(`${r.start}T12:00:00Z`) / 1000);
    const avg = rows.map((r) => r.average_percent);
    const count = rows.map((r) => r.evaluations);
    plot = new uPlot({
      title: `Average score per ${data.by}`, width: Math.max(360, el.clientWidth || 600),
      height: 240,
      series: [{}, { label: "average %", stroke: "#2563eb", width: 2, scale: "pct",
                     points: { show: true, size: 8 }, spanGaps: true },
               { label: "evaluations", stroke: "#d97706", width: 1, scale: "n",
                 points: { show: true, size: 6 } }],
      scales: { x: { time: true }, pct: { range: [0, 100] } },
      axes: [{}, { scale: "pct" }, { scale: "n", side: 1, grid: { show: false } }],
    }, [x, avg, count], el);
    window.__qaChart = plot;  // the browser test reads the chart's data from here
  }

  async function show(ev) {
    if (ev) ev.preventDefault();
    cc.text("r-error", "");
    const p = params();
    try {
      const data = await cc.api("GET", `/api/qa/report?${p}`);
      table("r-agents", data.agents, true);
      table("r-questions", data.questions, false);
      chart(data);
      for (const name of ["agents", "questions", "periods"]) {
        const q = new URLSearchParams(p);
        q.set("table", name);
        $(`r-csv-${name}`).href = `/api/qa/report.csv?${q}`;
      }
    } catch (err) { cc.fail("r-error", err); }
  }

  async function init() {
    const today = new Date();
    const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 27);
    $("r-to").value = localDay(today);
    $("r-from").value = localDay(from);
    const body = await cc.api("GET", "/api/qa/scorecards");
    for (const card of body.scorecards) {
      $("r-scorecard").append(cc.el("option", card.name, { value: String(card.id) }));
    }
    $("r-filters").addEventListener("submit", show);
    await show();
  }

  return { init, show };
})();
