// The expert's seat page: /seat/{session}/{seat}.
// Enrols a non-extractable Ed25519 key (WebCrypto) kept in IndexedDB, signs every command, and
// keeps unacknowledged commands (memory + localStorage) to resend with the same id on reconnect:
// the key, the queue and the stored view are seat_store.js, enrolment and sign-in seat_login.js.
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
  const OFFLINE_AFTER_MS = 2000; // no connection by then: say so (a refused connect says it at once)
  const $ = (id) => document.getElementById(id);

  let stream = null;
  let connected = false;
  let view = null;
  // The key, the signed commands' queue and the stored view (seat_store.js).
  const store = window.EvalroomSeatStore({
    session: SESSION,
    seat: SEAT,
    view: () => view,
    streamView: () => stream && stream.view,
    connected: () => connected,
    call: (name, data) => stream.call(name, data),
    render,
  });
  const { cellStatus, pendingFor, signedEnvelope, enqueue } = store;
  const enrolled = () => !!store.record();
  // Enrolment and the signed login (seat_login.js).
  const auth = window.EvalroomSeatLogin({ session: SESSION, seat: SEAT, store });
  // What every panel sees of the page; each adds what it needs beyond it.
  const base = {
    seat: SEAT,
    $,
    view: () => view,
    connected: () => connected,
    signedEnvelope,
    enqueue,
    errorText,
  };
  // The report panel (seat_report.js).
  const report = window.EvalroomSeatReport({
    ...base,
    session: SESSION,
    streamView: () => stream.view,
    enrolled,
    cellStatus,
    pendingFor,
    freshToken,
    render,
  });
  // The committee's steps (seat_committee.js).
  const committee = window.EvalroomSeatCommittee({
    ...base,
    call: (name, data) => stream.call(name, data),
    render,
    focusCell: (key) => sheet.focusCell(key),
  });
  // The score sheet: both grids, the cells' checks and states, arrow keys (seat_sheet.js).
  const sheet = window.EvalroomSeatSheet({
    ...base,
    cellStatus,
    pendingFor,
    queuedValue: store.queuedValue,
    render,
    correctable: () => committee.correctable(),
  });
  // Recusal (seat_recusal.js): the seat's declaration, and the page's end once it is replaced.
  const recusal = window.EvalroomSeatRecusal({ ...base, enrolled });
  // The committee's clarification questions to the bidders (seat_clarification.js).
  const clarification = window.EvalroomSeatClarification({ ...base });
  let incompleteShown = false; // the "sheet incomplete" message is up (cleared once complete)
  let pledgeFoldedFor = null; // the signed_in state the pledge text was last folded for
  let viewSavedAt = null; // when the view on screen was stored, while it is the stored one
  let offlineKnown = false; // the Stream reported no connection, or it took too long

  // Every code's zh-CN and English text from the one catalogue (errors.js).
  function errorText(error) {
    return error ? window.EvalroomErrors.text(error) : "";
  }

  // ---- the last view, for a reload without the server ----
  // Show the stored view until the Stream has one of its own.
  async function restoreView() {
    const stored = await store.restoreView();
    if (!stored) return;
    view = stored.view;
    viewSavedAt = stored.saved;
    render();
  }

  function renderOfflineNote() {
    const note = $("offline-note");
    note.hidden = connected || !offlineKnown || !enrolled();
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
    const revoked = enrolled() && view.seats && view.seats[SEAT] && view.seats[SEAT].enrolled === false && view.phase !== "prepared";
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
    $("pledge").hidden = !enrolled();
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
    $("sheet").hidden = !enrolled() || !lot;
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
    store.dropQueue();
    const record = store.record();
    if (record && !record.replaced) store.keep({ ...record, replaced: gone }).catch(() => {});
  }

  async function freshToken() {
    if (!auth.tokenFresh(store.record().token)) {
      await auth.login();
      if (stream) stream.token = store.record().token;
    }
    return store.record().token;
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
    if (!auth.tokenFresh(store.record().token)) {
      try {
        await auth.login();
      } catch (e) {
        // No server to sign in with: an enrolled seat goes on with the token it holds; when the
        // server is back it refuses that token and onAuthError below signs in again.
        if (!(auth.unreachable(e) && store.record().token)) throw e;
      }
    }
    $("enrol").hidden = true;
    $("pledge").hidden = false;
    stream = new E.Stream(store.record().token, SEAT, {
      onView: (v) => {
        view = v;
        viewSavedAt = null;
        store.scheduleViewSave();
        render();
      },
      onEvent: (ev) => {
        store.fold(ev);
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
        store.flushQueue();
        committee.refreshFlags();
        // a report download that failed while offline is tried again
        if ($("report-loading").className === "error") report.reload();
      },
      // the token expired (or was refused): sign in again with the seat key; true = reconnect
      onAuthError: async (err) => {
        if (err.code !== "token_expired" && err.code !== "unauthenticated") return false;
        try {
          await auth.login();
          stream.token = store.record().token;
          return true;
        } catch (e) {
          setStatus("登录失败 Login failed: " + errorText(e), false);
          return false;
        }
      },
    });
    // for debugging and the browser tests
    window.evalroomSeat = { stream, pending: store.pending, storedSeq: store.storedSeq, saveView: store.saveView };
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
    store.loadQueue();
    const record = await store.loadRecord();
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
      await auth.enrol($("code").value.trim());
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

  start();
})();
