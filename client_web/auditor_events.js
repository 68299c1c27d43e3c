// The auditor's event list over the whole log (filtered by type, seat and time, 100 a page) and
// one event's details: its canonical bytes, the leaf hash recomputed with WebCrypto, the expert
// signature checked against the seat's enrolled key, and its inclusion in the newest signed
// checkpoint (the server's proof over HTTP, or a proof computed from the archive's leaves).
"use strict";

window.EvalroomAuditEvents = (function () {
  const E = window.Evalroom;
  const C = window.EvalroomCrypto;
  const el = E.el;
  const PAGE = 100;

  function seatOf(ev) {
    const data = ev.data || {};
    if (typeof data.seat === "string") return data.seat;
    if (typeof data.member === "string" && data.member.startsWith("expert:")) return data.member.slice(7);
    if (typeof ev.actor === "string" && ev.actor.startsWith("expert:")) return ev.actor.slice(7);
    return "";
  }

  const clock = (ms) => window.EvalroomAuditState.dateTime(ms);

  function summary(ev) {
    const d = ev.data || {};
    switch (ev.type) {
      case "score.set":
        return `${d.seat} ${d.bidder || d.code}/${d.criterion} = ${d.value}${d.comment ? " ✎" : ""}`;
      case "phase.changed":
        return `${E.PHASE_LABELS[d.from] || d.from} → ${E.PHASE_LABELS[d.to] || d.to}`;
      case "chair.voted":
        return `${d.seat} → ${d.candidate} (${d.round})`;
      case "chair.elected":
        return `${d.seat}`;
      case "rejection.proposed":
        return `${d.proposal} ${d.seat}: ${d.bidder} ${d.ground}`;
      case "rejection.voted":
        return `${d.proposal} ${d.seat}: ${d.vote}`;
      case "rejection.decided":
        return `${d.proposal} ${d.bidder}: ${d.outcome} (${d.yes}:${d.no})`;
      case "time.requested":
        return `${d.seat}${d.reason ? ": " + d.reason : ""}`;
      case "time.extended":
        return `第 ${d.round} 轮 round ${d.round}: ${d.requests}/${d.members}`;
      case "flag.explained":
        return `${d.seat} ${d.bidder || d.code}/${d.criterion}: ${d.text}`;
      case "blind.assigned":
      case "blind.revealed":
        return `${(d.criteria || []).join(" ")}${d.seat ? " · " + d.seat : ""}`;
      case "rejection.approved":
        return `${d.proposal}`;
      case "rejection.declined":
        return `${d.proposal}: ${d.reason}`;
      case "report.signed":
        return `${d.seat}${d.dissent ? " ✎ " + d.dissent : ""}`;
      case "session.paused":
      case "session.resumed":
        return d.reason || "";
      case "recording.closed":
        return `${d.seat} ${d.track} ${d.file}`;
      case "report.issued":
        return String(d.report).slice(0, 12) + "…";
      case "session.created":
        return ((d.lot && d.lot.project && d.lot.project.code) || "") + ` · ${(d.seats || []).length} seats`;
      default: {
        const text = d.seat || d.member || d.proposal || JSON.stringify(d);
        return text.length > 60 ? text.slice(0, 60) + "…" : text;
      }
    }
  }

  // Spreadsheet-safe CSV with a BOM (Excel opens UTF-8 zh-CN text right).
  function csv(rows) {
    const cell = (v) => {
      let text = v === null || v === undefined ? "" : String(v);
      if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = "'" + text;
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    return "\uFEFF" + rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const link = el("a", { href: url, download: name, hidden: "" });
    document.body.append(link);
    link.click();
    setTimeout(() => {
      URL.revokeObjectURL(url);
      link.remove();
    }, 1000);
  }

  function eventRows(log, indexes) {
    const rows = [["seq", "time", "time_ms", "type", "actor", "seat", "summary", "leaf_hash", "data"]];
    for (const i of indexes) {
      const ev = log.events[i];
      rows.push([ev.seq, new Date(ev.t).toISOString(), ev.t, ev.type, ev.actor, seatOf(ev), summary(ev), log.leaves[i], JSON.stringify(ev.data)]);
    }
    return rows;
  }

  // The list: filters, pages, the selected event; onSelect(seq) when a row is clicked.
  function List({ $, onSelect, decorate }) {
    let log = null;
    let matches = [];
    let page = 0;
    let selected = 0;

    function options(select, values, label) {
      const keep = select.value;
      select.replaceChildren(el("option", { value: "" }, label), ...values.map(([v, n]) => el("option", { value: v }, `${v} (${n})`)));
      select.value = values.some(([v]) => v === keep) ? keep : "";
    }

    function refreshOptions() {
      const types = new Map();
      const seats = new Map();
      for (const ev of log.events) {
        types.set(ev.type, (types.get(ev.type) || 0) + 1);
        const seat = seatOf(ev);
        if (seat) seats.set(seat, (seats.get(seat) || 0) + 1);
      }
      options($("filter-type"), [...types].sort(), "全部 All");
      options($("filter-seat"), [...seats].sort(), "全部 All");
    }

    function filter() {
      const type = $("filter-type").value;
      const seat = $("filter-seat").value;
      const from = $("filter-from").value ? new Date($("filter-from").value).getTime() : -Infinity;
      const to = $("filter-to").value ? new Date($("filter-to").value).getTime() + 999 : Infinity;
      matches = [];
      log.events.forEach((ev, i) => {
        if (type && ev.type !== type) return;
        if (seat && seatOf(ev) !== seat) return;
        if (ev.t < from || ev.t > to) return;
        matches.push(i);
      });
      page = Math.min(page, Math.max(0, Math.ceil(matches.length / PAGE) - 1));
    }

    let shown = ""; // the rows on screen: the same page again only moves the selection

    function render() {
      if (!log) return;
      const pages = Math.max(1, Math.ceil(matches.length / PAGE));
      const key = `${log.head}|${page}|${matches.length}|${matches[page * PAGE]}`;
      if (key === shown) {
        for (const item of $("events").querySelectorAll("li.selected")) item.classList.remove("selected");
        const item = $("events").querySelector(`li[data-seq="${selected}"]`);
        if (item) item.classList.add("selected");
        return;
      }
      shown = key;
      const items = matches.slice(page * PAGE, page * PAGE + PAGE).map((i) => {
        const ev = log.events[i];
        const item = el("li", { value: String(ev.seq), "data-seq": String(ev.seq), class: ev.seq === selected ? "selected" : "" },
          el("button", { type: "button", class: "ev-seq link", "aria-label": `查看 #${ev.seq} Show event ${ev.seq}` }, `#${ev.seq}`),
          el("span", { class: "ev-time" }, window.EvalroomAuditState.time(ev.t)),
          el("span", { class: "ev-type" }, ev.type),
          el("span", { class: "ev-summary" }, summary(ev)));
        if (decorate) decorate(item, ev);
        return item;
      });
      $("events").replaceChildren(...items);
      $("events-count").textContent = `${matches.length} / ${log.head} 条 events`;
      $("page-text").textContent = `第 ${page + 1} / ${pages} 页 Page ${page + 1} of ${pages}`;
      $("page-prev").disabled = page === 0;
      $("page-next").disabled = page >= pages - 1;
    }

    function changed() {
      page = 0;
      filter();
      render();
    }

    for (const id of ["filter-type", "filter-seat", "filter-from", "filter-to"]) $(id).addEventListener("change", changed);
    $("filters").addEventListener("reset", () => setTimeout(changed, 0));
    $("page-prev").addEventListener("click", () => { page -= 1; render(); });
    $("page-next").addEventListener("click", () => { page += 1; render(); });
    $("events").addEventListener("click", (e) => {
      if (e.target.closest("button.replay-at")) return; // the ▶ of a recording
      const item = e.target.closest("li[data-seq]");
      if (item) onSelect(Number(item.dataset.seq));
    });
    $("csv-events").addEventListener("click", () => {
      if (log) download(`evalroom-${log.session}-events.csv`, csv(eventRows(log, matches)));
    });

    return {
      setLog(next) {
        log = next;
        shown = "";
        page = 0;
        refreshOptions();
        filter();
        render();
      },
      appended() {
        refreshOptions();
        filter();
        render();
      },
      // Mark `seq` selected and show the page that holds it (when the filter keeps it).
      select(seq) {
        selected = seq;
        const at = matches.indexOf(seq - 1);
        if (at >= 0) page = Math.floor(at / PAGE);
        render();
        const item = $("events").querySelector(`li[data-seq="${seq}"]`);
        if (item) {
          const box = $("events");
          box.scrollTop = item.offsetTop - box.offsetTop - box.clientHeight / 2;
        }
      },
      matches: () => matches.slice(),
    };
  }

  function check(name, ok, zh, en, extra) {
    const state = ok === null ? "na" : ok ? "ok" : "bad";
    const mark = ok === null ? "—" : ok ? "✓" : "✗";
    return el("li", { class: `check ${state}`, "data-check": name, "data-ok": String(ok) },
      el("strong", {}, `${mark} ${zh}`), " ", el("span", {}, en), ...(extra ? [el("br"), el("code", {}, extra)] : []));
  }

  // Each check of one event: [{name, ok: true|false|null, zh, en, extra}].
  async function checks(ctx, index) {
    const { log } = ctx;
    const ev = log.events[index];
    const raw = log.raw(index);
    const leaf = await C.leafHash(raw);
    const out = [];
    const leafOk = C.hex(leaf) === log.leaves[index];
    out.push({ name: "leaf", ok: leafOk, zh: leafOk ? "叶哈希一致" : "叶哈希不一致", en: leafOk ? "Leaf hash matches the stored one" : "Leaf hash differs from the stored one", extra: `SHA-256(0x00 ‖ bytes) = ${C.hex(leaf)}${leafOk ? "" : ` ≠ ${log.leaves[index]}`}` });
    out.push(await signature(log, ev));
    out.push(await inclusion(ctx, index, leaf));
    const cp = ctx.checkpoint;
    if (!cp) out.push({ name: "checkpoint", ok: null, zh: "无签名检查点", en: "No signed checkpoint" });
    else if (cp.error) out.push({ name: "checkpoint", ok: false, zh: "检查点签名无效", en: `Checkpoint ${cp.size}: ${cp.error}` });
    else out.push({ name: "checkpoint", ok: true, zh: "检查点签名有效", en: `Checkpoint ${cp.size} is signed by the node key ${cp.signer}` });
    return out;
  }

  async function signature(log, ev) {
    const data = ev.data || {};
    if (!("signed" in data) && !("sig" in data)) {
      const expert = typeof ev.actor === "string" && ev.actor.startsWith("expert:") && ev.type !== "seat.enrolled";
      return expert
        ? { name: "signature", ok: false, zh: "缺少专家签名", en: `${ev.type} by ${ev.actor} carries no expert signature` }
        : { name: "signature", ok: null, zh: "无需专家签名", en: "Not a signed expert command" };
    }
    const enrolled = log.enrolmentBefore(data.seat, ev.seq);
    let key = null;
    try {
      key = enrolled ? await C.importSeatKey(enrolled.data.key) : null;
    } catch (e) {
      return { name: "signature", ok: false, zh: "登记的公钥不可用", en: `The enrolled key is unusable: ${e.message}` };
    }
    const problem = await C.checkSigned(log.session, ev.type, data, () => key);
    return problem
      ? { name: "signature", ok: false, zh: "签名校验失败", en: problem }
      : { name: "signature", ok: true, zh: "签名有效", en: `Ed25519 signature verified with the key of ${data.seat} enrolled at #${enrolled.seq}`, extra: data.signed };
  }

  async function inclusion(ctx, index, leaf) {
    const cp = ctx.checkpoint;
    const seq = index + 1;
    if (!cp || cp.error) return { name: "inclusion", ok: null, zh: "无可用检查点", en: "No valid signed checkpoint to prove against" };
    if (seq > cp.size) return { name: "inclusion", ok: null, zh: "尚无检查点覆盖", en: `Not yet under a signed checkpoint (newest: ${cp.size})` };
    try {
      let proof;
      let how;
      if (ctx.proof) {
        proof = await ctx.proof(seq, cp.size);
        how = "GET …/proof/inclusion";
      } else {
        const levels = await ctx.levels(cp.size);
        proof = C.proofFromLevels(levels, index);
        how = "computed from leaves.txt";
      }
      const root = await C.rootFromInclusion(leaf, index, cp.size, proof);
      const ok = C.equal(root, cp.root);
      return { name: "inclusion", ok, zh: ok ? "包含证明成立" : "包含证明不成立", en: ok ? `In the signed tree of ${cp.size} (${proof.length} hashes, ${how})` : `The proof gives another root than signed checkpoint ${cp.size} (${how})`, extra: `root ${E.bytesToBase64(root)}` };
    } catch (e) {
      return { name: "inclusion", ok: false, zh: "包含证明失败", en: e.message };
    }
  }

  function detail(ctx, index, results) {
    const { log } = ctx;
    const ev = log.events[index];
    const raw = log.raw(index);
    const text = new TextDecoder().decode(raw);
    return [
      el("p", { class: "detail-head" }, el("strong", {}, `#${ev.seq} ${ev.type}`), ` · ${clock(ev.t)} · ${ev.actor}`),
      el("ul", { class: "checks", id: "checks" }, ...results.map((r) => check(r.name, r.ok, r.zh, r.en, r.extra))),
      el("details", { open: "" }, el("summary", {}, `规范字节 Canonical bytes (${raw.length} bytes, as hashed)`), el("pre", { class: "bytes", id: "detail-bytes", tabindex: "0", "aria-label": "规范字节 Canonical bytes" }, text)),
    ];
  }

  return { List, checks, detail, csv, download, seatOf, summary };
})();
