// Expert conduct on the supervisor's console (专家行为记录): misconduct records by the categories of
// 条例 Art. 71, each with a pointer to its evidence, and every member's rating in review, before the
// close. Decided by server/domain/conduct.py; members and the public screen never see these.
"use strict";

(function () {
  const E = window.Evalroom;
  // server/domain/conduct.py CATEGORIES, in its order (a test keeps the two equal).
  const CATEGORIES = [
    ["recusal_not_declared", "应当回避而不回避", "Did not recuse despite a conflict of interest"],
    ["left_post", "擅离职守", "Left the post during the evaluation"],
    ["against_method", "不按照招标文件规定的评标标准和方法评标", "Scored against the tender's standards and method"],
    ["private_contact", "私下接触投标人", "Private contact with a bidder"],
    ["accepted_influence", "向招标人征询确定中标人的意向或者接受倾向、排斥特定投标人的要求", "Sought or accepted influence on the award"],
    ["failed_to_reject", "对依法应当否决的投标不提出否决意见", "Did not propose rejecting a bid that must be rejected"],
    ["induced_clarification", "暗示或者诱导投标人作出澄清、说明，或者接受投标人主动提出的澄清、说明", "Induced or accepted an unasked clarification"],
    ["other", "其他不客观、不公正履行职务的行为", "Other conduct not objective or impartial"],
  ];
  const RATINGS = [["excellent", "优秀 Excellent"], ["good", "良好 Good"], ["pass", "合格 Pass"], ["fail", "不合格 Fail"]];

  window.EvalroomConductDesk = function (ctx, staff) {
    const { $ } = ctx;
    const label = (code) => {
      const found = CATEGORIES.find((c) => c[0] === code);
      return found ? `${found[1]} ${found[2]}` : code;
    };
    $("conduct-category").replaceChildren(...CATEGORIES.map(([code, zh, en]) => E.el("option", { value: code }, `${zh} / ${en}`)));

    function render(view) {
      const conduct = view.conduct;
      $("console-conduct").hidden = !conduct || !["sign_in", "scoring", "review"].includes(view.phase) || Boolean(view.sealed);
      if (!conduct) return;
      const seats = Object.keys(view.seats || {});
      if (E.optionsDiffer($("conduct-seat"), seats)) {
        $("conduct-seat").replaceChildren(...seats.map((seat) => E.el("option", { value: seat }, seat)));
      }
      const records = Object.entries(conduct.records);
      $("conduct-records").hidden = records.length === 0;
      $("conduct-records").replaceChildren(
        E.el("tr", {}, ...["编号 No.", "席位 Seat", "类别 Category", "经过 What happened", "证据 Evidence"].map((h) => E.el("th", {}, h))),
        ...records.map(([id, r]) =>
          E.el("tr", { "data-misconduct": id },
            E.el("td", {}, id), E.el("td", {}, r.seat), E.el("td", {}, label(r.category)), E.el("td", {}, r.note),
            E.el("td", {}, [r.evidence.seq ? `#${r.evidence.seq}` : "", r.evidence.recording_ms ? new Date(r.evidence.recording_ms).toLocaleTimeString("zh-CN", { hour12: false }) : ""].filter(Boolean).join(" · ") || "—"),
          ),
        ),
      );
      const rating = view.phase === "review";
      $("conduct-ratings").hidden = !rating;
      if (rating) {
        $("conduct-ratings").replaceChildren(
          E.el("tr", {}, ...["席位 Seat", "评价 Rating", ""].map((h) => E.el("th", {}, h))),
          ...seats.map((seat) => ratingRow(seat, conduct.ratings[seat])),
        );
      }
    }

    function ratingRow(seat, given) {
      if (given) {
        const text = (RATINGS.find((r) => r[0] === given.rating) || [given.rating, given.rating])[1];
        return E.el("tr", { "data-rated": seat }, E.el("td", {}, seat), E.el("td", {}, text), E.el("td", {}, given.note || ""));
      }
      const select = E.el("select", { "aria-label": `${seat} 评价 Rating` }, ...RATINGS.map(([code, text]) => E.el("option", { value: code }, text)));
      const button = E.el("button", { type: "button", onclick: () => staff("expert.rate", { seat, rating: select.value }, "console-error") }, "评价 Rate");
      return E.el("tr", { "data-unrated": seat }, E.el("td", {}, seat), E.el("td", {}, select), E.el("td", {}, button));
    }

    $("conduct-button").addEventListener("click", async () => {
      const note = $("conduct-note").value.trim();
      if (!note) {
        $("console-error").textContent = "请写明经过 Write what happened";
        return;
      }
      const fields = { seat: $("conduct-seat").value, category: $("conduct-category").value, note };
      const seq = Number($("conduct-seq").value);
      if ($("conduct-seq").value && Number.isInteger(seq)) fields.evidence = { seq };
      const yes = await E.confirm(`记录 ${fields.seat} 的违规行为：${label(fields.category)}？`, "Record this misconduct? It goes into the log and the archive.");
      if (!yes) return;
      const answer = await staff("misconduct.record", fields, "console-error");
      if (answer && answer.ok) {
        $("conduct-note").value = "";
        $("conduct-seq").value = "";
      }
    });

    return { render };
  };
})();
