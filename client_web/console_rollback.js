// Roll-backs (回退) on the supervisor's console: the open requests to approve or decline (a sheet an
// expert asks to reopen, review taken back to scoring), and the request to go back to scoring.
// The server decides (server/domain/rollback.py): a supervisor's own request to go back is
// approved by the other supervisor, and every roll-back is a new event naming what it undoes.
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = { requested: "待审核 To review", approved: "已批准 Approved", declined: "未同意 Declined" };
  const KIND = { sheet: "重新打开评分表 Reopen a sheet", phase: "退回评分阶段 Back to scoring" };

  window.EvalroomRollbackDesk = function (ctx, staff, decisionCell) {
    const { $ } = ctx;

    function row(id, r) {
      let actions = E.el("td", { class: "actions" });
      if (r.status === "requested" && r.kind === "phase" && r.by === ctx.actor) {
        actions.append(E.el("small", { "data-act": "other" }, "由另一监督人员批准 The other supervisor approves"));
      } else if (r.status === "requested") {
        actions = decisionCell(
          id,
          "批准 Approve",
          () => approve(id, r),
          (reason) => staff("rollback.decline", { rollback: id, reason }, "console-error"),
        );
      }
      return E.el(
        "tr",
        { "data-rollback": id, "data-status": r.status },
        E.el("td", {}, id),
        E.el("td", {}, KIND[r.kind] || r.kind),
        E.el("td", {}, r.seats.join(", ")),
        E.el("td", {}, r.reason),
        E.el("td", {}, r.by),
        E.el("td", {}, STATUS[r.status] || r.status),
        actions,
      );
    }

    async function approve(id, r) {
      const what = r.kind === "phase" ? `退回评分阶段并重新打开 ${r.seats.join(", ")} 的评分表？` : `重新打开 ${r.seats[0]} 的评分表？`;
      const yes = await E.confirm(what, "Approve this roll-back? It is logged as new events; nothing earlier is removed.");
      if (yes) staff("rollback.approve", { rollback: id }, "console-error");
    }

    function render(view) {
      const rows = Object.entries(view.rollbacks || {});
      $("console-rollbacks").hidden = rows.length === 0;
      $("console-rollbacks").replaceChildren(
        E.el("tr", {}, ...["编号 No.", "内容 What", "席位 Seats", "理由 Reason", "申请 By", "状态 Status", "操作 Action"].map((h) => E.el("th", {}, h))),
        ...rows.map(([id, r]) => row(id, r)),
      );
      const open = view.phase === "review" && !view.report && !view.paused;
      $("console-back").hidden = !open;
      const listed = [...$("back-seats").querySelectorAll("input")].map((box) => box.value).join("\n");
      if (open && listed !== Object.keys(view.seats || {}).join("\n")) {
        $("back-seats").replaceChildren(
          ...Object.keys(view.seats || {}).map((seat) =>
            E.el("label", {}, E.el("input", { type: "checkbox", value: seat }), ` ${seat} `),
          ),
        );
      }
    }

    $("back-button").addEventListener("click", async () => {
      const reason = $("back-reason").value.trim();
      const seats = [...$("back-seats").querySelectorAll("input:checked")].map((box) => box.value);
      if (!reason || !seats.length) {
        $("console-error").textContent = "请填写理由并选择要重新打开的评分表 Write a reason and choose the sheets to reopen";
        return;
      }
      const yes = await E.confirm(`申请退回评分阶段，重新打开 ${seats.join(", ")} 的评分表？`, "Ask to go back to scoring? The other supervisor approves.");
      if (!yes) return;
      const answer = await staff("phase.rollback", { reason, seats }, "console-error");
      if (answer && answer.ok) $("back-reason").value = "";
    });

    return { render };
  };
})();
