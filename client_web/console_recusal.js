// Recusals on the supervisor's console (回避与替补, 条例 Art. 48): the members' declarations to
// approve (at a venue the supervisor chooses, by default the recused seat's own) or decline with a
// reason. On approval the server logs seat.replaced (the next reserve takes a new seat) and
// answers with the new seat and its one-time enrolment code, never logged: shown here once as a
// handover note for that venue's staff, printable alone. Asking again with the same command id
// (kept in this tab) gives a fresh code while the new seat has not enrolled
// (server/domain/recusal.py, server/app/handlers/enrolment.py).
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = { declared: "待决定 To decide", declined: "未同意 Declined", approved: "已批准 Approved" };

  window.EvalroomRecusalDesk = function (ctx, staff, decisionCell) {
    const { $ } = ctx;
    const KEPT = `evalroom.recusal-approvals/${ctx.session}`; // recusal id -> approve command id

    function kept() {
      try {
        return JSON.parse(sessionStorage.getItem(KEPT) || "{}");
      } catch (_e) {
        return {};
      }
    }

    function keep(recusal, id) {
      sessionStorage.setItem(KEPT, JSON.stringify({ ...kept(), [recusal]: id }));
    }

    function venueName(view, id) {
      const found = ((view.lot && view.lot.venues) || []).find((v) => v.id === id);
      return found && found.name ? `${id} ${found.name}` : id;
    }

    function replacementOf(view, recusalSeat, seq) {
      return (view.replacements || []).find((r) => r.seat === recusalSeat && r.seq > seq) || null;
    }

    function venueSelect(view, id, r) {
      const own = view.seats[r.seat] ? view.seats[r.seat].venue : null;
      const venues = (view.lot && view.lot.venues) || [];
      const select = E.el(
        "select",
        { "aria-label": `${id} 替补席位的会场 Venue of the new seat`, "data-act": "venue" },
        ...venues.map((v) => E.el("option", { value: v.id }, `${venueName(view, v.id)}${v.id === own ? "（原会场 own）" : ""}`)),
      );
      if (own) select.value = own;
      return select;
    }

    function row(view, id, r) {
      let actions = E.el("td", { class: "actions" });
      const made = r.status === "approved" ? replacementOf(view, r.seat, r.seq) : null;
      if (r.status === "declared") {
        const select = venueSelect(view, id, r);
        actions = decisionCell(
          id,
          "批准并替补 Approve and replace",
          () => approve(view, id, r, select.value),
          (reason) => decline(id, r, reason),
        );
        actions.prepend(select, " ");
      } else if (made) {
        const seat = view.seats[made.by];
        actions.append(`替补席位 New seat ${made.by}`);
        if (seat && !seat.enrolled && kept()[id]) {
          actions.append(" ", E.el("button", { type: "button", "data-act": "code", onclick: () => again(id, r) }, "重新生成登记码 A new code"));
        }
      }
      return E.el(
        "tr",
        { "data-recusal": id, "data-status": r.status },
        E.el("td", {}, id),
        E.el("td", {}, r.seat),
        E.el("td", {}, r.reason),
        E.el("td", {}, STATUS[r.status] || r.status),
        actions,
      );
    }

    async function approve(view, id, r, venue) {
      const yes = await E.confirm(
        `批准 ${r.seat} 回避？候补专家将在会场 ${venueName(view, venue)} 的新席位替补，${r.seat} 的评分作废，其令牌和密钥失效。`,
        `Approve ${r.seat}'s recusal? A reserve takes a new seat at ${venue}; ${r.seat}'s scores are void and its token and key stop working.`,
      );
      if (!yes) return;
      const command = `recusal-${id}-${Date.now()}`;
      const answer = await staff("recusal.approve", { id: command, recusal: id, venue }, "console-error");
      if (answer && answer.ok) {
        keep(id, command);
        issued(id, r, answer, venue);
      }
    }

    async function decline(id, r, reason) {
      const yes = await E.confirm(`不同意 ${r.seat} 回避？理由：${reason}`, `Decline ${r.seat}'s recusal? The member stays on the committee.`);
      if (yes) staff("recusal.decline", { recusal: id, reason }, "console-error");
    }

    // The same approval again (its command id): the same seat, a fresh code.
    async function again(id, r) {
      const yes = await E.confirm("重新生成替补席位的一次性登记码？之前的登记码作废。", "Make a new one-time code for the new seat? The earlier code stops working.");
      if (!yes) return;
      const answer = await staff("recusal.approve", { id: kept()[id], recusal: id }, "console-error");
      if (answer && answer.ok) issued(id, r, answer, null);
    }

    function seatUrl(seat) {
      return `${location.origin}/seat/${encodeURIComponent(ctx.session)}/${encodeURIComponent(seat)}`;
    }

    // The handover note for the venue's staff: the new seat, its code and its address.
    function issued(id, r, answer, venue) {
      const box = $("recusal-issued");
      const url = seatUrl(answer.seat);
      const print = E.el("button", { type: "button", id: "recusal-print", class: "no-print" }, "打印交接单 Print the handover note");
      print.addEventListener("click", () => {
        document.body.classList.add("print-handover");
        window.print();
      });
      const pairs = [
        ["会话 Session", ctx.session],
        ["回避席位 Recused seat", `${r.seat}（${id}）`],
        ["替补席位 New seat", answer.seat, "issued-seat"],
        ...(venue ? [["会场 Venue", venue]] : []),
        ["一次性登记码 One-time code", answer.code || "—", "issued-code"],
        ["席位地址 Seat URL", E.el("a", { href: url, target: "_blank", rel: "noopener noreferrer", id: "issued-url" }, url)],
        ["时间 Time", new Date().toLocaleString("zh-CN")],
      ];
      const list = E.el("dl", { class: "handover-facts" });
      for (const [label, value, key] of pairs) list.append(E.el("dt", {}, label), E.el("dd", key ? { id: key } : {}, value));
      box.replaceChildren(
        E.el("h4", {}, "替补席位交接单 Handover note for the new seat"),
        list,
        E.el(
          "p",
          { class: "warning" },
          "登记码只能使用一次，只交给替补专家本人，在新席位的设备上打开上述地址并输入登记码；本页不再显示此码。",
          E.el("br"),
          E.el("small", { lang: "en" }, "The code works once: give it to the reserve expert only, who opens the address above on the new seat's device and types it. This page will not show it again."),
        ),
        print,
      );
      box.hidden = false;
    }

    // The table is built again only when a row would change: a reason being typed, or the venue
    // chosen, stays as it is while other events come in.
    let shown = null;
    function render(view) {
      const rows = Object.entries(view.recusals || {});
      $("console-recusal").hidden = rows.length === 0;
      const key = JSON.stringify([
        rows,
        (view.replacements || []).map((r) => [r.by, Boolean(view.seats[r.by] && view.seats[r.by].enrolled)]),
        Object.keys(kept()),
      ]);
      if (key === shown) return;
      shown = key;
      $("console-recusals").replaceChildren(
        E.el("tr", {}, ...["编号 No.", "席位 Seat", "理由 Reason", "状态 Status", "操作 Action"].map((h) => E.el("th", { scope: "col" }, h))),
        ...rows.map(([id, r]) => row(view, id, r)),
      );
    }

    window.addEventListener("afterprint", () => document.body.classList.remove("print-handover"));
    return { render };
  };
})();
