// Charts of the sheets at the shown seq (plain SVG drawn here): the scores of each criterion by
// bidder (one dot per seat, the committee mean as a bar), and each expert against the committee
// mean; and the sheet changes between two seqs. Numbers here are for reading, not for results:
// the results and flags are exact elsewhere (auditor_state.js, the server's rules).
"use strict";

window.EvalroomAuditCharts = (function () {
  const E = window.Evalroom;
  const el = E.el;
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#1d3c6e", "#b3261e", "#1b7f35", "#a06800", "#6a3d9a", "#00838f", "#c2185b", "#5d4037", "#455a64", "#7cb342"];

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function scoresOf(view, bidder, criterion) {
    const out = [];
    Object.keys(view.seats || {}).forEach((seat, i) => {
      const cell = ((view.cells || {})[seat] || {})[`${bidder}/${criterion}`];
      const value = cell && cell.value !== undefined ? Number(cell.value) : NaN;
      if (Number.isFinite(value)) out.push({ seat, i, value });
    });
    return out;
  }

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

  // One small chart per criterion: a row per bidder, a dot per seat, the mean as a tick.
  function distribution(view) {
    const bidders = E.bidderIds(view.lot);
    const width = 260;
    const left = 34;
    const row = 18;
    return E.typedCriteria(view.lot).map((c) => {
      const min = Number(c.min || 0);
      const max = Number(c.max || 1);
      const x = (v) => left + ((v - min) / Math.max(1e-9, max - min)) * (width - left - 8);
      const height = 14 + row * bidders.length + 14;
      const parts = [
        svg("line", { x1: x(min), y1: 12, x2: x(min), y2: height - 14, class: "axis" }),
        svg("text", { x: x(min), y: height - 2, class: "tick" }, String(min)),
        svg("text", { x: x(max), y: height - 2, class: "tick end" }, String(max)),
      ];
      bidders.forEach((b, n) => {
        const y = 14 + row * n + row / 2;
        parts.push(svg("text", { x: 2, y: y + 4, class: "label" }, b));
        parts.push(svg("line", { x1: x(min), y1: y, x2: x(max), y2: y, class: "grid" }));
        const scores = scoresOf(view, b, c.id);
        for (const s of scores) {
          // seats a little apart vertically: equal scores show as a short stack, not one dot
          const spread = (s.i - (Object.keys(view.seats).length - 1) / 2) * 1.4;
          parts.push(svg("circle", { cx: x(s.value), cy: y + spread, r: 3, fill: COLORS[s.i % COLORS.length], class: "dot" },
            svg("title", {}, `${s.seat} ${b}/${c.id} = ${s.value}`)));
        }
        if (scores.length) {
          const m = mean(scores.map((s) => s.value));
          parts.push(svg("line", { x1: x(m), y1: y - 6, x2: x(m), y2: y + 6, class: "mean" }, svg("title", {}, `均值 mean ${m.toFixed(2)}`)));
        }
      });
      return el("figure", { class: "chart", "data-criterion": c.id },
        el("figcaption", {}, `${c.id} ${c.name || ""}`),
        svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `${c.id} 评分分布 score distribution` }, ...parts));
    });
  }

  // Each seat: its mean signed distance from the committee mean of the cells it scored, in
  // percent of each criterion's range (subjective criteria, cells with 2 scores or more).
  function expertsVsMean(view) {
    const seats = Object.keys(view.seats || {});
    const gaps = Object.fromEntries(seats.map((s) => [s, []]));
    for (const c of E.typedCriteria(view.lot).filter((c) => c.kind === "subjective")) {
      const range = Math.max(1e-9, Number(c.max) - Number(c.min || 0));
      for (const b of E.bidderIds(view.lot)) {
        const scores = scoresOf(view, b, c.id);
        if (scores.length < 2) continue;
        const m = mean(scores.map((s) => s.value));
        for (const s of scores) gaps[s.seat].push((100 * (s.value - m)) / range);
      }
    }
    const width = 420;
    const row = 18;
    const mid = 230;
    const scale = 160 / 25; // ±25 % of the range spans the chart
    const parts = [svg("line", { x1: mid, y1: 4, x2: mid, y2: 8 + row * seats.length, class: "axis" })];
    seats.forEach((seat, n) => {
      const y = 8 + row * n;
      const list = gaps[seat];
      const value = list.length ? mean(list) : 0;
      const w = Math.max(-160, Math.min(160, value * scale));
      parts.push(svg("text", { x: 2, y: y + 12, class: "label" }, seat));
      parts.push(svg("rect", { x: w < 0 ? mid + w : mid, y: y + 2, width: Math.abs(w), height: row - 6, fill: COLORS[n % COLORS.length], class: "bar" },
        svg("title", {}, `${seat}: ${value.toFixed(1)} % (${list.length})`)));
      parts.push(svg("text", { x: w < 0 ? mid + w - 4 : mid + w + 4, y: y + 12, class: w < 0 ? "value end" : "value" }, list.length ? `${value >= 0 ? "+" : ""}${value.toFixed(1)}%` : "—"));
    });
    const height = 12 + row * seats.length;
    return el("figure", { class: "chart wide", id: "chart-experts" },
      el("figcaption", {}, "专家相对委员会均值 Each expert against the committee mean (主观分, 占分值范围 % of the range)"),
      svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "专家偏离 Experts against the mean" }, ...parts));
  }

  function render(container, view) {
    if (!view || !view.lot) {
      container.replaceChildren();
      return;
    }
    container.replaceChildren(expertsVsMean(view), ...distribution(view));
  }

  // Cells whose value differs between two views: [{seat, cell, from, to}] (from/to: cell or null).
  function diff(a, b) {
    const out = [];
    const seats = new Set([...Object.keys(a.cells || {}), ...Object.keys(b.cells || {})]);
    for (const seat of seats) {
      const before = (a.cells || {})[seat] || {};
      const after = (b.cells || {})[seat] || {};
      for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const x = before[key] || null;
        const y = after[key] || null;
        if ((x && x.value) !== (y && y.value) || (x && x.comment) !== (y && y.comment)) out.push({ seat, cell: key, from: x, to: y });
      }
    }
    return out.sort((p, q) => (p.seat + p.cell).localeCompare(q.seat + q.cell));
  }

  function diffTable(a, b) {
    const rows = diff(a, b);
    const show = (cell) => (cell ? `${cell.value}${cell.comment ? " ✎" : ""} (#${cell.seq})` : "—");
    return [
      el("p", { id: "diff-summary" }, `#${a.seq} → #${b.seq}: ${rows.length} 个单元格变化 cell(s) changed` +
        (a.phase !== b.phase ? ` · 阶段 phase ${E.PHASE_LABELS[a.phase] || "—"} → ${E.PHASE_LABELS[b.phase] || "—"}` : "")),
      rows.length
        ? el("div", { class: "scroll diff-box", tabindex: "0", role: "region", "aria-label": "评分变化 Sheet changes" }, el("table", { id: "diff-table" },
          el("tr", {}, el("th", {}, "席位 Seat"), el("th", {}, "单元格 Cell"), el("th", {}, `#${a.seq}`), el("th", {}, `#${b.seq}`)),
          ...rows.map((r) => el("tr", { "data-seat": r.seat, "data-cell": r.cell },
            el("td", {}, r.seat), el("td", {}, r.cell), el("td", {}, show(r.from)), el("td", {}, show(r.to))))))
        : el("p", {}, "评分无变化 No sheet changed"),
    ];
  }

  return { render, diff, diffTable };
})();
