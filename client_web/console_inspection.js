// The automated inspection on the supervisor's console (网上巡检): the flags the node logged
// (server/domain/inspection.py). A flag points a supervisor at a seat; it is not a verdict.
"use strict";

(function () {
  const E = window.Evalroom;
  const RULES = {
    fast_scoring: "评分过快 Scored too fast",
    identical_scores: "评分完全相同 Identical scores",
    extreme_scores: "全部满分或全部最低分 All maximum or all minimum",
  };

  function detailText(flag) {
    const d = flag.detail || {};
    if (flag.rule === "fast_scoring") return `${flag.subject}：${d.cells} 项用时 ${d.seconds} 秒 ${d.cells} cells in ${d.seconds} s`;
    if (flag.rule === "identical_scores") return `${d.bidder}：与 ${d.with} 的 ${d.cells} 项相同 same as ${d.with} on ${d.cells} cells`;
    if (flag.rule === "extreme_scores") return `${flag.subject}：${d.cells} 项均为${d.extreme === "max" ? "最高分 maximum" : "最低分 minimum"}`;
    return JSON.stringify(d);
  }

  window.EvalroomInspectionDesk = function (ctx) {
    const { $ } = ctx;

    function render(view) {
      const flags = view.inspection || [];
      $("console-inspection").hidden = flags.length === 0;
      const counts = {};
      for (const f of flags) counts[f.rule] = (counts[f.rule] || 0) + 1;
      $("inspection-summary").textContent = Object.entries(counts).map(([rule, n]) => `${RULES[rule] || rule}: ${n}`).join(" · ");
      $("inspection-flags").replaceChildren(
        E.el("tr", {}, ...["日志 Seq", "规则 Rule", "席位 Seat", "详情 Details"].map((h) => E.el("th", {}, h))),
        ...flags.map((f) =>
          E.el("tr", { "data-rule": f.rule, "data-seat": f.seat },
            E.el("td", {}, `#${f.seq}`), E.el("td", {}, RULES[f.rule] || f.rule), E.el("td", {}, f.seat), E.el("td", {}, detailText(f))),
        ),
      );
    }

    return { render };
  };
})();
