// The state at one seq on the auditor page: phases, the sheets (a seats × bidders matrix of
// totals, one seat's sheet in full), flags (deviation and objective mismatch, recomputed exactly
// as server/domain/flags.py does), committee decisions and the report. Pure rendering of a view.
"use strict";

window.EvalroomAuditState = (function () {
  const E = window.Evalroom;
  const el = E.el;
  const STATUS = {
    proposed: "已提议 Proposed", approved: "表决中 Voting", declined: "未准 Declined",
    rejected: "已否决 Rejected", kept: "未否决 Kept",
  };
  const KINDS = { subjective: "主观 Subjective", objective: "客观 Objective" };

  // Exact decimals as scaled BigInts: "7.5" -> {n: 75n, scale: 1}.
  function dec(text) {
    const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text));
    if (!match) return null;
    const frac = match[3] || "";
    return { n: BigInt(match[1] + match[2] + frac), scale: frac.length };
  }

  function rescale(d, scale) {
    return d.n * 10n ** BigInt(scale - d.scale);
  }

  function sum(values) {
    const scale = Math.max(0, ...values.map((d) => d.scale));
    return { n: values.reduce((acc, d) => acc + rescale(d, scale), 0n), scale };
  }

  function format(d) {
    const negative = d.n < 0n;
    const digits = (negative ? -d.n : d.n).toString().padStart(d.scale + 1, "0");
    const whole = digits.slice(0, digits.length - d.scale);
    let frac = d.scale ? digits.slice(-d.scale).replace(/0+$/, "") : "";
    frac = frac ? "." + frac : "";
    return (negative ? "-" : "") + whole + frac;
  }

  const abs = (n) => (n < 0n ? -n : n);

  // flags.py: deviation on subjective cells with 3+ scores (|s - mean| > t·|mean|, compared
  // exactly as |n·s - Σ| > t·|Σ|), mismatch on objective cells whose values differ.
  function flags(view) {
    const lot = view.lot;
    const found = { list: [], cells: new Set() };
    if (!lot) return found;
    const raw = lot.committee && lot.committee.deviation_threshold;
    const threshold = dec(raw !== undefined && raw !== null ? raw : "0.30");
    for (const bidder of E.bidderIds(lot)) {
      for (const c of E.typedCriteria(lot)) {
        const scores = [];
        for (const [seat, cells] of Object.entries(view.cells || {})) {
          const cell = cells[`${bidder}/${c.id}`];
          const value = cell && cell.value !== undefined ? dec(cell.value) : null;
          if (value) scores.push([seat, value, cell.value]);
        }
        if (c.kind === "subjective" && scores.length >= 3) {
          const scale = Math.max(threshold.scale, ...scores.map((s) => s[1].scale));
          const total = scores.reduce((acc, s) => acc + rescale(s[1], scale), 0n);
          const limit = threshold.n * abs(total);
          for (const [seat, value, text] of scores) {
            const gap = abs(BigInt(scores.length) * rescale(value, scale) - total) * 10n ** BigInt(threshold.scale);
            if (gap > limit) {
              found.list.push({ kind: "deviation", seat, bidder, criterion: c.id, score: text, mean: (Number(total) / 10 ** scale / scores.length).toFixed(2) });
              found.cells.add(`${seat}|${bidder}/${c.id}`);
            }
          }
        } else if (c.kind === "objective" && scores.length) {
          const scale = Math.max(...scores.map((s) => s[1].scale));
          const distinct = new Set(scores.map((s) => rescale(s[1], scale).toString()));
          if (distinct.size > 1) {
            found.list.push({ kind: "mismatch", bidder, criterion: c.id, values: scores.map((s) => `${s[0]}: ${s[2]}`).join(", ") });
            for (const s of scores) found.cells.add(`${s[0]}|${bidder}/${c.id}`);
          }
        }
      }
    }
    return found;
  }

  // One formatter for every label: building an Intl formatter per call costs more than a seek.
  const CLOCK = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const DATE_TIME = new Intl.DateTimeFormat("zh-CN", { dateStyle: "short", timeStyle: "medium", hour12: false });
  const time = (ms) => CLOCK.format(ms);
  const dateTime = (ms) => DATE_TIME.format(ms);

  function venueName(view, seat) {
    const s = view.seats && view.seats[seat];
    const venues = (view.lot && view.lot.venues) || [];
    const named = s && venues.find((v) => v.id === s.venue);
    return (named && named.name) || (s && s.venue) || "";
  }

  function phases(view) {
    const times = view.phase_times || {};
    return E.PHASES.map((p) =>
      el("li", { class: p === view.phase ? "current" : times[p] !== undefined ? "done" : "" },
        E.PHASE_LABELS[p], el("small", {}, times[p] !== undefined ? time(times[p]) : "—")));
  }

  // seats × bidders: each seat's total over the typed criteria it filled, and how many.
  function totals(view, selected, flagged) {
    const lot = view.lot;
    const bidders = E.bidderIds(lot);
    const criteria = E.typedCriteria(lot);
    const rejected = new Set(Object.values((view.committee && view.committee.proposals) || {}).filter((p) => p.status === "rejected").map((p) => p.bidder));
    const head = el("tr", {}, el("th", {}, "席位 Seat"),
      ...bidders.map((b) => el("th", { title: E.bidderName(lot, b), class: rejected.has(b) ? "rejected" : "" }, b,
        rejected.has(b) ? el("span", { class: "tag" }, " 已否决 Rejected") : "", el("small", {}, E.bidderName(lot, b)))),
      el("th", { class: "seat-status", title: "登记 Enrolled · 签到 Signed in · 提交 Submitted" }, "登记 签到 提交", el("small", {}, "Enrol · Sign in · Submit")));
    const rows = Object.entries(view.seats || {}).map(([seat, s]) => {
      const cells = (view.cells && view.cells[seat]) || {};
      const tds = bidders.map((b) => {
        const values = criteria.map((c) => cells[`${b}/${c.id}`]).filter((c) => c && c.value !== undefined);
        const total = values.length ? format(sum(values.map((c) => dec(c.value)).filter(Boolean))) : "—";
        const marks = criteria.some((c) => flagged.has(`${seat}|${b}/${c.id}`)) ? " ⚑" : "";
        return el("td", { "data-seat": seat, "data-bidder": b, class: "total" + (seat === selected ? " selected" : "") },
          el("strong", {}, total + marks), el("small", {}, `${values.length}/${criteria.length}`));
      });
      const mark = (flag) => (flag ? "✓" : "—");
      const title = `登记 Enrolled ${mark(s.enrolled)} · 签到 Signed in ${mark(s.signed_in)} · 提交 Submitted ${mark(s.submitted)}`;
      return el("tr", { "data-seat": seat, class: seat === selected ? "selected" : "" },
        el("th", { "data-seat": seat }, el("button", { type: "button", class: "link", "data-seat": seat }, seat), el("small", {}, venueName(view, seat))), ...tds,
        el("td", { class: "seat-status", title }, `${mark(s.enrolled)} ${mark(s.signed_in)} ${mark(s.submitted)}`));
    });
    return [head, ...rows];
  }

  // One seat's sheet: criteria × bidders, with its blind codes, flags and each value's seq.
  function sheet(view, seat, flagged) {
    const lot = view.lot;
    const bidders = E.bidderIds(lot);
    const cells = (view.cells && view.cells[seat]) || {};
    const pairs = (view.blind && view.blind.seats && view.blind.seats[seat]) || [];
    const codeOf = Object.fromEntries(pairs.map(([code, bidder]) => [bidder, code]));
    const blind = new Set((lot.criteria || []).filter((c) => c.blind).map((c) => c.id));
    const head = el("tr", {}, el("th", {}, "评审项 Criterion"),
      ...bidders.map((b) => el("th", {}, b, codeOf[b] ? el("small", {}, `暗码 code ${codeOf[b]}`) : "")));
    const rows = E.typedCriteria(lot).map((c) =>
      el("tr", {},
        el("th", {}, `${c.id} ${c.name || ""}`, el("small", {}, `${KINDS[c.kind] || c.kind}${blind.has(c.id) ? " · 暗标 blind" : ""} · ${c.min}–${c.max}`)),
        ...bidders.map((b) => {
          const cell = cells[`${b}/${c.id}`];
          if (!cell || cell.value === undefined) return el("td", { class: "empty" }, "—");
          const mark = flagged.has(`${seat}|${b}/${c.id}`);
          return el("td", { class: "value" + (mark ? " flagged" : ""), "data-goto": String(cell.seq), title: cell.comment || "" },
            el("button", { type: "button", class: "link", "data-goto": String(cell.seq) }, cell.value + (mark ? " ⚑" : "")),
            el("small", {}, `#${cell.seq}${cell.comment ? " ✎" : ""}`));
        })));
    return [head, ...rows];
  }

  const FLAGS_SHOWN = 40; // the rest are counted: a long list would cost every seek its layout

  function flagList(found) {
    if (!found.list.length) return [el("li", { class: "none" }, "无 None")];
    const more = found.list.length - FLAGS_SHOWN;
    const tail = more > 0 ? [el("li", { class: "more" }, `另有 ${more} 项 and ${more} more (导出评分 CSV 中标出 flagged in the sheets CSV)`)] : [];
    return found.list.slice(0, FLAGS_SHOWN).map((f) =>
      f.kind === "deviation"
        ? el("li", { "data-kind": "deviation" }, `偏离 Deviation: ${f.seat} ${f.bidder}/${f.criterion} = ${f.score} (均值 mean ${f.mean})`)
        : el("li", { "data-kind": "mismatch" }, `客观分不一致 Mismatch: ${f.bidder}/${f.criterion} — ${f.values}`)).concat(tail);
  }

  function committee(view) {
    const com = view.committee;
    if (!com) return [el("p", {}, "—")];
    const out = [];
    const votes = Object.entries(com.chair_votes || {}).map(([s, c]) => `${s}→${c}`).join(", ");
    out.push(el("p", { id: "chair" }, com.chair
      ? `主任委员 Chair: ${com.chair}`
      : `主任委员未选出 No chair yet · 第 ${com.chair_round} 轮 round ${com.chair_round}${votes ? " · 投票 votes: " + votes : ""}`));
    const t = com.time || { round: 1, requests: [], extensions: 0 };
    out.push(el("p", { id: "time-ext" }, `延时 Time extensions: ${t.extensions} · 第 ${t.round} 轮请求 requests this round: ${(t.requests || []).join(", ") || "—"}`));
    const proposals = Object.entries(com.proposals || {});
    if (proposals.length) {
      const grounds = Object.fromEntries(E.GROUNDS.map(([code, zh, en]) => [code, `${zh} ${en}`]));
      out.push(el("table", { id: "proposals" },
        el("tr", {}, el("th", {}, "提议 Proposal"), el("th", {}, "投标人 Bidder"), el("th", {}, "理由 Ground"), el("th", {}, "状态 Status"), el("th", {}, "表决 Votes")),
        ...proposals.map(([id, p]) => {
          const yes = Object.values(p.votes || {}).filter((v) => v === "yes").length;
          const no = Object.values(p.votes || {}).filter((v) => v === "no").length;
          return el("tr", { "data-proposal": id },
            el("td", {}, `${id} · ${p.seat} #${p.seq}`),
            el("td", {}, `${p.bidder} ${E.bidderName(view.lot, p.bidder)}`),
            el("td", { title: p.reason }, grounds[p.ground] || p.ground, el("small", {}, p.reason)),
            el("td", { class: `status-${p.status}` }, STATUS[p.status] || p.status),
            el("td", {}, `赞成 yes ${yes} · 反对 no ${no}`));
        })));
    } else {
      out.push(el("p", {}, "否决投标提议 Rejection proposals: —"));
    }
    const explanations = com.explanations || [];
    if (explanations.length) {
      out.push(el("h3", {}, "标记说明 Flag explanations"),
        el("ul", {}, ...explanations.map((x) => el("li", {}, `${x.seat} ${x.bidder || x.code}/${x.criterion} #${x.seq}: ${x.text}`))));
    }
    return out;
  }

  function report(view) {
    const r = view.report;
    if (!r) return [el("p", { id: "report-state" }, "未出具 Not issued")];
    const seats = Object.keys(view.seats || {});
    return [
      el("p", { id: "report-state" }, "已出具 Issued · ", el("code", { title: r.hash }, r.hash.slice(0, 16) + "…"), ` · ${r.bytes} bytes`),
      el("ul", { id: "report-signatures" }, ...seats.map((s) => {
        const sig = r.signatures && r.signatures[s];
        const text = !sig ? "— 未签 not signed" : sig.dissent !== null ? `✎ 保留意见 dissent #${sig.seq}: ${sig.dissent}` : `✓ 已签 signed #${sig.seq}`;
        return el("li", { class: !sig ? "sig-none" : sig.dissent !== null ? "sig-dissent" : "sig-signed" }, `${s}: ${text}`);
      })),
    ];
  }

  // What each panel was last drawn from: a panel whose inputs did not change is not rebuilt
  // (a seek mostly moves a few cells; rebuilding and laying out every panel costs the most).
  const drawn = {};
  function panel($, id, key, build) {
    if (drawn[id] === key) return;
    drawn[id] = key;
    patchChildren($(id), build());
  }

  // Move `node`'s children to `wanted` touching only what differs: a seek changes a few numbers,
  // and text left alone is neither shaped nor laid out again (CJK shaping is the dear part).
  function patchChildren(node, wanted) {
    const have = node.childNodes;
    for (let i = 0; i < wanted.length; i++) {
      const old = have[i];
      if (!old) node.append(wanted[i]);
      else if (!patch(old, wanted[i])) node.replaceChild(wanted[i], old);
    }
    while (have.length > wanted.length) node.lastChild.remove();
  }

  function patch(old, next) {
    if (old.nodeType !== next.nodeType || old.nodeName !== next.nodeName) return false;
    if (old.nodeType === Node.TEXT_NODE) {
      if (old.nodeValue !== next.nodeValue) old.nodeValue = next.nodeValue;
      return true;
    }
    for (const attr of [...old.attributes]) if (!next.hasAttribute(attr.name)) old.removeAttribute(attr.name);
    for (const attr of next.attributes) if (old.getAttribute(attr.name) !== attr.value) old.setAttribute(attr.name, attr.value);
    patchChildren(old, [...next.childNodes]);
    return true;
  }

  // Fill the page's state panels from a view; `selected` is the seat whose sheet is shown.
  function render($, view, selected) {
    const found = flags(view);
    const seats = Object.keys(view.seats || {});
    const seat = seats.includes(selected) ? selected : seats[0];
    const marks = [...found.cells].join();
    panel($, "phases", `${view.phase}|${JSON.stringify(view.phase_times || {})}`, () => phases(view));
    const cells = JSON.stringify(view.cells || {});
    const lotKey = view.lot ? view.session || "lot" : "";
    panel($, "totals", `${lotKey}|${seat}|${JSON.stringify(view.seats || {})}|${cells}|${marks}`, () => (view.lot ? totals(view, seat, found.cells) : []));
    const mine = JSON.stringify(((view.cells || {})[seat]) || {});
    const codes = JSON.stringify(((view.blind && view.blind.seats) || {})[seat] || []);
    panel($, "sheet", `${lotKey}|${seat}|${mine}|${codes}|${marks}`, () => (view.lot && seat ? sheet(view, seat, found.cells) : []));
    $("sheet-caption").textContent = seat ? `${seat} ${venueName(view, seat)}` : "";
    panel($, "flags", JSON.stringify(found.list), () => flagList(found));
    panel($, "committee", `${lotKey}|${JSON.stringify(view.committee || null)}`, () => committee(view));
    panel($, "report", `${seats.join()}|${JSON.stringify(view.report || null)}`, () => report(view));
    return { seat, flags: found };
  }

  // Forget what was drawn (a new log: the same keys may mean another session).
  function reset() {
    for (const id of Object.keys(drawn)) delete drawn[id];
  }

  return { render, reset, flags, dec, sum, format, venueName, time, dateTime };
})();
