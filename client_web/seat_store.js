// The seat's store, for seat.js: the enrolled key and the signed commands not yet acknowledged.
// IndexedDB (db "evalroom", store "seats") keeps the seat's record at `${session}/${seat}`
// ({privateKey, publicKey, token, replaced?}; the Ed25519 private key is a non-extractable
// WebCrypto key, so the browser keeps it and nothing can read it out) and the page's last view
// at ["view", session, seat]. Every command is signed with that key and queued (memory +
// localStorage) until the server acknowledges it; a command still queued is resent with the same
// id on reconnect or after a reload, so the server takes it once. The last view is stored at most
// once a second as events fold (at once after this seat's own), for a reload without the server.
"use strict";

(function () {
  const E = window.Evalroom;
  const SAVE_VIEW_MS = 1000; // the stored view trails the live one by at most this

  window.EvalroomSeatStore = function (ctx) {
    const SESSION = ctx.session;
    const SEAT = ctx.seat;
    const KEY_ID = `${SESSION}/${SEAT}`;
    const QUEUE_KEY = `evalroom:pending:${KEY_ID}`;
    const VIEW_KEY = ["view", SESSION, SEAT]; // an array key: never equal to a seat record's string key

    let record = null; // {privateKey, publicKey, token}
    let counter = 0;
    const pending = new Map(); // command id -> {envelope, cell}
    const cellStatus = {}; // "B1/T1" -> {state, error}
    const sending = new Set(); // ids with a request in flight on this connection
    let storedSeq = 0; // the seq of the view last stored (or read back) here
    let saveTimer = null;
    let ownEventFolded = false; // an event of this seat since the view was last stored

    // ---- IndexedDB ----
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

    // ---- the seat's record (its key and token) ----
    async function loadRecord() {
      record = await dbGet(KEY_ID);
      return record;
    }

    // The record in use from now on, and stored (the promise settles once it is).
    function keep(value) {
      record = value;
      return dbPut(KEY_ID, value);
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

    // Nothing signed with this key is taken any more (the seat was replaced): forget the queue.
    function dropQueue() {
      pending.clear();
      saveQueue();
    }

    async function enqueue(envelope, cell) {
      pending.set(envelope.id, { envelope, cell });
      saveQueue();
      if (cell) cellStatus[cell] = { state: ctx.connected() ? "sending" : "offline" };
      ctx.render();
      return send(envelope.id);
    }

    // Send one queued command; on an ack it leaves the queue, on a lost connection it stays.
    async function send(id) {
      const item = pending.get(id);
      if (!item || !ctx.connected() || sending.has(id)) return null;
      sending.add(id);
      if (item.cell) cellStatus[item.cell] = { state: "sending" };
      ctx.render();
      let answer;
      try {
        answer = await ctx.call("command", item.envelope);
      } catch (_e) {
        sending.delete(id);
        if (item.cell) cellStatus[item.cell] = { state: "offline" };
        ctx.render();
        return null; // no ack (timeout or disconnect): resent with the same id on reconnect
      }
      sending.delete(id);
      pending.delete(id);
      saveQueue();
      if (item.cell && cellStatus[item.cell] && pendingFor(item.cell) === null) {
        cellStatus[item.cell] = answer.ok ? { state: "saved" } : { state: "error", error: answer.error };
      }
      ctx.render();
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
      const view = ctx.view();
      if (!view || view !== ctx.streamView()) return saving;
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

    // The stored view ({saved, view}) while the page has none of its own yet, or null.
    async function restoreView() {
      let stored = null;
      try {
        stored = await dbGet(VIEW_KEY);
      } catch (_e) {
        return null;
      }
      if (!stored || !stored.view || ctx.view()) return null;
      storedSeq = stored.view.seq;
      return stored;
    }

    // the last few events before the page goes away (or to the background) are stored too
    addEventListener("pagehide", () => {
      if (saveTimer) saveView();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.hidden && saveTimer) saveView();
    });

    return {
      record: () => record,
      loadRecord,
      keep,
      sign,
      signedEnvelope,
      pending,
      cellStatus,
      loadQueue,
      dropQueue,
      enqueue,
      pendingFor,
      queuedValue,
      flushQueue,
      scheduleViewSave,
      saveView,
      restoreView,
      storedSeq: () => storedSeq,
      // An event of this seat's own: the view after it is stored at once.
      fold: (ev) => {
        if (ev.data && ev.data.seat === SEAT) ownEventFolded = true;
      },
    };
  };
})();
