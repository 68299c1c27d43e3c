// Recusal at the seat (回避, 条例 Art. 48), on seat.html under #recusal: the expert declares a
// conflict of interest with its reason (a signed recusal.declare, in sign-in or scoring, asked
// first), and follows its own declaration (declared, declined with the supervisor's reason,
// approved). Once a supervisor approves, seat.replaced takes a reserve to a new seat and this
// seat's tokens are revoked: the page says so and stops (server/domain/recusal.py). seat.js
// creates it with the page's helpers and calls render / onEvent / replaced.
"use strict";

(function () {
  const E = window.Evalroom;
  const OPEN_PHASES = ["sign_in", "scoring"];
  const STATUS = {
    declared: "已声明，等待监督人员决定 Declared: waiting for a supervisor",
    declined: "监督人员未同意 Declined by a supervisor",
    approved: "已批准 Approved",
  };
  const MAX_REASON = 500; // server/domain/recusal.py MAX_REASON

  window.EvalroomSeatRecusal = function (ctx) {
    const { $, seat } = ctx;
    const declined = {}; // recusal id -> the supervisor's reason (recusal.declined, own events)
    let gone = null; // {by, venue, seq} once this seat was replaced

    function view() {
      return ctx.view();
    }

    function own() {
      const v = view();
      return Object.entries((v && v.recusals) || {})
        .filter(([, r]) => r.seat === seat)
        .sort((a, b) => b[1].seq - a[1].seq);
    }

    // This seat's replacement: from the event seen live, the page's record, or the view's list.
    function replaced() {
      if (gone) return gone;
      const v = view();
      const found = ((v && v.replacements) || []).find((r) => r.seat === seat);
      if (found) gone = { by: found.by, venue: found.venue, seq: found.seq };
      return gone;
    }

    function replacedText(r) {
      return `本席位已回避，由新席位 ${r.by} 替补（日志 #${r.seq}）；本席位的令牌和签名密钥已失效，本页不再可用。` +
        `This seat recused and was replaced by the new seat ${r.by} (log #${r.seq}); its token and signing key no longer work, and this page can do nothing more.`;
    }

    function render() {
      const v = view();
      const me = (v && v.seats && v.seats[seat]) || null;
      const section = $("recusal");
      section.hidden = !v || !me || !ctx.enrolled() || (!OPEN_PHASES.includes(v.phase) && !own().length);
      if (section.hidden) return;
      const list = own();
      const last = list.length ? list[0][1] : null;
      const lastId = list.length ? list[0][0] : null;
      $("recusal-state").textContent = last
        ? `${lastId} · ${STATUS[last.status] || last.status}${last.status === "declined" && declined[lastId] ? `：${declined[lastId]}` : ""} · ${last.reason}`
        : "";
      $("recusal-state").dataset.status = last ? last.status : "";
      const open = OPEN_PHASES.includes(v.phase) && !v.sealed && (!last || last.status === "declined");
      $("recusal-form").hidden = !open;
      $("recusal-declare").disabled = !ctx.connected();
    }

    $("recusal-reason").addEventListener("input", () => {
      $("recusal-error").textContent = "";
    });
    $("recusal-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = $("recusal-reason").value.trim();
      $("recusal-error").textContent = "";
      if (!reason) {
        $("recusal-error").textContent = "请填写回避理由 Write the reason first";
        $("recusal-reason").focus();
        return;
      }
      if ([...reason].length > MAX_REASON) {
        $("recusal-error").textContent = `理由最多 ${MAX_REASON} 字 The reason is at most ${MAX_REASON} characters`;
        return;
      }
      const yes = await E.confirm(
        `声明回避？监督人员批准后，本席位由候补专家替补，本席位的评分作废，本页不再可用。理由：${reason}`,
        "Declare a recusal? Once a supervisor approves, a reserve takes a new seat, this seat's scores are void and this page stops working.",
      );
      if (!yes) return;
      const envelope = await ctx.signedEnvelope("recusal.declare", { reason });
      const answer = await ctx.enqueue(envelope, null);
      if (answer && !answer.ok) $("recusal-error").textContent = ctx.errorText(answer.error);
      else if (answer) $("recusal-reason").value = "";
    });

    // Why a signed login may fail for this seat: its declaration was open when the page last
    // saw the log, and an approval since replaced it (the page was closed when that happened).
    function loginHint() {
      const last = own()[0];
      return last && last.status === "declared"
        ? " · 本席位曾声明回避；如已获批准，本席位已由候补专家替补，本页不再可用。This seat declared a recusal; if it was approved, a reserve replaced this seat and this page can do nothing more."
        : "";
    }

    return {
      render,
      replaced,
      loginHint,
      replacedText,
      // A restored record says the seat was replaced before this page load.
      restore: (found) => {
        gone = found || gone;
      },
      // Own events: the supervisor's reason to decline; seat.replaced of this seat. Returns the
      // replacement when this event made it (seat.js then stops the page).
      onEvent: (ev) => {
        const data = ev.data || {};
        if (ev.type === "recusal.declined" && data.seat === seat) declined[data.recusal] = data.reason;
        if (ev.type === "seat.replaced" && data.seat === seat && !gone) {
          gone = { by: data.by, venue: data.venue, seq: ev.seq };
          return gone;
        }
        return null;
      },
    };
  };
})();
