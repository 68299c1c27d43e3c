// Clarifications on the supervisor's console (澄清, 条例 Art. 52): the members' drafted questions
// to approve or decline with a reason, and the bidders' answers. On approval the server logs
// clarification.approved and answers with the bidder's token, for that question only; the page
// shows the bidder page's link with it (/bidder/{session}#token=…) to pass on through the
// platform. Asking again with the same command id (kept in this tab) gives the link again
// (server/domain/clarification.py, server/app/handlers/clarification.py).
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = {
    drafted: "待审核 To review",
    approved: "已发出，待答复 Sent: awaiting the answer",
    declined: "未同意 Declined",
    answered: "已答复 Answered",
  };

  window.EvalroomClarificationDesk = function (ctx, staff, decisionCell) {
    const { $ } = ctx;
    const KEPT = `evalroom.clarification-approvals/${ctx.session}`; // clarification id -> command id

    function kept() {
      try {
        return JSON.parse(sessionStorage.getItem(KEPT) || "{}");
      } catch (_e) {
        return {};
      }
    }

    function bidderText(view, id) {
      const name = E.bidderName(view.lot, id);
      return name ? `${id} ${name}` : id;
    }

    function row(view, id, c) {
      let actions = E.el("td", { class: "actions" });
      if (c.status === "drafted") {
        actions = decisionCell(
          id,
          "批准并发出 Approve and send",
          () => approve(view, id, c),
          (reason) => decline(id, reason),
        );
      } else if (c.status === "approved" && kept()[id]) {
        actions.append(E.el("button", { type: "button", "data-act": "link", onclick: () => link(view, id, c, kept()[id]) }, "再次显示投标人链接 Show the bidder link again"));
      }
      const answer = c.status === "answered" ? c.answer : c.status === "declined" ? `（未发出 not sent）${c.answer || ""}` : "—";
      return E.el(
        "tr",
        { "data-clarification": id, "data-status": c.status },
        E.el("td", {}, id),
        E.el("td", {}, c.seat),
        E.el("td", {}, bidderText(view, c.bidder)),
        E.el("td", { class: "clar-question" }, c.question),
        E.el("td", {}, STATUS[c.status] || c.status),
        E.el("td", { class: "clar-answer" }, answer),
        actions,
      );
    }

    async function approve(view, id, c) {
      const yes = await E.confirm(
        `批准澄清问题 ${id} 并发给 ${bidderText(view, c.bidder)}？投标人将凭链接阅读并答复这一个问题。`,
        `Approve clarification ${id} and send it to ${c.bidder}? The bidder reads and answers this one question through its link.`,
      );
      if (!yes) return;
      const command = `clarification-${id}-${Date.now()}`;
      const answer = await staff("clarification.approve", { id: command, clarification: id }, "console-error");
      if (answer && answer.ok) {
        sessionStorage.setItem(KEPT, JSON.stringify({ ...kept(), [id]: command }));
        issued(view, id, c, answer.token);
      }
    }

    async function decline(id, reason) {
      const yes = await E.confirm(`不同意发出澄清问题 ${id}？理由：${reason}`, "Decline this clarification? It is not sent to the bidder.");
      if (yes) staff("clarification.decline", { clarification: id, reason }, "console-error");
    }

    async function link(view, id, c, command) {
      const answer = await staff("clarification.approve", { id: command, clarification: id }, "console-error");
      if (answer && answer.ok) issued(view, id, c, answer.token);
    }

    function issued(view, id, c, token) {
      const url = `${location.origin}/bidder/${encodeURIComponent(ctx.session)}#token=${token}`;
      $("clar-issued").replaceChildren(
        E.el("p", {}, `${id} 已批准。请通过平台将以下链接发给 ${bidderText(view, c.bidder)}（链接只打开这一个问题）：`,
          E.el("br"), E.el("small", { lang: "en" }, `${id} approved. Pass this link to the bidder through the platform (it opens this one question only):`)),
        E.el("p", { class: "issued-link" }, E.el("a", { href: url, target: "_blank", rel: "noopener noreferrer", id: "clar-link" }, url)),
      );
      $("clar-issued").hidden = false;
    }

    let shown = null;
    function render(view) {
      const rows = Object.entries(view.clarifications || {}).sort((a, b) => a[1].seq - b[1].seq);
      $("console-clarification").hidden = rows.length === 0;
      const key = JSON.stringify([rows, Object.keys(kept())]);
      if (key === shown) return;
      shown = key;
      $("console-clarifications").replaceChildren(
        E.el("tr", {}, ...["编号 No.", "提出 By", "投标人 Bidder", "问题 Question", "状态 Status", "答复 Answer", "操作 Action"].map((h) => E.el("th", { scope: "col" }, h))),
        ...rows.map(([id, c]) => row(view, id, c)),
      );
    }

    return { render };
  };
})();
