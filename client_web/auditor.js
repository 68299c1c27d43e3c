// The auditor page: /auditor/{session}#token=… loads the whole log with the auditor token;
// /auditor (or any time) opens a downloaded evalroom-archive/1 zip in the browser. A timeline
// over seq 1..head shows the state at any seq; the event list, each event's checks, the whole
// verification, CSV exports and the recordings (replay_media.js) work on the loaded log.
"use strict";

(function () {
  const E = window.Evalroom;
  const C = window.EvalroomCrypto;
  const L = window.EvalroomAuditLog;
  const S = window.EvalroomAuditState;
  const V = window.EvalroomAuditEvents;
  const $ = (id) => document.getElementById(id);
  const parts = location.pathname.split("/").filter(Boolean); // ["auditor", session?]
  const SESSION = decodeURIComponent(parts[1] || "");
  const TOKEN = new URLSearchParams(location.hash.slice(1)).get("token");

  let log = null;
  let current = null; // the view shown, at current.seq (owned here, folded forward in place)
  let selectedSeat = null;
  let selectedSeq = 0;
  let ctx = null; // what the event checks need: log, checkpoint, proof or levels
  let replay = null;
  let stream = null;
  let live = false;
  const seekTimes = []; // ms per seek (fold + render), for the benchmark
  const api = { loaded: false, source: null, seekTimes, lastChecks: null, lastVerify: null };

  function status(text, online) {
    $("conn").textContent = text;
    $("conn").className = online ? "online" : "offline";
  }

  function progress(p) {
    $("load").hidden = false;
    const bar = $("load-progress");
    const labels = {
      events: "加载 Loading",
      wait: "限速，等待 Rate limited, waiting",
    };
    if (p.stage === "wait") {
      $("load-text").textContent = `${labels.wait} ${(p.ms / 1000).toFixed(1)} s`;
      return;
    }
    bar.max = Math.max(1, p.total || 1);
    bar.value = p.done || 0;
    $("load-text").textContent = `${labels[p.stage] || p.stage} ${p.done || 0} / ${p.total || "?"}`;
  }

  // ---- timeline -------------------------------------------------------------------------------
  function eventLine(n) {
    if (!log || n === 0) return "#0 · 会话创建之前 Before the session was created";
    const ev = log.events[n - 1];
    return `#${ev.seq} · ${S.dateTime(ev.t)} · ${ev.type} · ${ev.actor} · ${V.summary(ev)}`;
  }

  // Charts follow the shown seq once the timeline rests (a dragged slider is not slowed).
  let chartsTimer = null;
  let chartsKey = "";
  function renderCharts() {
    clearTimeout(chartsTimer);
    chartsTimer = setTimeout(() => {
      const key = `${log && log.session}|${JSON.stringify(current.cells || {})}`;
      $("charts-at").textContent = `#${current.seq}`;
      if (key === chartsKey) return;
      chartsKey = key;
      window.EvalroomAuditCharts.render($("charts"), current);
    }, 150);
  }

  function renderState() {
    const shown = S.render($, current, selectedSeat);
    selectedSeat = shown.seat;
    renderCharts();
  }

  function seek(n) {
    if (!log) return null;
    const started = performance.now();
    n = Math.max(0, Math.min(log.head, Math.round(Number(n) || 0)));
    current = log.viewAt(n, current && current.seq <= n ? current : null);
    renderState();
    $("seq-range").value = String(n);
    $("seq-input").value = String(n);
    $("seq-event").textContent = eventLine(n);
    if (replay && n > 0) replay.follow(log.events[n - 1].t); // the recording keeps in step
    seekTimes.push(performance.now() - started);
    if (seekTimes.length > 5000) seekTimes.shift();
    return current;
  }

  let pending = null;
  function seekSoon(n) {
    if (pending === null) requestAnimationFrame(() => {
      const target = pending;
      pending = null;
      seek(target);
    });
    pending = n;
  }

  $("seq-range").addEventListener("input", (e) => seekSoon(e.target.value));
  $("seq-input").addEventListener("change", (e) => seek(e.target.value));
  $("seq-prev").addEventListener("click", () => current && seek(current.seq - 1));
  $("seq-next").addEventListener("click", () => current && seek(current.seq + 1));
  $("totals").addEventListener("click", (e) => {
    const cell = e.target.closest("[data-seat]");
    if (!cell || !current) return;
    selectedSeat = cell.dataset.seat;
    renderState();
  });
  $("sheet").addEventListener("click", (e) => {
    const target = e.target.closest("button[data-goto]");
    if (target) select(Number(target.dataset.goto));
  });

  // ---- one event ------------------------------------------------------------------------------
  let selecting = 0;
  async function select(seq) {
    if (!log || seq < 1 || seq > log.head) return null;
    selectedSeq = seq;
    const ticket = ++selecting;
    seek(seq);
    list.select(seq);
    $("detail").replaceChildren(E.el("p", { class: "hint" }, `#${seq} 校验中 Checking…`));
    const results = await V.checks(ctx, seq - 1);
    if (ticket === selecting) $("detail").replaceChildren(...V.detail(ctx, seq - 1, results));
    api.lastChecks = { seq, results };
    return results;
  }

  const list = V.List({
    $,
    onSelect: (seq) => select(seq),
    decorate: (item, ev) => replay && replay.decorate(item, ev),
  });

  // ---- checkpoint and proofs ------------------------------------------------------------------
  async function newestCheckpoint() {
    const newest = log.notes.reduce((a, b) => (!a || b.size > a.size ? b : a), null);
    if (!newest) return null;
    try {
      const node = await C.parseVerifierKey(log.nodeKey);
      const cp = await C.verifyCheckpoint(newest.note, node, []);
      return { ...cp, note: newest.note, time: newest.time, signer: `${node.name}+${node.id}` };
    } catch (e) {
      return { size: newest.size, note: newest.note, error: e.message };
    }
  }

  function renderCheckpoint(cp) {
    if (!cp) {
      $("checkpoint").replaceChildren(E.el("p", {}, "无签名检查点 No signed checkpoint"));
      return;
    }
    const keyFrom = log.source === "archive" ? "manifest.json" : "GET /api/node";
    $("checkpoint").replaceChildren(
      E.el("p", { id: "cp-state", class: cp.error ? "bad" : "ok" }, cp.error
        ? `✗ 检查点签名无效 Checkpoint signature invalid: ${cp.error}`
        : `✓ 日志长度 Log size ${cp.size} · 根哈希 Root ${E.bytesToBase64(cp.root)} · 节点签名有效 signed by ${cp.signer}`),
      E.el("p", { class: "hint" }, `节点公钥 Node verifier key (${keyFrom}): `, E.el("code", {}, log.nodeKey || "—")),
      E.el("details", {}, E.el("summary", {}, "签名文本 Signed note (C2SP)"), E.el("pre", { id: "cp-note", tabindex: "0" }, cp.note)),
    );
  }

  async function refreshCheckpoint() {
    ctx.checkpoint = await newestCheckpoint();
    renderCheckpoint(ctx.checkpoint);
  }

  function proofOverHttp(session) {
    return async (seq, size) => {
      const url = `/api/sessions/${encodeURIComponent(session)}/proof/inclusion?seq=${seq}&size=${size}`;
      const answer = await L.getJson(url, null);
      return answer.proof.map((h, i) => C.b64decode(h, `proof hash ${i}`));
    };
  }

  function levelsFromLeaves() {
    const cache = new Map();
    return (size) => {
      if (!cache.has(size)) {
        const leaves = log.leaves.slice(0, size).map((h, i) => {
          const bytes = C.fromHex(h);
          if (!bytes) throw new C.CheckError(`leaves.txt line ${i + 1} is not a hex SHA-256`);
          return bytes;
        });
        cache.set(size, C.treeLevels(leaves));
      }
      return cache.get(size);
    };
  }

  // ---- loading --------------------------------------------------------------------------------
  async function setLog(next) {
    log = next;
    current = null;
    S.reset();
    selectedSeq = 0;
    api.source = log.source;
    ctx = { log, checkpoint: null, proof: log.source === "token" && !log.zip ? proofOverHttp(log.session) : null, levels: levelsFromLeaves() };
    $("session-id").textContent = log.session;
    const lot = log.live.lot;
    $("project").textContent = lot && lot.project ? `${lot.project.code || ""} ${lot.project.name || ""}` : "";
    $("source").textContent = log.source === "archive" ? "档案文件 Archive file (浏览器内读取 read in this browser)" : "审计令牌 Auditor token (HTTP)";
    $("seq-range").max = String(log.head);
    $("seq-input").max = String(log.head);
    $("seq-head").textContent = String(log.head);
    $("verify-button").disabled = false;
    $("verify-result").replaceChildren();
    $("diff").replaceChildren();
    $("diff-to").value = String(log.head);
    chartsKey = "";
    list.setLog(log);
    seek(log.head);
    await refreshCheckpoint();
    if (replay) replay.setView(log.live);
    $("load").hidden = true;
    document.body.classList.remove("empty");
    api.loaded = true;
    status(`已加载 Loaded ${log.head} 条事件 events`, true);
  }

  async function loadWithToken() {
    status("加载中 Loading…", false);
    $("welcome-text").textContent = "正在加载日志 Loading the log…";
    try {
      const loaded = await L.loadFromServer(SESSION, TOKEN, progress);
      await setLog(loaded);
      follow();
    } catch (e) {
      status(`加载失败 Loading failed: ${e.message}`, false);
    }
  }

  $("archive-file").addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    if (stream) stream.socket.disconnect();
    stream = null;
    api.loaded = false;
    $("archive-name").textContent = file.name;
    status(`读取档案 Reading ${file.name}…`, false);
    try {
      const loaded = await L.loadFromArchive(await file.arrayBuffer(), progress);
      $("follow-label").hidden = true;
      $("replay").hidden = true;
      replay = null;
      await setLog(loaded);
      if (SESSION && loaded.session !== SESSION) status(`已加载档案 Loaded the archive of ${loaded.session} (不是 not ${SESSION})`, true);
    } catch (err) {
      $("load").hidden = true;
      status(`无法读取档案 Cannot read the archive: ${err.message}`, false);
    }
  });

  // ---- live: new events and checkpoints over socket.io after the log is loaded ----------------
  let redraw = false;
  function follow() {
    if (!window.io || log.source !== "token") return;
    $("follow-label").hidden = false;
    stream = new E.Stream(TOKEN, null, {
      onView: () => {},
      onEvent: (view) => {
        if (view.seq !== log.head + 1) return;
        const atHead = current && current.seq === log.head;
        const { hash, ...event } = view;
        delete event.resync;
        log.push(event, hash, null);
        if (replay) replay.onEvent(view);
        if (!redraw) {
          redraw = true;
          requestAnimationFrame(() => {
            redraw = false;
            $("seq-range").max = String(log.head);
            $("seq-input").max = String(log.head);
            $("seq-head").textContent = String(log.head);
            list.appended();
            if (atHead && $("follow").checked) seek(log.head);
          });
        }
      },
      onStatus: (text, connected) => {
        live = connected;
        status(`已加载 Loaded ${log.head} 条事件 events · ${connected ? "实时 Live" : text}`, true);
      },
    });
    stream.lastSeq = log.head;
    stream.socket.on("checkpoint", (cp) => {
      if (!log.notes.some((n) => n.size === cp.size && n.note === cp.note)) {
        log.notes.push({ size: cp.size, note: cp.note, name: `checkpoint ${cp.size}`, time: cp.time });
        refreshCheckpoint();
      }
    });
  }

  // ---- the sheets between two seqs -----------------------------------------------------------
  function showDiff() {
    if (!log) return null;
    const from = Math.max(0, Math.min(log.head, Number($("diff-from").value) || 0));
    const to = Math.max(0, Math.min(log.head, Number($("diff-to").value) || 0));
    $("diff").replaceChildren(...window.EvalroomAuditCharts.diffTable(log.viewAt(from), log.viewAt(to)));
    return window.EvalroomAuditCharts.diff(log.viewAt(from), log.viewAt(to));
  }

  $("diff-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showDiff();
  });
  $("diff-current").addEventListener("click", () => {
    if (current) $("diff-to").value = String(current.seq);
  });
  $("diff").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-cell]");
    const seq = row && row.lastChild.textContent.match(/#(\d+)/);
    if (seq) select(Number(seq[1]));
  });

  // ---- whole verification and exports ---------------------------------------------------------
  async function verifyAll() {
    if (!log) return null;
    $("verify-button").disabled = true;
    $("verify-load").hidden = false;
    const started = performance.now();
    const report = await window.EvalroomVerify.verifyLog(log, (p) => {
      $("verify-progress").max = Math.max(1, p.total);
      $("verify-progress").value = p.done;
      const stage = { files: "文件 Files", tree: "默克尔树 Merkle tree" }[p.stage] || "事件 Events";
      $("verify-text").textContent = `${stage} ${p.done} / ${p.total}`;
    });
    const seconds = (performance.now() - started) / 1000;
    $("verify-load").hidden = true;
    $("verify-button").disabled = false;
    $("verify-result").replaceChildren(...window.EvalroomVerify.render(report, seconds));
    api.lastVerify = { ok: report.ok, counts: report.counts, problems: report.problems, statements: report.statements, seconds };
    return api.lastVerify;
  }

  $("verify-button").addEventListener("click", () => verifyAll());

  $("csv-sheets").addEventListener("click", () => {
    if (!current || !current.lot) return;
    const found = S.flags(current);
    const codes = (seat, bidder) => ((current.blind && current.blind.seats && current.blind.seats[seat]) || []).find((p) => p[1] === bidder);
    const rows = [["at_seq", "seat", "venue", "bidder", "bidder_name", "blind_code", "criterion", "criterion_name", "kind", "value", "comment", "event_seq", "flagged"]];
    for (const seat of Object.keys(current.seats || {})) {
      for (const b of E.bidderIds(current.lot)) {
        for (const c of E.typedCriteria(current.lot)) {
          const cell = ((current.cells || {})[seat] || {})[`${b}/${c.id}`];
          const code = codes(seat, b);
          rows.push([current.seq, seat, S.venueName(current, seat), b, E.bidderName(current.lot, b), code ? code[0] : "", c.id, c.name || "", c.kind,
            cell ? cell.value : "", cell && cell.comment ? cell.comment : "", cell ? cell.seq : "", found.cells.has(`${seat}|${b}/${c.id}`) ? "yes" : ""]);
        }
      }
    }
    V.download(`evalroom-${log.session}-sheets-at-${current.seq}.csv`, V.csv(rows));
  });

  // ---- start ----------------------------------------------------------------------------------
  Object.assign(api, {
    viewAt: (n) => (log ? log.viewAt(n) : null),
    seek: (n) => {
      seek(n);
      return current ? current.seq : 0;
    },
    select,
    verify: verifyAll,
    diff: (from, to) => {
      $("diff-from").value = String(from);
      $("diff-to").value = String(to);
      return showDiff();
    },
    head: () => (log ? log.head : 0),
    log: () => log,
    ctx: () => ctx,
    live: () => live,
    matches: () => list.matches(),
  });
  window.evalroomAuditor = api; // for the browser tests and bench/ui_auditor.py

  $("session-id").textContent = SESSION;
  if (TOKEN && SESSION) {
    if (window.EvalroomReplay) {
      replay = window.EvalroomReplay({ token: TOKEN, session: SESSION, role: "auditor", container: $("replay"), view: () => (log ? log.live : null) });
      window.evalroomReplay = replay; // for the browser tests
    }
    loadWithToken();
  } else {
    status(SESSION ? "缺少令牌：请打开档案文件 No #token=…: open an archive file" : "请打开档案文件 Open an archive file", false);
  }
})();
