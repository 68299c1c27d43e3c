// The supervisor's controls (监督控制台): the expert draw (draw.js: who has committed and revealed,
// the seed, and the supervisors' own share), the committee's state with the rejection proposals
// to approve or decline, closing the blind part, issuing the evaluation report, and the flags
// grouped by kind with the experts' explanations. Each other concept has a desk of its own:
// roll-backs, seat recovery, conduct, inspection, recusals, clarifications and the fees
// (console_*.js). Staff commands are unsigned (the supervisor's
// token stands for them); the server decides (server/domain/commands.py) and logs each one.
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = {
    proposed: "待审核 To review",
    approved: "表决中 Voting",
    declined: "未同意 Declined",
    rejected: "已否决 Rejected",
    kept: "未否决 Kept",
  };
  const FLAG_LABELS = { deviation: "偏离 Deviation", mismatch: "客观分不一致 Objective mismatch" };

  function groundText(id) {
    const found = E.GROUNDS.find((g) => g[0] === id);
    return found ? `${found[1]} / ${found[2]}` : id;
  }

  window.EvalroomConsole = function (ctx) {
    const { $ } = ctx;
    let counter = 0;

    async function staff(type, fields, errorId) {
      $(errorId).textContent = "";
      counter += 1;
      const answer = await ctx.call("command", { id: `supervisor-${Date.now()}-${counter}`, type, ...fields });
      if (answer && !answer.ok) $(errorId).textContent = ctx.errorText(answer.error);
      return answer;
    }

    // Approve, or decline with a reason: the actions of a request the supervisor decides on
    // (rejection proposals here, roll-backs in console_rollback.js).
    function decisionCell(id, approveLabel, approve, decline) {
      const reason = E.el("input", { "aria-label": `不同意的理由 Reason to decline ${id}`, placeholder: "不同意的理由 Reason to decline", maxlength: "2000" });
      const declineButton = E.el("button", {
        type: "button",
        "data-act": "decline",
        onclick: () => {
          if (!reason.value.trim()) {
            $("console-error").textContent = "请填写不同意的理由 Write the reason to decline";
            return;
          }
          decline(reason.value.trim());
        },
      }, "不同意 Decline");
      const approveButton = E.el("button", { type: "button", "data-act": "approve", onclick: approve }, approveLabel);
      return E.el("td", { class: "actions" }, approveButton, " ", reason, " ", declineButton);
    }

    const rollbacks = window.EvalroomRollbackDesk(ctx, staff, decisionCell);
    const recovery = window.EvalroomRecoveryDesk(ctx, staff);
    const conduct = window.EvalroomConductDesk(ctx, staff);
    const inspection = window.EvalroomInspectionDesk(ctx);
    const recusals = window.EvalroomRecusalDesk(ctx, staff, decisionCell);
    const clarifications = window.EvalroomClarificationDesk(ctx, staff, decisionCell);
    const fees = window.EvalroomFeesDesk(ctx);
    // The supervisors hold one share of the draw between them (server/domain/draw_session.py).
    const draw = window.EvalroomDraw.panel({
      container: $("draw-panel"),
      participant: window.EvalroomDraw.SUPERVISORS,
      call: ctx.call,
      connected: ctx.connected,
      errorText: ctx.errorText,
    });

    function proposalRow(id, p, lot, members) {
      const votes = Object.values(p.votes || {});
      const yes = votes.filter((v) => v === "yes").length;
      const actions = p.status === "proposed"
        ? decisionCell(
          id,
          "同意表决 Approve for vote",
          () => staff("rejection.approve", { proposal: id }, "console-error"),
          (reason) => staff("rejection.decline", { proposal: id, reason }, "console-error"),
        )
        : E.el("td", { class: "actions" });
      return E.el(
        "tr",
        { "data-proposal": id, "data-status": p.status },
        E.el("td", {}, id),
        E.el("td", {}, `${p.bidder} ${E.bidderName(lot, p.bidder)}`),
        E.el("td", {}, groundText(p.ground), E.el("br"), E.el("small", {}, p.reason || "")),
        E.el("td", {}, p.seat),
        E.el("td", {}, STATUS[p.status] || p.status),
        E.el("td", {}, `${votes.length} / ${members}（同意 yes ${yes}）`),
        actions,
      );
    }

    function renderCommittee(view) {
      $("draw-section").hidden = !view.draw;
      draw.render(view);
      const com = view.committee;
      if (!com) return;
      const members = Object.keys(view.seats || {}).length;
      $("console-chair").textContent = com.chair
        ? `组长 Chair: ${com.chair}`
        : `组长未产生 No chair yet · 第 ${com.chair_round} 轮 round ${com.chair_round}: ${Object.keys(com.chair_votes).length} / ${members} 已投 voted`;
      const t = com.time;
      $("console-time").textContent = `时间不足请求 Time requests ${t.requests.length} / ${members}（第 ${t.round} 轮 round ${t.round}）· 已延长 Extended ${t.extensions}`;
      const rows = Object.entries(com.proposals || {});
      $("console-proposals").hidden = rows.length === 0;
      $("console-proposals").replaceChildren(
        E.el("tr", {}, ...["编号 No.", "投标人 Bidder", "理由 Ground", "提议 By", "状态 Status", "表决 Votes", "操作 Action"].map((h) => E.el("th", {}, h))),
        ...rows.map(([id, p]) => proposalRow(id, p, view.lot, members)),
      );
      const blind = view.blind;
      $("console-blind").hidden = !(view.phase === "scoring" && blind && !blind.revealed);
      const report = view.report;
      $("console-report").hidden = view.phase !== "review";
      $("console-report-state").textContent = report
        ? `已出具 Issued · SHA-256 ${report.hash.slice(0, 16)}… · 签署 Signatures ${Object.keys(report.signatures || {}).length} / ${members}`
        : "尚未出具 Not issued yet";
      $("console-report-button").textContent = report ? "重新出具报告 Issue again" : "出具评标报告 Issue the report";
      rollbacks.render(view);
      recovery.render(view);
      conduct.render(view);
      inspection.render(view);
      recusals.render(view);
      clarifications.render(view);
      fees.render(view);
      for (const b of $("console").querySelectorAll("button")) b.disabled = !ctx.connected();
      renderPause(view);
    }

    // Pause and resume (暂停评标): a reason is required to pause; nothing moves on while paused.
    // A fault's pause runs the fault rule's clock (server/domain/faults.py): shown with its deadline.
    function renderPause(view) {
      const paused = view.paused;
      const running = ["sign_in", "scoring", "review"].includes(view.phase);
      $("pause").hidden = (!running && !paused) || Boolean(view.sealed);
      $("pause-state").textContent = paused
        ? `已暂停 Paused · ${clock(paused.since)} · ${paused.reason || ""}${faultText(view)}`
        : "进行中 Running";
      $("pause-state").dataset.paused = paused ? "yes" : "no";
      $("pause-state").className = paused ? "paused" : "";
      $("pause-reason-label").hidden = Boolean(paused);
      $("pause-fault-label").hidden = Boolean(paused);
      $("pause-button").hidden = Boolean(paused);
      $("pause-reason").hidden = Boolean(paused);
      $("resume-button").hidden = !paused;
      $("pause-button").disabled = $("resume-button").disabled = !ctx.connected();
    }

    function clock(ms) {
      return new Date(ms).toLocaleTimeString("zh-CN", { hour12: false });
    }

    // The fault rule's next step, as server/domain/faults.py deadline() computes it.
    function faultText(view) {
      const paused = view.paused;
      if (!paused.fault) return "";
      if (paused.referred) return ` · 故障已于 ${clock(paused.referred)} 转交招标人决定 Fault referred to the tenderer`;
      const minutes = { before_start_minutes: 120, during_minutes: 240, ...((view.lot && view.lot.faults) || {}) };
      if (view.phase === "sign_in") {
        const at = paused.since + minutes.before_start_minutes * 60000;
        return ` · 故障：${clock(at)} 前未排除则转交招标人决定 Fault: unless fixed by then, the tenderer decides`;
      }
      const at = paused.since + minutes.during_minutes * 60000;
      return ` · 故障：${clock(at)} 前未排除则封存全部资料、重新组建评标委员会 Fault: unless fixed by then, the session is sealed`;
    }

    $("pause-button").addEventListener("click", async () => {
      const reason = $("pause-reason").value.trim();
      if (!reason) {
        $("advance-error").textContent = ctx.errorText({ code: "reason_required" });
        return;
      }
      const fault = $("pause-fault").checked;
      const kind = fault ? "因技术故障暂停评标" : "暂停评标";
      const yes = await E.confirm(`${kind}？原因：${reason}`, "Pause the evaluation? Every expert's scoring stops until it resumes.");
      if (!yes) return;
      const answer = await staff("session.pause", fault ? { reason, fault } : { reason }, "advance-error");
      if (answer && answer.ok) {
        $("pause-reason").value = "";
        $("pause-fault").checked = false;
      }
    });
    $("resume-button").addEventListener("click", async () => {
      const yes = await E.confirm("恢复评标？", "Resume the evaluation?");
      if (yes) staff("session.resume", {}, "advance-error");
    });

    // Flags grouped by kind, sorted by bidder and criterion, with the explanations given.
    function renderFlags(flags, view) {
      const explanations = (view.committee && view.committee.explanations) || [];
      const sorted = [...flags].sort((a, b) =>
        (a.kind + (a.bidder || "") + a.criterion + (a.seat || "")).localeCompare(b.kind + (b.bidder || "") + b.criterion + (b.seat || "")),
      );
      const rows = [];
      for (const kind of ["deviation", "mismatch"]) {
        const group = sorted.filter((f) => f.kind === kind);
        if (!group.length) continue;
        const open = group.filter((f) => !explainedBy(f, explanations).length).length;
        rows.push(E.el("tr", { class: "group" }, E.el("th", { colspan: "5" }, `${FLAG_LABELS[kind]} · ${group.length}（待说明 unexplained ${open}）`)));
        for (const f of group) {
          const said = explainedBy(f, explanations);
          rows.push(
            E.el(
              "tr",
              { "data-kind": f.kind, "data-explained": said.length ? "yes" : "no" },
              E.el("td", {}, `${f.bidder || ""} ${E.bidderName(view.lot, f.bidder)}`),
              E.el("td", {}, f.criterion),
              E.el("td", {}, f.kind === "deviation" ? f.seat : Object.values(f.values || {}).flat().join(", ")),
              E.el("td", {}, f.kind === "deviation"
                ? `${f.score}（均值 mean ${f.mean}）`
                : Object.entries(f.values || {}).map(([v, seats]) => `${v}: ${seats.join(", ")}`).join(" · ")),
              E.el("td", {}, said.length ? said.map((e) => `${e.seat}: ${e.text}`).join(" / ") : "—"),
            ),
          );
        }
      }
      $("flags").replaceChildren(
        E.el("tr", {}, ...["投标人 Bidder", "评审项 Item", "席位 Seat", "详情 Details", "说明 Explanation"].map((h) => E.el("th", {}, h))),
        ...rows,
      );
    }

    function explainedBy(f, explanations) {
      return explanations.filter(
        (e) => e.bidder === f.bidder && e.criterion === f.criterion && (f.kind !== "deviation" || e.seat === f.seat),
      );
    }

    $("console-blind").addEventListener("click", async () => {
      const yes = await E.confirm("结束暗标评审并揭晓编号？揭晓后暗标评分不可更改。", "Close the blind part and reveal the codes? Blind scores cannot change afterwards.");
      if (yes) staff("blind.close", {}, "console-error");
    });
    $("console-report-button").addEventListener("click", async () => {
      const yes = await E.confirm("出具评标报告？各成员将签署该报告。", "Issue the evaluation report? Every member will then sign it.");
      if (yes) staff("report.issue", {}, "console-error");
    });

    return { render: renderCommittee, renderFlags };
  };
})();
