// The auditor's copy of a session log: loaded over HTTP with the auditor token (pages of
// GET …/events, 429 waited out) or read from an evalroom-archive/1 zip in the browser; and the
// timeline over it (the view at any seq, folded with Evalroom.applyView from the nearest kept copy).
"use strict";

window.EvalroomAuditLog = (function () {
  const E = window.Evalroom;
  const C = window.EvalroomCrypto;
  const SNAPSHOT_EVERY = 1000; // a structuredClone of the folded view every K events
  const EVENT_KEYS = ["v", "session", "seq", "t", "type", "actor", "data"];

  class LoadError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code || "";
    }
  }

  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const tick = () => new Promise((done) => setTimeout(done, 0));

  function emptyView() {
    return { seq: 0, phase: null, lot: null, seats: {}, cells: {} };
  }

  // Every event with the hash the server stored for it and, from an archive, its exact bytes.
  class AuditLog {
    constructor(source) {
      this.source = source; // "token" | "archive"
      this.session = "";
      this.events = []; // {v, session, seq, t, type, actor, data}
      this.leaves = []; // the stored leaf hash, hex (the answer's `hash`, or leaves.txt)
      this.raws = []; // Uint8Array of the archived line, or null (canonical JSON of the event)
      this.notes = []; // signed checkpoint notes, [{size, note, name}]
      this.nodeKey = null; // the node's verifier key text
      this.witnessKeys = [];
      this.manifest = null; // archive only
      this.zip = null; // archive only: the opened zip
      this.archived = 0; // archive only: the events it held
      this.problems = []; // [{kind, item, message}] found while reading
      this.enrolments = []; // seat.enrolled and seat.key_revoked events in log order
      this.snapshots = [emptyView()];
      this.live = emptyView();
    }

    get head() {
      return this.events.length;
    }

    raw(index) {
      return this.raws[index] || C.utf8.encode(E.canonical(this.events[index]));
    }

    push(event, leaf, raw) {
      if (event.seq !== this.events.length + 1) {
        throw new LoadError(`event seq ${event.seq} does not follow ${this.events.length}`, "gap");
      }
      this.events.push(event);
      this.leaves.push(leaf);
      this.raws.push(raw || null);
      if (event.type === "seat.enrolled" || event.type === "seat.key_revoked") this.enrolments.push(event);
      E.applyView(this.live, event, null);
      if (event.seq % SNAPSHOT_EVERY === 0) this.snapshots[event.seq / SNAPSHOT_EVERY] = structuredClone(this.live);
    }

    // The view after the first n events, folded from the nearest kept copy at or below n;
    // `from` (a view the caller owns, at a seq <= n) is folded on when that is shorter.
    viewAt(n, from) {
      n = Math.max(0, Math.min(this.events.length, n | 0));
      const base = Math.floor(n / SNAPSHOT_EVERY);
      let view;
      let at;
      if (from && from.seq <= n && from.seq >= base * SNAPSHOT_EVERY) {
        view = from;
        at = from.seq;
      } else {
        view = structuredClone(this.snapshots[base]);
        at = base * SNAPSHOT_EVERY;
      }
      for (let i = at; i < n; i++) E.applyView(view, this.events[i], null);
      view.seq = n;
      return view;
    }

    // The seat's enrolment in force at `seq` (its latest earlier seat.enrolled), or null (none,
    // or its key was revoked since: server/domain/recovery.py).
    enrolmentBefore(seat, seq) {
      let found = null;
      for (const ev of this.enrolments) {
        if (ev.seq >= seq) break;
        if (ev.data && ev.data.seat === seat) found = ev.type === "seat.enrolled" ? ev : null;
      }
      return found;
    }
  }

  // One authorized GET answered as JSON; 429 waits out Retry-After (or retry_after_ms).
  async function getJson(url, token, onWait) {
    for (;;) {
      const headers = token ? { Authorization: `Bearer ${token}` } : {};
      const response = await fetch(url, { headers, cache: "no-store" });
      let body = null;
      try {
        body = await response.json();
      } catch (_e) {
        body = null;
      }
      if (response.status === 429) {
        const details = (body && body.error && body.error.details) || {};
        const wait = details.retry_after_ms || 1000 * (Number(response.headers.get("Retry-After")) || 1);
        if (onWait) onWait(wait);
        await sleep(Math.min(wait, 30000));
        continue;
      }
      if (!response.ok || !body || !body.ok) {
        const error = (body && body.error) || { code: String(response.status), message: response.statusText };
        throw new LoadError(window.EvalroomErrors ? window.EvalroomErrors.text(error) : error.message, error.code);
      }
      return body;
    }
  }

  function take(log, answer) {
    for (const view of answer.events) {
      const { hash, ...event } = view;
      for (const key of Object.keys(event)) if (!EVENT_KEYS.includes(key)) delete event[key];
      log.push(event, hash, null);
    }
  }

  // Every checkpoint of a session over HTTP (pages of at most 1,000, oldest first).
  async function fetchNotes(session, after) {
    const notes = [];
    for (;;) {
      const url = `/api/sessions/${encodeURIComponent(session)}/checkpoints?after=${after}`;
      const page = (await getJson(url, null)).checkpoints;
      for (const cp of page) notes.push({ size: cp.size, note: cp.note, name: `checkpoint ${cp.size}`, time: cp.time });
      if (page.length < 1000) return notes;
      after = page[page.length - 1].size;
    }
  }

  // The whole log with the auditor token: pages of GET …/events?after=N (over HTTP the server
  // pages however far behind the reader starts; a snapshot would leave events out, so it is
  // refused).
  async function loadFromServer(session, token, progress) {
    const log = new AuditLog("token");
    log.session = session;
    const base = `/api/sessions/${encodeURIComponent(session)}`;
    const onWait = (ms) => progress({ stage: "wait", ms });
    for (;;) {
      const answer = await getJson(`${base}/events?after=${log.head}`, token, onWait);
      if (answer.snapshot) throw new LoadError("the server answered a snapshot, not the events", "snapshot");
      take(log, answer);
      progress({ stage: "events", done: log.head, total: answer.head });
      if (!answer.limited && log.head >= answer.head) break;
      await tick();
    }
    const node = await getJson("/api/node", null);
    if (!log.nodeKey) {
      log.nodeKey = node.verifier_key;
      log.witnessKeys = node.witnesses || [];
    }
    log.node = node;
    const known = log.notes.length ? log.notes[log.notes.length - 1].size : 0;
    log.notes = log.notes.concat(await fetchNotes(session, known));
    return log;
  }

  function lines(bytes) {
    const out = [];
    let start = 0;
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, start)) {
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
    if (start < bytes.length) out.push(bytes.subarray(start));
    return out;
  }

  // An evalroom-archive/1 zip (server/auditlog/archive.py): events.jsonl line i is the exact
  // bytes of seq i, leaves.txt line i its stored leaf hash, checkpoints/<size>.note the notes.
  async function readArchive(log, buffer, progress) {
    const zip = window.EvalroomZip.open(buffer);
    log.zip = zip;
    const text = new TextDecoder("utf-8", { fatal: true });
    const manifest = JSON.parse(text.decode(await zip.read("manifest.json")));
    log.manifest = manifest;
    log.session = manifest.session;
    log.nodeKey = manifest.node_key;
    log.witnessKeys = manifest.witness_keys || [];
    const events = lines(await zip.read("events.jsonl"));
    const leaves = text.decode(await zip.read("leaves.txt")).split("\n");
    for (let i = 0; i < events.length; i++) {
      const raw = events[i];
      let event;
      try {
        event = JSON.parse(text.decode(raw));
      } catch (e) {
        throw new LoadError(`events.jsonl line ${i + 1} is not JSON: ${e.message}`, "bad_event");
      }
      if (!event || event.seq !== i + 1) throw new LoadError(`events.jsonl line ${i + 1} holds seq ${event && event.seq}`, "bad_event");
      log.push(event, leaves[i] || "", raw);
      if (i % 5000 === 4999) {
        progress({ stage: "events", done: i + 1, total: events.length });
        await tick();
      }
    }
    progress({ stage: "events", done: events.length, total: events.length });
    log.archived = events.length;
    const notes = zip.names.filter((n) => /^checkpoints\/\d{12}\.note$/.test(n)).sort();
    for (const name of notes) {
      log.notes.push({ size: Number(name.slice(12, 24)), note: text.decode(await zip.read(name)), name });
    }
    return log;
  }

  async function loadFromArchive(buffer, progress) {
    const log = new AuditLog("archive");
    await readArchive(log, buffer, progress);
    return log;
  }

  return { AuditLog, LoadError, loadFromServer, loadFromArchive, getJson, SNAPSHOT_EVERY, emptyView };
})();
