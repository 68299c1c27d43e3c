// Playback of the seat recordings (录像回放) on the auditor page, and on the supervisor page once
// the session is closed. The list comes from GET /api/sessions/{s}/recordings (the log's
// recording.closed events); the player streams a file with ?token= (a <video> cannot send a
// header), and "verify" downloads it with the header and checks its SHA-256 with WebCrypto
// against the hash in the signed log. viewer.js creates it and hands it every event row, so
// each row gets a ▶ that opens the seat's recording at the moment of that event.
"use strict";

window.EvalroomReplay = function ({ token, session, role, container, view }) {
  const E = window.Evalroom;
  const base = `/api/sessions/${encodeURIComponent(session)}/recordings`;
  const TRACKS = { video: "视频 Video", audio: "音频 Audio" };
  let recordings = [];
  let visible = false;
  let loading = null;
  const checks = {}; // file -> {state: "running"|"match"|"mismatch"|"error", text}
  // what the tests read: the file playing and the last seek {file, target, currentTime}
  const state = { playing: null, seeked: null, message: "" };

  const status = E.el("p", { class: "replay-status", id: "replay-status" });
  const table = E.el("table", { id: "replay-list" });
  const caption = E.el("p", { class: "replay-caption", id: "replay-caption" }, "未选择录像 No recording selected");
  const stage = E.el("div", { class: "replay-stage", id: "replay-stage" });
  container.replaceChildren(
    E.el("h2", {}, "录像回放 Recordings"),
    E.el("div", { class: "replay-layout" },
      // focusable: a list wider than the column scrolls by keyboard too (axe scrollable-region-focusable)
      E.el("div", { class: "replay-table scroll", tabindex: "0", role: "region", "aria-label": "录像列表 Recordings list" }, table),
      E.el("div", { class: "replay-player" }, caption, stage, status)),
  );

  function hex(buffer) {
    return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString("zh-CN", { hour12: false });
  }

  // The venue's name from the lot (济宁市公共资源交易中心…), else its id.
  function venueOf(seat) {
    const v = view();
    const s = v && v.seats && v.seats[seat];
    if (!s || !s.venue) return "";
    const venues = (v.lot && v.lot.venues) || [];
    const named = venues.find((x) => x.id === s.venue);
    return (named && named.name) || s.venue;
  }

  function say(text) {
    state.message = text;
    status.textContent = text;
  }

  // Whose recording an event is about: its seat, or the expert a media event names.
  function seatOf(ev) {
    const data = ev.data || {};
    if (data.seat) return data.seat;
    if (typeof data.member === "string" && data.member.startsWith("expert:")) return data.member.slice(7);
    return null;
  }

  function covering(seat, t) {
    const hits = recordings.filter((r) => r.start_ms <= t && t <= r.end_ms && (!seat || r.seat === seat));
    // video first: it shows the seat; the audio recording plays when there is no video
    return hits.find((r) => r.track === "video") || hits[0] || null;
  }

  function renderList() {
    table.replaceChildren(
      E.el("tr", {},
        E.el("th", {}, "席位 Seat · 会场 Venue"), E.el("th", {}, "轨道 Track"),
        E.el("th", {}, "开始–结束 Start–end"), E.el("th", {}, "截断 Cut"),
        E.el("th", {}, "SHA-256"), E.el("th", {}, "操作 Actions")),
      ...recordings.map((r) => {
        const check = checks[r.file];
        const seconds = ((r.end_ms - r.start_ms) / 1000).toFixed(1);
        const row = E.el("tr", { "data-file": r.file, "data-seat": r.seat, "data-track": r.track },
          E.el("td", {}, r.seat, E.el("small", { class: "replay-venue" }, venueOf(r.seat))),
          E.el("td", {}, TRACKS[r.track] || r.track),
          E.el("td", {}, `${clock(r.start_ms)}–${clock(r.end_ms)} (${seconds} s)`),
          E.el("td", { class: r.cut ? "replay-cut" : "" }, r.cut ? "⚠ 截断 Cut" : "—"),
          E.el("td", { title: r.sha256 }, E.el("code", {}, r.sha256.slice(0, 12) + "…")),
          E.el("td", {}, E.el("div", { class: "replay-actions" },
            E.el("button", { type: "button", class: "replay-play", onclick: () => open(r, 0) }, "播放 Play"),
            E.el("button", { type: "button", class: "replay-verify", onclick: () => verify(r) }, "校验 Verify"),
            E.el("span", { class: `replay-check ${check ? check.state : ""}` }, check ? check.text : ""))),
        );
        if (state.playing === r.file) row.classList.add("playing");
        return row;
      }),
    );
    if (!recordings.length) table.append(E.el("tr", {}, E.el("td", { colspan: "6" }, "暂无录像 No recordings yet")));
  }

  async function refresh() {
    if (loading) return loading;
    loading = (async () => {
      try {
        const response = await fetch(base, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
        const body = await response.json();
        if (!response.ok || !body.ok) throw new Error((body.error && body.error.code) || response.status);
        recordings = body.recordings;
        renderList();
      } catch (e) {
        say(`录像列表加载失败 Could not load the recordings: ${e.message}`);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function waitFor(media, name) {
    return new Promise((resolve, reject) => {
      const done = () => { media.removeEventListener("error", fail); resolve(); };
      const fail = () => { media.removeEventListener(name, done); reject(new Error(media.error ? media.error.message || String(media.error.code) : "media error")); };
      media.addEventListener(name, done, { once: true });
      media.addEventListener("error", fail, { once: true });
    });
  }

  // Open a recording (in <video> or <audio>) and seek to `offset` seconds into it.
  async function open(r, offset) {
    let media = stage.firstChild;
    const tag = r.track === "audio" ? "AUDIO" : "VIDEO";
    if (!media || media.tagName !== tag || state.playing !== r.file) {
      media = document.createElement(tag.toLowerCase());
      media.controls = true;
      media.preload = "auto";
      media.id = "replay-media";
      const loaded = waitFor(media, "loadedmetadata");
      media.src = `${r.url}?token=${encodeURIComponent(token)}`;
      stage.replaceChildren(media);
      state.playing = r.file;
      renderList();
      await loaded;
    }
    caption.textContent = `${r.seat} ${venueOf(r.seat)} · ${TRACKS[r.track] || r.track} · ${clock(r.start_ms)}–${clock(r.end_ms)}${r.cut ? " · ⚠ 截断 Cut" : ""}`;
    const target = Math.max(0, offset);
    const seeked = waitFor(media, "seeked");
    media.currentTime = target;
    await seeked;
    state.seeked = { file: r.file, target, currentTime: media.currentTime };
    try {
      await media.play();
    } catch (_e) {
      /* autoplay refused: the controls are there */
    }
  }

  // ▶ on an event row: the recording of that event's seat that covers its time, at that time.
  async function playAt(ev) {
    if (!recordings.length) await refresh();
    if (ev.type === "recording.closed") {
      const r = recordings.find((x) => x.file === ev.data.file);
      if (r) {
        say(`#${ev.seq} ${ev.type} → ${r.file}`);
        return open(r, 0).catch((e) => say(`播放失败 Playback failed: ${e.message}`));
      }
    }
    const seat = seatOf(ev);
    const r = covering(seat, ev.t);
    if (!r) {
      say(`#${ev.seq}: 此时刻无${seat ? " " + seat + " 的" : ""}录像 No recording${seat ? " of " + seat : ""} covers ${clock(ev.t)}`);
      return;
    }
    const offset = (ev.t - r.start_ms) / 1000;
    say(`#${ev.seq} ${ev.type} · ${clock(ev.t)} → ${r.seat} ${offset.toFixed(1)} s${seat ? "" : " (事件不属于席位 event has no seat)"}`);
    try {
      await open(r, offset);
    } catch (e) {
      say(`播放失败 Playback failed: ${e.message}`);
    }
  }

  // The auditor's timeline moved to `t` (ms): the recording playing follows it, into the same
  // seat's recording of the same track that covers the new moment. Debounced: a dragged slider
  // seeks the media once it rests.
  let followTimer = null;
  function follow(t) {
    clearTimeout(followTimer);
    followTimer = setTimeout(() => followNow(t), 150);
  }

  async function followNow(t) {
    const now = recordings.find((x) => x.file === state.playing);
    if (!now || typeof t !== "number") return;
    const r = now.start_ms <= t && t <= now.end_ms
      ? now
      : recordings.find((x) => x.seat === now.seat && x.track === now.track && x.start_ms <= t && t <= x.end_ms);
    if (!r) {
      say(`${clock(t)}: ${now.seat} 此时刻无录像 No recording of ${now.seat} covers this moment`);
      return;
    }
    try {
      await open(r, (t - r.start_ms) / 1000);
    } catch (e) {
      say(`播放失败 Playback failed: ${e.message}`);
    }
  }

  // Download the file with the header and hash the exact bytes (the whole file is in memory).
  async function verify(r) {
    checks[r.file] = { state: "running", text: "校验中 Checking…" };
    renderList();
    let result;
    try {
      if (!(window.crypto && crypto.subtle)) throw new Error("WebCrypto 需要 HTTPS needs HTTPS");
      const response = await fetch(r.url, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const computed = hex(await crypto.subtle.digest("SHA-256", await response.arrayBuffer()));
      result = computed === r.sha256
        ? { state: "match", text: "✓ 一致 Match" }
        : { state: "mismatch", text: `✗ 不一致 Mismatch (${computed.slice(0, 12)}…)` };
    } catch (e) {
      result = { state: "error", text: `校验失败 Check failed: ${e.message}` };
    }
    checks[r.file] = result;
    renderList();
    return result;
  }

  // Every event row gets a ▶ (shown while the panel is visible, by CSS on body[data-replay]).
  function decorate(item, ev) {
    if (typeof ev.t !== "number") return;
    item.append(" ", E.el("button", {
      type: "button",
      class: "replay-at",
      title: "在此时刻播放录像 Play the recording at this moment",
      "aria-label": `在此时刻播放 Play at #${ev.seq}`,
      onclick: () => playAt(ev),
    }, "▶"));
  }

  function onEvent(ev) {
    if (ev.type === "recording.closed" && visible) refresh();
  }

  // Auditors always; supervisors once the session is closed.
  function setView(v) {
    const show = role === "auditor" || (v && v.phase === "closed");
    if (show === visible) return;
    visible = show;
    container.hidden = !show;
    document.body.dataset.replay = show ? "on" : "";
    if (show) refresh();
  }

  renderList();
  return { refresh, playAt, follow, verify, decorate, onEvent, setView, state, recordings: () => recordings };
};
