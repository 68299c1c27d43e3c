// Expert fees on the supervisor's console (专家劳务报酬): once the seal logged fees.computed
// (a lot with a fee catalogue), each member's statement and the total, as the staff view holds
// them (server/domain/fees.py). The payment export and the PDF statements are the admin's, on
// the home page.
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = { member: "委员 Member", recused: "已回避 Recused" };

  function clock(ms) {
    return ms ? new Date(ms).toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit" }) : "—";
  }

  window.EvalroomFeesDesk = function (ctx) {
    const { $ } = ctx;
    let shown = null;

    function render(view) {
      const fees = view.fees || null;
      $("console-fees").hidden = !fees;
      if (!fees || shown === fees.seq) return;
      shown = fees.seq;
      const heads = ["席位 Seat", "身份 Status", "时段 Time", "分钟 Min.", "费率 Rates", "劳务 Amount", "交通 Travel", `合计 Total ${fees.currency}`];
      $("fees-summary").textContent = `合计 Total ${fees.total} ${fees.currency} · ${fees.statements.length} 份结算 statements · 日志 #${fees.seq} · 费用目录 catalogue SHA-256 ${String(fees.catalogue).slice(0, 16)}…`;
      $("fees-table").replaceChildren(
        E.el("caption", {}, "专家劳务报酬结算 Fee statements"),
        E.el("thead", {}, E.el("tr", {}, ...heads.map((h) => E.el("th", { scope: "col" }, h)))),
        E.el(
          "tbody",
          {},
          ...fees.statements.map((s) =>
            E.el(
              "tr",
              { "data-seat": s.seat, "data-status": s.status },
              E.el("th", { scope: "row" }, s.seat, E.el("br"), E.el("small", {}, s.venue)),
              E.el("td", {}, STATUS[s.status] || s.status),
              E.el("td", {}, `${clock(s.start_ms)}–${clock(s.end_ms)}`),
              E.el("td", { class: "num" }, String(s.minutes)),
              E.el("td", {}, s.rates_of),
              E.el("td", { class: "num" }, s.amount),
              E.el("td", { class: "num" }, s.travel),
              E.el("td", { class: "num" }, s.total),
            ),
          ),
        ),
        E.el("tfoot", {}, E.el("tr", {}, E.el("th", { scope: "row", colspan: "7" }, "合计 Total"), E.el("td", { class: "num", id: "fees-total" }, fees.total))),
      );
    }

    return { render };
  };
})();
