// Clarification at the seat (澄清, 条例 Art. 52), on seat.html under #clarification: a member
// drafts a written question to one bidder (a signed clarification.draft, in scoring or review,
// never while blind codes are open: a question names its bidder); a supervisor approves it and
// passes it on, and the bidder answers. Every member sees the committee's questions with their
// status and answers (view.clarifications, server/domain/clarification.py).
"use strict";

(function () {
  const E = window.Evalroom;
  const PHASES = ["scoring", "review"];
  const STATUS = {
    drafted: "待监督审核 Awaiting a supervisor",
    approved: "已发出，待投标人答复 Sent: awaiting the bidder's answer",
    declined: "监督未同意 Declined by a supervisor",
    answered: "已答复 Answered",
  };
  const MAX_QUESTION = 2000; // server/domain/clarification.py MAX_QUESTION

  window.EvalroomSeatClarification = function (ctx) {
    const { $, seat } = ctx;

    function blindOpen(v) {
      return Boolean(v.blind && !v.blind.revealed);
    }

    function bidderText(lot, id) {
      const name = E.bidderName(lot, id);
      return name ? `${id} ${name}` : id;
    }

    function row(id, c, lot) {
      const answer = c.status === "answered"
        ? E.el("td", { class: "clar-answer" }, c.answer)
        : c.status === "declined"
          ? E.el("td", {}, E.el("small", {}, `未发出的理由 Why not sent: ${c.answer || ""}`))
          : E.el("td", {}, "—");
      return E.el(
        "tr",
        { "data-clarification": id, "data-status": c.status },
        E.el("td", {}, id),
        E.el("td", {}, bidderText(lot, c.bidder)),
        E.el("td", { class: "clar-question" }, c.question),
        E.el("td", {}, c.seat === seat ? `${c.seat}（本席 this seat）` : c.seat),
        E.el("td", {}, STATUS[c.status] || c.status),
        answer,
      );
    }

    function render() {
      const v = ctx.view();
      const me = (v && v.seats && v.seats[seat]) || null;
      const all = (v && v.clarifications) || null;
      const section = $("clarification");
      const rows = Object.entries(all || {}).sort((a, b) => a[1].seq - b[1].seq);
      section.hidden = !v || !me || !all || !me.signed_in || (!PHASES.includes(v.phase) && !rows.length);
      if (section.hidden) return;
      const lot = v.lot;
      const select = $("clar-bidder");
      const bidders = E.bidderIds(lot);
      if (select.options.length !== bidders.length) {
        select.replaceChildren(...bidders.map((b) => E.el("option", { value: b }, bidderText(lot, b))));
      }
      const blind = blindOpen(v);
      const open = PHASES.includes(v.phase) && !blind && !v.sealed;
      $("clar-form").hidden = !open;
      $("clar-blind").hidden = !(PHASES.includes(v.phase) && blind);
      $("clar-send").disabled = !ctx.connected();
      const table = $("clar-list");
      table.hidden = rows.length === 0;
      table.replaceChildren(
        E.el("caption", {}, "委员会的澄清问题 The committee's clarifications"),
        E.el("tr", {}, ...["编号 No.", "投标人 Bidder", "问题 Question", "提出 By", "状态 Status", "答复 Answer"].map((h) => E.el("th", { scope: "col" }, h))),
        ...rows.map(([id, c]) => row(id, c, lot)),
      );
    }

    $("clar-question").addEventListener("input", () => {
      $("clar-error").textContent = "";
    });
    $("clar-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const question = $("clar-question").value.trim();
      const bidder = $("clar-bidder").value;
      $("clar-error").textContent = "";
      if (!question) {
        $("clar-error").textContent = "请填写问题 Write the question first";
        $("clar-question").focus();
        return;
      }
      if ([...question].length > MAX_QUESTION) {
        $("clar-error").textContent = `问题最多 ${MAX_QUESTION} 字 A question is at most ${MAX_QUESTION} characters`;
        return;
      }
      const lot = ctx.view().lot;
      const yes = await E.confirm(
        `向 ${bidderText(lot, bidder)} 提出澄清问题？问题经监督人员批准后才发给投标人，记入日志后不可撤回。`,
        "Draft this clarification to the bidder? A supervisor approves it before the bidder sees it; once logged it cannot be withdrawn.",
      );
      if (!yes) return;
      const envelope = await ctx.signedEnvelope("clarification.draft", { bidder, question });
      const answer = await ctx.enqueue(envelope, null);
      if (answer && !answer.ok) $("clar-error").textContent = ctx.errorText(answer.error);
      else if (answer) $("clar-question").value = "";
    });

    return { render };
  };
})();
