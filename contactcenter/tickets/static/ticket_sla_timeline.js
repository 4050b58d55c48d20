// The SLA clocks of the open ticket on a timeline: created, each target's warning and due
// moments, when it was met, the stages that fired, the pauses (shaded) and now. Drawn as SVG
// from GET /api/tickets/{id}/sla-timeline; the same facts are listed as text right under it
// (the drawing is only a picture of the list). Loaded after tickets.js, which calls
// ticketSlaTimeline.opened(ticket) when a ticket is shown.
"use strict";

window.ticketSlaTimeline = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 720, LANE = 26, TOP = 18, LEFT = 120;
  const STAGE = { warning: "warning", breach: "breach" };

  function when(epoch) { return new Date(epoch * 1000).toLocaleString(); }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    return e;
  }

  // Everything the timeline shows, as sentences in time order.
  function facts(tl) {
    const out = [[tl.created_at, `Created ${when(tl.created_at)}`]];
    for (const t of tl.targets) {
      const prefix = t.current ? t.label : `${t.label} (earlier)`;
      if (t.target === "next_response") out.push([t.start, `${prefix} started ${when(t.start)}`]);
      if (t.warn !== null) out.push([t.warn, `${prefix} warning ${when(t.warn)}`]);
      if (t.due !== null) out.push([t.due, `${prefix} due ${when(t.due)}`]);
      if (t.met_at !== null) {
        out.push([t.met_at, `${prefix} ${t.state === "breached" ? "met late" : "met"} ${when(t.met_at)}`]);
      } else if (t.state === "breached") {
        out.push([t.due, `${prefix} breached (not met yet)`]);
      }
    }
    for (const m of tl.marks) {
      const [target, kind] = (m.stage || ":").split(":");
      const label = (tl.targets.find((t) => t.target === target) || { label: target }).label;
      out.push([m.at, `${label} ${STAGE[kind] || kind} fired ${when(m.at)}`]);
    }
    for (const p of tl.pauses) {
      out.push([p.from, p.open ? `Paused since ${when(p.from)}` : `Paused ${when(p.from)} to ${when(p.to)}`]);
    }
    out.push([tl.now, `Now ${when(tl.now)}`]);
    return out.sort((a, b) => a[0] - b[0]).map((f) => f[1]);
  }

  function draw(tl) {
    const times = [tl.created_at, tl.now];
    for (const t of tl.targets) times.push(t.start, t.warn, t.due, t.met_at);
    const known = times.filter((x) => x !== null && x !== undefined);
    const lo = Math.min(...known), hi = Math.max(...known);
    const span = Math.max(hi - lo, 1);
    const x = (epoch) => LEFT + ((epoch - lo) / span) * (W - LEFT - 16);
    const height = TOP + LANE * Math.max(tl.targets.length, 1) + 10;
    const root = svg("svg", { viewBox: `0 0 ${W} ${height}`, width: "100%", "aria-hidden": "true",
                              class: "tl-svg" });
    for (const p of tl.pauses) {
      root.append(svg("rect", { x: x(p.from), y: 0, width: Math.max(1, x(p.to) - x(p.from)),
                                height, class: "tl-pause" }));
    }
    root.append(svg("line", { x1: x(tl.created_at), x2: x(tl.created_at), y1: 0, y2: height,
                              class: "tl-created" }));
    root.append(svg("text", { x: x(tl.created_at) + 2, y: 11, class: "tl-label" }, "created"));
    tl.targets.forEach((t, i) => {
      const y = TOP + LANE * i + LANE / 2;
      const g = svg("g", { class: `tl-lane tl-${t.state}`, "data-target": t.target });
      g.append(svg("text", { x: 4, y: y + 4, class: "tl-name" }, t.current ? t.label : `${t.label} ·`));
      const end = t.met_at !== null ? t.met_at : (t.due !== null ? Math.max(t.due, tl.now) : tl.now);
      g.append(svg("line", { x1: x(t.start), x2: x(end), y1: y, y2: y, class: "tl-bar" }));
      if (t.warn !== null) g.append(svg("line", { x1: x(t.warn), x2: x(t.warn), y1: y - 7, y2: y + 7, class: "tl-warn" }));
      if (t.due !== null) g.append(svg("line", { x1: x(t.due), x2: x(t.due), y1: y - 9, y2: y + 9, class: "tl-due" }));
      if (t.met_at !== null) g.append(svg("circle", { cx: x(t.met_at), cy: y, r: 5, class: `tl-met tl-met-${t.state}` }));
      for (const m of tl.marks) {
        if (!t.current || !m.stage || !m.stage.startsWith(`${t.target}:`)) continue;
        const mx = x(Math.min(Math.max(m.at, lo), hi));
        g.append(svg("path", { d: `M${mx - 5},${y + 11} L${mx + 5},${y + 11} L${mx},${y + 3} Z`,
                               class: m.stage.endsWith(":breach") ? "tl-fired-breach" : "tl-fired-warning" }));
      }
      root.append(g);
    });
    root.append(svg("line", { x1: x(tl.now), x2: x(tl.now), y1: 0, y2: height, class: "tl-now" }));
    root.append(svg("text", { x: x(tl.now) - 24, y: 11, class: "tl-label" }, "now"));
    return root;
  }

  async function opened(ticket) {
    const box = document.getElementById("t-sla-timeline");
    if (!box) return;
    box.textContent = "";
    box.classList.toggle("hidden", !ticket.sla);
    if (!ticket.sla) return;
    let tl;
    try {
      tl = await cc.api("GET", `/api/tickets/${ticket.id}/sla-timeline`);
    } catch (err) {
      box.append(cc.el("p", `SLA timeline: ${err.message || err}`, { class: "error" }));
      return;
    }
    const title = cc.el("h3", `SLA timeline (${tl.policy})`, { id: "t-sla-timeline-title" });
    const list = cc.el("ul", null, { class: "tl-facts", "aria-labelledby": "t-sla-timeline-title" });
    for (const f of facts(tl)) list.append(cc.el("li", f));
    box.append(title, draw(tl), list);
  }

  return { opened, facts };
})();
