// The expert's seat page: /seat/{session}/{seat}.
// Enrols a non-extractable Ed25519 key (WebCrypto) kept in IndexedDB, signs every command, and
// keeps unacknowledged commands (memory + localStorage) to resend with the same id on reconnect.
// Blind review (暗标错位评审): while the blind part is open, blind criteria are shown by this
// seat's own codes, in this seat's own order, and signed with the code (never the bidder); the
// reveal (blind.revealed) shows which bidder each code was and closes those cells.
// The evaluation report panel is seat_report.js; recusal (回避) is seat_recusal.js, the
// committee's clarification questions (澄清) seat_clarification.js.
// Offline (issue 11): the service worker seat_sw.js (served at /seat/sw.js) keeps the app shell,
// and the page keeps its last view in IndexedDB (key ["view", session, seat], saved at most once
// a second as events fold). A reload without the server shows the sheet from that view, marked
// 离线 Offline, and the expert keeps typing (signed and queued as before); once the server answers
// the Stream joins from seq 0 as on any load (the report and committee panels fold state of their
// own that the stored view does not hold), replaces the stored view, and the queue goes out.
"use strict";

(function () {
  const E = window.Evalroom;
  const PLEDGE_ID = "evalroom-pledge-v1";
  const parts = location.pathname.split("/").filter(Boolean); // ["seat", session, seat]
  const SESSION = decodeURIComponent(parts[1] || "");
  const SEAT = decodeURIComponent(parts[2] || "");
  const KEY_ID = `${SESSION}/${SEAT}`;
  const QUEUE_KEY = `evalroom:pending:${KEY_ID}`;
  const VIEW_KEY = ["view", SESSION, SEAT]; // an array key: never equal to a seat record's string key
  const SAVE_VIEW_MS = 1000; // the stored view trails the live one by at most this
  const OFFLINE_AFTER_MS = 2000; // no connection by then: say so (a refused connect says it at once)
  const $ = (id) => document.getElementById(id);

  let record = null; // {privateKey, publicKey, token}
  let stream = null;
  let counter = 0;
  let connected = false;
  let view = null;
  const pending = new Map(); // command id -> {envelope, cell}
  const cellStatus = {}; // "B1/T1" -> {state, error}
  const sending = new Set(); // ids with a request in flight on this connection
  // The report panel (seat_report.js) sees the page through these.
  const report = window.EvalroomSeatReport({
    session: SESSION,
    seat: SEAT,
    $,
    view: () => view,
    streamView: () => stream.view,
    enrolled: () => !!record,
    connected: () => connected,
    cellStatus,
    pendingFor,
    errorText,
    freshToken,
    render,
    signedEnvelope,
    enqueue,
  });
  // The committee's steps (seat_committee.js).
  const committee = window.EvalroomSeatCommittee({
    seat: SEAT,
    $,
    view: () => view,
    connected: () => connected,
    signedEnvelope,
    enqueue,
    errorText,
    call: (name, data) => stream.call(name, data),
    render,
    focusCell: (key) => sheet.focusCell(key),
  });
  // The score sheet: both grids, the cells' checks and states, arrow keys (seat_sheet.js).
  const sheet = window.EvalroomSeatSheet({
    seat: SEAT,
    $,
    view: () => view,
    connected: () => connected,
    cellStatus,
    pendingFor,
    queuedValue,
    errorText,
    render,
    correctable: () => committee.correctable(),
    signedEnvelope,
    enqueue,
  });
  // Recusal (seat_recusal.js): the seat's declaration, and the page's end once it is replaced.
  const recusal = window.EvalroomSeatRecusal({
    seat: SEAT,
    $,
    view: () => view,
    connected: () => connected,
    enrolled: () => !!record,
    signedEnvelope,
    enqueue,
    errorText,
  });
  // The committee's clarification questions to the bidders (seat_clarification.js).
  const clarification = window.EvalroomSeatClarification({
    seat: SEAT,
    $,
    view: () => view,
    connected: () => connected,
    signedEnvelope,
    enqueue,
    errorText,
  });
  let incompleteShown = false; // the "sheet incomplete" message is up (cleared once complete)
  let pledgeFoldedFor = null; // the signed_in state the pledge text was last folded for
  let viewSavedAt = null; // when the view on screen was stored, while it is the stored one
  let storedSeq = 0; // the seq of the view last stored (or read back) here
  let offlineKnown = false; // the Stream reported no connection, or it took too long
  let saveTimer = null;
  let ownEventFolded = false; // an event of this seat since the view was last stored

  // ---- IndexedDB: db "evalroom", store "seats": the key at `${session}/${seat}`, the last view
  // at ["view", session, seat] ----
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("evalroom", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("seats");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function dbGet(key) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const req = db.transaction("seats").objectStore("seats").get(key);
      req.onsuccess = () => resolve(req.result || null);
      req.onerror = () => reject(req.error);
    }).finally(() => db.close());
  }
  async function dbPut(key, value) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("seats", "readwrite");
      tx.objectStore("seats").put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    }).finally(() => db.close());
  }

  // ---- signing ----
  async function sign(payload) {
    const text = E.canonical(payload);
    const sig = await crypto.subtle.sign({ name: "Ed25519" }, record.privateKey, new TextEncoder().encode(text));
    return { signed: text, sig: E.bytesToBase64(sig) };
  }

  function nextId() {
    counter += 1;
    return `${SEAT}-${Date.now()}-${counter}`;
  }

  async function signedEnvelope(type, fields) {
    const cmd = nextId();
    const payload = { type, session: SESSION, seat: SEAT, cmd, t: Date.now(), ...fields };
    const { signed, sig } = await sign(payload);
    return { id: cmd, type, signed, sig };
  }

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let answer;
    try {
      answer = await response.json();
    } catch (_e) {
      answer = { ok: false, error: { code: "HTTP_" + response.status, message: response.statusText } };
    }
    return answer;
  }

  // Every code's zh-CN and English text from the one catalogue (errors.js).
  function errorText(error) {
    return error ? window.EvalroomErrors.text(error) : "";
  }

  // ---- enrolment and login ----
  async function enrol(code) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
    const publicKey = E.bytesToBase64(raw);
    // Kept before asking: a code works once, so if the answer is lost on the way this key may be
    // the enrolled one, and a signed login with it is then the only way back in.
    record = { privateKey: pair.privateKey, publicKey, token: null };
    await dbPut(KEY_ID, record);
    let answer = null;
    try {
      answer = await postJson(`/api/sessions/${encodeURIComponent(SESSION)}/enrol`, {
        seat: SEAT,
        code,
        public_key: publicKey,
      });
    } catch (_e) {
      answer = null; // no answer: the enrolment may or may not have landed
    }
    if (answer && answer.token) {
      record = { ...record, token: answer.token };
      await dbPut(KEY_ID, record);
      return;
    }
    try {
      await login(); // the code was used by this very key (an earlier answer was lost)
      return;
    } catch (_e) {
      /* not enrolled with this key: report the enrolment's own refusal */
    }
    throw (answer && answer.error) || { code: "enrol_failed", message: "no answer from the server" };
  }

  // A signed login is single-use: its t must be later than the seat's last accepted login.
  function loginTime() {
    const key = `evalroom:login-t:${KEY_ID}`;
    const last = Number(localStorage.getItem(key) || 0);
    const t = Math.max(Date.now(), last + 1);
    try {
      localStorage.setItem(key, String(t));
    } catch (_e) {
      /* storage blocked: Date.now() is later than the last login but for a clock step back */
    }
    return t;
  }

  // One sign-in at a time: the Stream, the media panel and the report download may all find the
  // token stale at once, and the server takes a signed login only if its t is later than the last
  // one it accepted, so two racing logins would refuse one of them.
  let loggingIn = null;
  function login() {
    if (!loggingIn) loggingIn = signedLogin().finally(() => (loggingIn = null));
    return loggingIn;
  }

  async function signedLogin() {
    const payload = { seat: SEAT, session: SESSION, t: loginTime(), type: "seat.login" };
    const { signed, sig } = await sign(payload);
    const answer = await postJson(`/api/sessions/${encodeURIComponent(SESSION)}/login`, {
      seat: SEAT,
      signed,
      sig,
    });
    if (!answer.token) throw answer.error || { code: "login_failed", message: "no token" };
    record = { ...record, token: answer.token };
    await dbPut(KEY_ID, record);
  }

  function tokenFresh(token) {
    return token && E.tokenExpiry(token) - 60 > Date.now() / 1000;
  }

  // No server to ask (fetch failed, or a proxy answered 5xx), as opposed to a refusal.
  function unreachable(error) {
    return error instanceof TypeError || !!(error && typeof error.code === "string" && /^HTTP_5\d\d$/.test(error.code));
  }

  // ---- the last view, for a reload without the server ----
  // This seat's own events (a score it typed, now acknowledged and gone from the queue) are
  // stored at once, so that a reload right after shows them; the others at most once a second.
  function scheduleViewSave() {
    if (ownEventFolded) {
      ownEventFolded = false;
      saveView();
    } else if (!saveTimer) saveTimer = setTimeout(saveView, SAVE_VIEW_MS);
  }

  // Store the view the Stream folded (a copy taken now: the live one moves on); one write at a
  // time, in order, so the last one stored is the latest.
  let saving = Promise.resolve();
  function saveView() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!stream || !view || view !== stream.view) return saving;
    const copy = structuredClone(view);
    saving = saving.then(async () => {
      try {
        await dbPut(VIEW_KEY, { saved: Date.now(), view: copy });
        storedSeq = copy.seq;
      } catch (_e) {
        /* storage full or blocked: the page still works online */
      }
    });
    return saving;
  }

  // Show the stored view until the Stream has one of its own.
  async function restoreView() {
    let stored = null;
    try {
      stored = await dbGet(VIEW_KEY);
    } catch (_e) {
      return;
    }
    if (!stored || !stored.view || view) return;
    view = stored.view;
    viewSavedAt = stored.saved;
    storedSeq = view.seq;
    render();
  }

  function renderOfflineNote() {
    const note = $("offline-note");
    note.hidden = connected || !offlineKnown || !record;
    if (note.hidden) return;
    const saved = viewSavedAt ? `（${new Date(viewSavedAt).toLocaleString("zh-CN")} 保存 saved）` : "";
    note.textContent =
      `离线 Offline · 显示本席位已有的数据${saved} Showing what this seat already had. ` +
      "现在填写的评分已签名并排队，恢复连接后自动发送。Scores typed now are signed, queued and sent when the connection returns.";
  }

  // The service worker that keeps the app shell for a reload without the server (seat_sw.js).
  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/seat/sw.js", { scope: "/seat/" }).catch(() => {
      /* refused (a browser without workers here): the page works online as before */
    });
  }

  // ---- the command queue ----
  function saveQueue() {
    const list = [...pending.entries()].map(([id, p]) => ({ id, envelope: p.envelope, cell: p.cell }));
    try {
      localStorage.setItem(QUEUE_KEY, JSON.stringify(list));
    } catch (_e) {
      /* storage full or blocked: the in-memory queue still resends */
    }
  }

  function loadQueue() {
    try {
      const list = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
      for (const item of list) {
        pending.set(item.id, { envelope: item.envelope, cell: item.cell });
        if (item.cell) cellStatus[item.cell] = { state: "offline" };
      }
    } catch (_e) {
      localStorage.removeItem(QUEUE_KEY);
    }
  }

  async function enqueue(envelope, cell) {
    pending.set(envelope.id, { envelope, cell });
    saveQueue();
    if (cell) cellStatus[cell] = { state: connected ? "sending" : "offline" };
    render();
    return send(envelope.id);
  }

  // Send one queued command; on an ack it leaves the queue, on a lost connection it stays.
  async function send(id) {
    const item = pending.get(id);
    if (!item || !connected || sending.has(id)) return null;
    sending.add(id);
    if (item.cell) cellStatus[item.cell] = { state: "sending" };
    render();
    let answer;
    try {
      answer = await stream.call("command", item.envelope);
    } catch (_e) {
      sending.delete(id);
      if (item.cell) cellStatus[item.cell] = { state: "offline" };
      render();
      return null; // no ack (timeout or disconnect): resent with the same id on reconnect
    }
    sending.delete(id);
    pending.delete(id);
    saveQueue();
    if (item.cell && cellStatus[item.cell] && pendingFor(item.cell) === null) {
      cellStatus[item.cell] = answer.ok ? { state: "saved" } : { state: "error", error: answer.error };
    }
    render();
    return answer;
  }

  function pendingFor(cell) {
    for (const [id, p] of pending) if (p.cell === cell) return id;
    return null;
  }

  // The value of the last score queued for a cell (shown in it after a reload), or null.
  function queuedValue(cell) {
    let value = null;
    for (const p of pending.values()) {
      if (p.cell !== cell || p.envelope.type !== "score.set") continue;
      try {
        value = JSON.parse(p.envelope.signed).value;
      } catch (_e) {
        /* not ours to read: leave the cell as it is */
      }
    }
    return typeof value === "string" ? value : null;
  }

  function flushQueue() {
    for (const id of [...pending.keys()]) send(id);
  }

  // ---- rendering ----
  function render() {
    if (!view) return;
    const gone = recusal.replaced();
    if (gone) {
      renderReplaced(gone);
      return;
    }
    renderOfflineNote();
    $("phase").textContent = E.PHASE_LABELS[view.phase] || view.phase || "—";
    // A supervisor paused the evaluation: the server refuses every step until it resumes.
    // A supervisor replaced this seat's device: this browser's key signs nothing any more.
    const revoked = record && view.seats && view.seats[SEAT] && view.seats[SEAT].enrolled === false && view.phase !== "prepared";
    $("paused-note").hidden = !view.paused && !view.sealed && !revoked;
    $("paused-note").textContent = revoked && !view.sealed
      ? "此席位的签名密钥已被监督人员撤销（更换设备），请在新设备上用新的登记码登记 This seat's key was revoked: enrol on the new device with the new code"
      : view.sealed
      ? `会话已封存，不再接受任何操作 The session is sealed: nothing more can be done here · ${E.SEAL_CAUSES[view.sealed.cause] || view.sealed.cause}`
      : view.paused
        ? `评标已暂停，请等待监督人员恢复 The evaluation is paused until a supervisor resumes it · ${view.paused.reason || ""}`
        : "";
    const lot = view.lot;
    if (lot && lot.project) $("project").textContent = `${lot.project.code || ""} ${lot.project.name || ""}`;
    const me = (view.seats && view.seats[SEAT]) || {};
    $("pledge").hidden = !record;
    if (pledgeFoldedFor !== !!me.signed_in) {
      pledgeFoldedFor = !!me.signed_in;
      $("pledge-text").open = !me.signed_in; // folds away once signed; the expert may reopen it
    }
    $("sign-button").disabled = !connected || !!me.signed_in || view.phase !== "sign_in";
    $("pledge-state").textContent = me.signed_in
      ? "已签署 Signed"
      : view.phase === "prepared"
        ? "等待签到开始 Waiting for sign-in to open"
        : "";
    $("sheet").hidden = !record || !lot;
    if (lot) sheet.render(lot, me);
    $("submit-button").disabled = !connected || !!me.submitted || view.phase !== "scoring" || !me.signed_in;
    $("submit-state").textContent = me.submitted ? "已提交 Submitted" : "";
    if (lot) {
      const [filled, total] = sheet.progress(lot);
      $("sheet-progress").textContent = `已填 ${filled} / ${total} filled`;
      if (incompleteShown && filled === total) {
        incompleteShown = false;
        $("submit-error").textContent = "";
      }
    }
    renderElapsed();
    committee.render();
    report.render();
    recusal.render();
    clarification.render();
  }

  // A supervisor approved this seat's recusal: a reserve took a new seat and this seat's tokens
  // and key are void (server/domain/recusal.py). The page says so, stops its connections, drops
  // the commands it still queued (nothing signed with this key is taken any more) and keeps the
  // fact in its record, so that a reload says it again instead of failing to sign in.
  let ended = false;
  function renderReplaced(gone) {
    const parts = ["enrol", "pledge", "sheet", "committee", "report", "recusal", "clarification", "media", "paused-note", "offline-note"];
    for (const id of parts) $(id).hidden = true;
    $("replaced-note").hidden = false;
    $("replaced-note").textContent = recusal.replacedText(gone);
    $("conn").textContent = "已回避 Recused";
    $("conn").className = "offline";
    if (ended) return;
    ended = true;
    if (media) media.stop();
    if (stream) stream.socket.disconnect();
    pending.clear();
    saveQueue();
    if (record && !record.replaced) {
      record = { ...record, replaced: gone };
      dbPut(KEY_ID, record).catch(() => {});
    }
  }

  async function freshToken() {
    if (!tokenFresh(record.token)) {
      await login();
      if (stream) stream.token = record.token;
    }
    return record.token;
  }

  // "Scoring for 1:05:12" in the header, from when the scoring phase began (phase_times).
  function renderElapsed() {
    const since = view && view.phase_times && view.phase_times.scoring;
    const end = view && view.phase_times && view.phase_times.review;
    $("elapsed").textContent = since ? E.duration((end || Date.now()) - since) : "—";
  }
  setInterval(() => view && renderElapsed(), 1000);



  function setStatus(text, isConnected) {
    if (ended) return; // replaced: the page's own note says why it is offline
    connected = isConnected;
    if (!isConnected) offlineKnown = true;
    const conn = $("conn");
    conn.textContent = text;
    conn.className = isConnected ? "online" : "offline";
    render();
  }

  // ---- live media (media.js), once the seat has its token ----
  let media = null;
  function startMedia() {
    if (media || !window.EvalroomMedia) return;
    $("media").hidden = false;
    media = window.EvalroomMedia({ token: () => freshToken(), role: "expert", seat: SEAT, container: $("media-panel") });
    window.evalroomMedia = media; // for the browser tests
  }

  // ---- start ----
  async function connect() {
    if (!tokenFresh(record.token)) {
      try {
        await login();
      } catch (e) {
        // No server to sign in with: an enrolled seat goes on with the token it holds; when the
        // server is back it refuses that token and onAuthError below signs in again.
        if (!(unreachable(e) && record.token)) throw e;
      }
    }
    $("enrol").hidden = true;
    $("pledge").hidden = false;
    stream = new E.Stream(record.token, SEAT, {
      onView: (v) => {
        view = v;
        viewSavedAt = null;
        scheduleViewSave();
        render();
      },
      onEvent: (ev) => {
        if (ev.data && ev.data.seat === SEAT) ownEventFolded = true;
        report.fold(ev);
        committee.onEvent(ev);
        recusal.onEvent(ev); // this seat's replacement ends the page at the next render
        // our own score arriving in the log marks that cell saved
        if (ev.type === "score.set" && ev.data && ev.data.seat === SEAT) {
          const key = `${ev.data.code || ev.data.bidder}/${ev.data.criterion}`;
          if (pendingFor(key) === null && !(cellStatus[key] && cellStatus[key].state === "error")) {
            cellStatus[key] = { state: "saved" };
          }
        }
      },
      onStatus: setStatus,
      onConnected: () => {
        flushQueue();
        committee.refreshFlags();
        // a report download that failed while offline is tried again
        if ($("report-loading").className === "error") report.reload();
      },
      // the token expired (or was refused): sign in again with the seat key; true = reconnect
      onAuthError: async (err) => {
        if (err.code !== "token_expired" && err.code !== "unauthenticated") return false;
        try {
          await login();
          stream.token = record.token;
          return true;
        } catch (e) {
          setStatus("登录失败 Login failed: " + errorText(e), false);
          return false;
        }
      },
    });
    // for debugging and the browser tests
    window.evalroomSeat = { stream, pending, storedSeq: () => storedSeq, saveView };
    startMedia();
  }

  async function start() {
    $("seat-id").textContent = `${SEAT} · ${SESSION}`;
    document.title = `评标席位 ${SEAT} — evalroom`;
    if (!window.crypto || !crypto.subtle) {
      $("enrol").hidden = false;
      $("enrol-error").textContent = "此浏览器不支持 WebCrypto（需要 https 或 localhost）。This browser has no WebCrypto (needs https or localhost).";
      return;
    }
    registerWorker();
    loadQueue();
    record = await dbGet(KEY_ID);
    if (!record) {
      $("enrol").hidden = false;
      $("code").focus();
      return;
    }
    const pendingEnrolment = !record.token; // a key kept while an enrolment went unanswered
    if (!pendingEnrolment) await restoreView();
    recusal.restore(record.replaced);
    if (recusal.replaced()) {
      renderReplaced(recusal.replaced()); // replaced before this load: nothing to sign in to
      return;
    }
    setTimeout(() => {
      offlineKnown = true;
      render();
    }, OFFLINE_AFTER_MS);
    try {
      await connect();
    } catch (e) {
      $("enrol").hidden = false;
      if (!pendingEnrolment) $("enrol-error").textContent = "登录失败 Login failed: " + errorText(e) + recusal.loginHint();
    }
  }

  $("enrol-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = $("enrol-button");
    button.disabled = true;
    $("enrol-error").textContent = "";
    try {
      await enrol($("code").value.trim());
      await connect();
    } catch (e) {
      $("enrol-error").textContent = "登记失败 Enrolment failed: " + (e && e.code ? errorText(e) : String(e));
    } finally {
      button.disabled = false;
    }
  });

  $("sign-button").addEventListener("click", async () => {
    $("pledge-error").textContent = "";
    const envelope = await signedEnvelope("expert.sign_in", { pledge: PLEDGE_ID });
    const answer = await enqueue(envelope, null);
    if (answer && !answer.ok) $("pledge-error").textContent = errorText(answer.error);
  });

  $("report-sign").addEventListener("click", () => report.sign(false));
  $("report-sign-dissent").addEventListener("click", () => report.sign(true));
  $("report-dissent").addEventListener("input", () => render());
  $("report-reload").addEventListener("click", () => report.reload());
  $("report-embed").addEventListener("toggle", () => render());

  $("submit-button").addEventListener("click", async () => {
    $("submit-error").textContent = "";
    const [filled, total, missing] = sheet.progress(view.lot);
    for (const input of missing) input.classList.add("missing");
    if (missing.length) {
      incompleteShown = true;
      $("submit-error").textContent = `评分表未填完：还有 ${missing.length} 项（已标出）。The sheet is incomplete: ${missing.length} cells are missing (marked).`;
      missing[0].focus();
      return;
    }
    const yes = await E.confirm(
      `提交评分表？已填 ${filled} / ${total} 项。提交后只能更正有争议的客观分。`,
      `Submit the sheet (${filled} of ${total} cells)? Afterwards only a disputed objective value can change.`,
    );
    if (!yes) return;
    const envelope = await signedEnvelope("sheet.submit", {});
    const answer = await enqueue(envelope, null);
    if (answer && !answer.ok) {
      const d = answer.error.details || {};
      const cells = d.cells ? " " + d.cells.join(", ") : "";
      $("submit-error").textContent = errorText(answer.error) + cells;
      for (const key of d.cells || []) {
        const input = document.querySelector(`input[data-cell="${CSS.escape(key)}"]`);
        if (input) input.classList.add("missing");
      }
    }
  });

  // the last few events before the page goes away (or to the background) are stored too
  addEventListener("pagehide", () => {
    if (saveTimer) saveView();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && saveTimer) saveView();
  });

  start();
})();
