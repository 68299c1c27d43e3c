// Seat recovery (设备故障换机) on the supervisor's console: a seat whose device failed gets a new
// one-time code. The server logs the old key's revocation (server/domain/recovery.py) and answers
// with the code, which is shown here once, to be handed to that venue's staff (it never enters
// the log, as no enrolment code does).
"use strict";

(function () {
  const E = window.Evalroom;

  window.EvalroomRecoveryDesk = function (ctx, staff) {
    const { $ } = ctx;

    function render(view) {
      const open = view.phase !== "closed" && !view.sealed;
      $("console-recover").hidden = !open;
      const seats = Object.keys(view.seats || {});
      if (E.optionsDiffer($("recover-seat"), seats)) {
        $("recover-seat").replaceChildren(...seats.map((seat) => E.el("option", { value: seat }, seat)));
      }
    }

    $("recover-button").addEventListener("click", async () => {
      const seat = $("recover-seat").value;
      const reason = $("recover-reason").value.trim();
      $("recover-code").textContent = "";
      if (!reason) {
        $("console-error").textContent = "请填写换机理由 Write why the device is replaced";
        return;
      }
      const yes = await E.confirm(
        `撤销 ${seat} 的签名密钥并生成新的一次性登记码？`,
        "Revoke this seat's signing key and make a new one-time code? Its earlier signatures stay valid.",
      );
      if (!yes) return;
      const answer = await staff("seat.recover", { seat, reason }, "console-error");
      if (answer && answer.ok) {
        $("recover-reason").value = "";
        $("recover-code").textContent = `${seat} 新的一次性登记码 New one-time code: ${answer.code}（交给该席位所在会场的工作人员 hand it to that venue's staff）`;
      }
    });

    return { render };
  };
})();
