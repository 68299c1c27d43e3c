// The committee's steps at a seat (评标委员会): the chair election (组长推选), the chair's close of
// the blind part, the flags on this seat's scores with the explanation form and the objective
// corrections after a mismatch, rejection proposals on a ground of 条例 Art. 51 and the votes,
// and the request for more time (Art. 48). Each is a signed command, decided by the server
// (server/domain/committee.py); this panel only shows the committee's state as the seat's view
// has it (common.js folds the committee events) and the flags the server answers to `results`.
"use strict";

(function () {
  const E = window.Evalroom;

  const GROUNDS = E.GROUNDS;
  const STATUS = {
    proposed: "待监督审核 Awaiting the supervisor",
    approved: "表决中 Voting",
    declined: "监督未同意 Declined by the supervisor",
    rejected: "已否决 Rejected",
    kept: "未否决 Kept",
  };
  const DECISION_PHASES = ["sign_in", "scoring", "review"];

  window.EvalroomSeatCommittee = function (ctx) {
    const { $, seat } = ctx;
    let flags = []; // this seat's flags (server `results`), refreshed on the events that move them
    let flagsTimer = null;

    function committee() {
      const v = ctx.view();
      return (v && v.committee) || null;
    }

    function me() {
      const v = ctx.view();
      return (v && v.seats && v.seats[seat]) || {};
    }

    // A signed committee command; errors show in the panel, in zh-CN and English.
    async function run(type, fields, errorId) {
      $(errorId).textContent = "";
      const envelope = await ctx.signedEnvelope(type, fields);
      const answer = await ctx.enqueue(envelope, null);
      if (answer && !answer.ok) $(errorId).textContent = ctx.errorText(answer.error);
      return answer;
    }

    // ---- chair ----
    function renderChair(com, open) {
      const chair = com.chair;
      const voted = com.chair_votes[seat];
      $("chair-state").textContent = chair
        ? `组长 Chair: ${chair}${chair === seat ? "（您 you）" : ""}`
        : voted
          ? `第 ${com.chair_round} 轮已投票给 ${voted} · Round ${com.chair_round}: you voted for ${voted}; waiting for the others`
          : `第 ${com.chair_round} 轮推选组长 · Round ${com.chair_round} of the chair election`;
      $("chair-form").hidden = !!chair || !!voted || !open;
      const select = $("chair-candidate");
      const seats = Object.keys(ctx.view().seats || {});
      if (E.optionsDiffer(select, seats)) {
        select.replaceChildren(...seats.map((s) => E.el("option", { value: s }, s === seat ? `${s}（本席 this seat）` : s)));
      }
      const v = ctx.view();
      const blind = v.blind;
      $("blind-close").hidden = !(chair === seat && v.phase === "scoring" && blind && !blind.revealed);
      $("blind-close").disabled = !ctx.connected();
    }

    // ---- flags ----
    function cellName(f) {
      const lot = ctx.view().lot;
      const head = f.bidder ? `${f.bidder} ${E.bidderName(lot, f.bidder)}` : `编号 Code ${f.code}`;
      const c = E.typedCriteria(lot).find((x) => x.id === f.criterion);
      return `${head} · ${f.criterion}${c && c.name ? " " + c.name : ""}`;
    }

    function explained(f) {
      return (committee().explanations || []).some(
        (e) => e.seat === seat && e.criterion === f.criterion && ((f.code && e.code === f.code) || (f.bidder && e.bidder === f.bidder)),
      );
    }

    function mine(f) {
      if (f.kind === "deviation") return f.seat === seat;
      if (!f.values) return true; // an expert's own mismatch flags come without the others' values
      return Object.values(f.values).some((seats) => seats.includes(seat));
    }

    function flagKey(f) {
      return `${f.kind}:${f.code || f.bidder}/${f.criterion}`;
    }

    function renderFlags() {
      const list = $("my-flags");
      const own = flags.filter(mine);
      $("flags-panel").hidden = own.length === 0;
      const keep = new Set();
      for (const f of own) {
        const key = flagKey(f);
        keep.add(key);
        let item = list.querySelector(`li[data-flag="${CSS.escape(key)}"]`);
        if (!item) {
          item = buildFlag(f, key);
          list.append(item);
        }
        const done = f.kind === "deviation" ? f.explained : explained(f);
        item.dataset.explained = done ? "yes" : "no";
        item.querySelector(".flag-state").textContent = done ? "已说明 Explained" : "待说明 Explanation needed";
        item.querySelector("form").hidden = done;
      }
      for (const item of [...list.children]) if (!keep.has(item.dataset.flag)) item.remove();
    }

    function buildFlag(f, key) {
      const text = E.el("textarea", { rows: "2", lang: "zh-CN", maxlength: "2000", "aria-label": `说明 Explanation ${cellName(f)}` });
      const error = E.el("span", { class: "error" });
      const form = E.el(
        "form",
        { class: "flag-form" },
        text,
        E.el("button", { type: "submit" }, "提交说明 Submit explanation"),
        error,
      );
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const body = text.value.trim();
        if (!body) {
          error.textContent = "请填写说明 Write the explanation first";
          return;
        }
        const head = f.code ? { code: f.code } : { bidder: f.bidder };
        error.textContent = "";
        const envelope = await ctx.signedEnvelope("flag.explain", { ...head, criterion: f.criterion, text: body });
        const answer = await ctx.enqueue(envelope, null);
        if (answer && !answer.ok) error.textContent = ctx.errorText(answer.error);
        else refreshFlags();
      });
      const what =
        f.kind === "deviation"
          ? "您的评分与委员会平均分偏差较大，请说明理由。Your score is far from the committee's mean: explain it."
          : "客观分与其他专家不一致，请核对原始文件并在评分表中更正，或说明理由。Your objective value differs from another expert's: check the documents and correct it in the sheet, or explain it.";
      const item = E.el(
        "li",
        { "data-flag": key, "data-kind": f.kind },
        E.el("strong", {}, cellName(f)),
        " ",
        E.el("span", { class: "flag-state" }),
        E.el("p", {}, what),
      );
      if (f.kind === "mismatch") {
        const cell = `${f.code || f.bidder}/${f.criterion}`;
        item.append(E.el("button", { type: "button", class: "flag-correct", onclick: () => ctx.focusCell(cell) }, "去更正 Go to the cell"));
      }
      item.append(form);
      return item;
    }

    async function refreshFlags() {
      const v = ctx.view();
      if (!v || !ctx.connected() || !["scoring", "review"].includes(v.phase)) {
        flags = [];
        renderFlags();
        return;
      }
      const answer = await ctx.call("results", {});
      if (answer && answer.ok) flags = answer.flags || [];
      renderFlags();
      ctx.render();
    }

    // Another seat's score can move this seat's flags (the committee mean), but asking on each
    // of them would spend the seat's read budget: those wait 2 s, this seat's own events 300 ms.
    let flagsDue = Infinity;
    function scheduleFlags(delay) {
      const due = Date.now() + delay;
      if (flagsTimer && due >= flagsDue) return;
      clearTimeout(flagsTimer);
      flagsDue = due;
      flagsTimer = setTimeout(() => {
        flagsTimer = null;
        flagsDue = Infinity;
        refreshFlags().catch(() => {});
      }, delay);
    }

    // Cells this seat may still change after submitting or in review: its objective values in
    // a mismatch (server/domain/scoring.py check_score).
    function correctable() {
      return new Set(flags.filter((f) => f.kind === "mismatch" && mine(f)).map((f) => `${f.code || f.bidder}/${f.criterion}`));
    }

    // ---- rejection ----
    function renderRejection(com, open) {
      const v = ctx.view();
      const lot = v.lot;
      const bidders = E.bidderIds(lot);
      const select = $("rejection-bidder");
      if (select.options.length !== bidders.length) {
        select.replaceChildren(...bidders.map((b) => E.el("option", { value: b }, `${b} ${E.bidderName(lot, b)}`)));
      }
      const grounds = $("rejection-ground");
      if (!grounds.options.length) {
        grounds.replaceChildren(...GROUNDS.map(([id, zh, en]) => E.el("option", { value: id }, `${zh} / ${en}`)));
      }
      $("rejection-form").hidden = !open;
      const table = $("proposals");
      const rows = Object.entries(com.proposals || {});
      table.hidden = rows.length === 0;
      table.replaceChildren(
        E.el("tr", {}, ...["编号 No.", "投标人 Bidder", "理由 Ground", "提议 By", "状态 Status", "表决 Vote"].map((h) => E.el("th", {}, h))),
        ...rows.map(([id, p]) => proposalRow(id, p, lot, open)),
      );
    }

    function proposalRow(id, p, lot, open) {
      const ground = GROUNDS.find((g) => g[0] === p.ground);
      const votes = p.votes || {};
      const cell = E.el("td", { class: "vote-cell" });
      if (votes[seat]) cell.append(`已投 ${votes[seat] === "yes" ? "同意否决 yes" : "不同意 no"}`);
      else if (p.status === "approved" && open) {
        for (const [vote, label] of [["yes", "同意否决 Reject"], ["no", "不同意 Keep"]]) {
          cell.append(E.el("button", {
            type: "button",
            "data-vote": vote,
            onclick: () => run("rejection.vote", { proposal: id, vote }, "rejection-error"),
          }, label), " ");
        }
      }
      return E.el(
        "tr",
        { "data-proposal": id, "data-status": p.status },
        E.el("td", {}, id),
        E.el("td", {}, `${p.bidder} ${E.bidderName(lot, p.bidder)}`),
        E.el("td", { title: p.reason || "" }, ground ? ground[1] : p.ground, E.el("br"), E.el("small", {}, p.reason || "")),
        E.el("td", {}, p.seat),
        E.el("td", {}, STATUS[p.status] || p.status),
        cell,
      );
    }

    // ---- time ----
    function renderTime(com, open) {
      const t = com.time || { round: 1, requests: [], extensions: 0 };
      const asked = t.requests.includes(seat);
      $("time-state").textContent =
        `已延长 ${t.extensions} 次 · Extended ${t.extensions} time(s)` +
        (asked ? ` · 本轮您已提出 You asked in round ${t.round}` : "");
      $("time-form").hidden = asked || !open;
    }

    // ---- reopening one's own submitted sheet (回退, server/domain/rollback.py) ----
    const REOPEN = { requested: "已申请，等待监督人员批准 Asked; waiting for a supervisor", approved: "已批准，评分表已重新打开 Approved: the sheet is open again", declined: "未同意 Declined" };
    function renderReopen(v, open) {
      const mine = Object.values(v.rollbacks || {}).filter((r) => r.kind === "sheet" && r.seats[0] === seat);
      const last = mine.sort((a, b) => b.seq - a.seq)[0];
      const scoring = v.phase === "scoring";
      $("reopen-panel").hidden = !scoring || (!me().submitted && !last);
      $("reopen-state").textContent = last ? `${REOPEN[last.status] || last.status} · ${last.reason}` : "";
      $("reopen-form").hidden = !scoring || !me().submitted || (last && last.status === "requested") || !open;
    }

    function render() {
      const v = ctx.view();
      const com = committee();
      const section = $("committee");
      section.hidden = !v || !com || !DECISION_PHASES.includes(v.phase) || !me().signed_in;
      if (section.hidden) return;
      const open = ctx.connected();
      renderChair(com, open);
      renderRejection(com, open);
      renderTime(com, open);
      renderReopen(v, open);
      renderFlags();
      for (const button of section.querySelectorAll("form button")) button.disabled = !open;
    }

    // ---- wiring ----
    $("chair-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const com = committee();
      run("chair.vote", { round: com.chair_round, candidate: $("chair-candidate").value }, "chair-error");
    });
    $("blind-close").addEventListener("click", async () => {
      const yes = await E.confirm(
        "结束暗标评审并揭晓编号？揭晓后暗标评分不可更改。",
        "Close the blind part and reveal the codes? Blind scores cannot change afterwards.",
      );
      if (yes) run("blind.close", {}, "chair-error");
    });
    $("rejection-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const reason = $("rejection-reason").value.trim();
      if (!reason) {
        $("rejection-error").textContent = "请填写否决理由 Write the reason first";
        return;
      }
      run("rejection.propose", { bidder: $("rejection-bidder").value, ground: $("rejection-ground").value, reason }, "rejection-error").then(
        (answer) => {
          if (answer && answer.ok) $("rejection-reason").value = "";
        },
      );
    });
    $("time-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const reason = $("time-reason").value.trim();
      run("time.request", reason ? { reason } : {}, "time-error");
    });

    $("reopen-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = $("reopen-reason").value.trim();
      if (!reason) {
        $("reopen-error").textContent = "请填写理由 Write the reason first";
        return;
      }
      const yes = await E.confirm("申请重新打开已提交的评分表？须监督人员批准。", "Ask to reopen your submitted sheet? A supervisor approves.");
      if (!yes) return;
      const answer = await run("rollback.request", { what: "sheet", reason }, "reopen-error");
      if (answer && answer.ok) $("reopen-reason").value = "";
    });

    const MOVES_FLAGS = new Set(["score.set", "sheet.submitted", "phase.changed", "flag.explained", "blind.revealed", "hidden"]);
    return {
      render,
      correctable,
      refreshFlags: () => refreshFlags().catch(() => {}),
      onEvent: (ev) => {
        if (!MOVES_FLAGS.has(ev.type)) return;
        const own = ev.type !== "hidden" && (!ev.data || !ev.data.seat || ev.data.seat === seat);
        scheduleFlags(own ? 300 : 2000);
      },
    };
  };
})();
