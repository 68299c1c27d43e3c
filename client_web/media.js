// Live media of the seat and supervisor pages over the /media socket.io namespace.
// Connections are one-way (signaling/namespace.py, signaling/messages.py): a seat offers on its
// publishing connection ("pub"); the server offers one connection per source seat, which this
// page answers. A connection that fails, or stays disconnected for 5 s, is restarted. After a
// socket.io reconnect the server has already closed this member's connections (a disconnect is a
// leave), so the page joins again, publishes on a new connection and answers the new offers.
// Plain script: window.EvalroomMedia(options) -> handle; window.EvalroomMedia.tile(...).
"use strict";

(function () {
  const { STATE_LABELS, SELF, deviceErrorText, tile, setTileState } = window.EvalroomMediaTiles;
  const { watch: watchPeer, trickle: tricklePeer, preferVp8 } = window.EvalroomMediaPeer;
  const { RESTART_AFTER_DISCONNECTED_MS } = window.EvalroomMediaPeer;
  const CALL_TIMEOUT_MS = 15000;
  const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 20 } };

  function el(tag, attrs, ...children) {
    return window.Evalroom.el(tag, attrs, ...children);
  }

  function EvalroomMedia(options) {
    const container = options.container;
    const onError = options.onError || (() => {});
    const onStatus = options.onStatus || null;
    const isExpert = options.role === "expert";
    const label = options.label || ((source) => source);
    const getToken = typeof options.token === "function" ? options.token : () => options.token;
    const base = options.base || location.origin;

    let iceServers = [];
    let publishes = false;
    let local = null; // MediaStream of camera + microphone
    let pub = null; // {pc, stop}
    let pubRestarting = false;
    let joined = null; // a promise of the join answer on the current socket connection
    let offers = Promise.resolve(); // offers are handled one at a time, in arrival order
    let stopped = false;
    const subs = new Map(); // source seat -> {conn, pc, stop, restarting}
    const muted = { audio: false, video: false };

    const controls = el("div", { class: "media-controls", hidden: "" });
    const muteButton = el("button", { type: "button", class: "media-mute", "aria-pressed": "false" });
    const cameraButton = el("button", { type: "button", class: "media-camera", "aria-pressed": "false" });
    const retryButton = el("button", { type: "button", class: "media-retry", hidden: "" }, "重试 Retry");
    const soundButton = el("button", { type: "button", class: "media-sound", hidden: "" }, "启用声音 Enable sound");
    const connText = el("span", { class: "media-conn" }, STATE_LABELS.offline);
    const errorLine = el("p", { class: "error media-error", role: "alert" });
    const tiles = el("div", { class: "tiles" });
    controls.append(muteButton, cameraButton, retryButton);
    container.replaceChildren(el("div", { class: "media-bar" }, controls, soundButton, connText), errorLine, tiles);

    function showError(text, error) {
      errorLine.textContent = text;
      onError(text, error);
    }

    function ownTile() {
      return tile(tiles, SELF, "本席位 This seat");
    }

    const socket = io(base + "/media", {
      transports: ["websocket"],
      auth: (cb) => {
        Promise.resolve(getToken()).then(
          (token) => cb({ token }),
          () => cb({ token: null }),
        );
      },
      reconnectionDelayMax: 5000,
    });

    async function call(event, data) {
      try {
        return await socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, data || {});
      } catch (_e) {
        return { ok: false, error: { code: "timeout", message: `no answer to ${event}` } };
      }
    }

    // A connection's state reported and its restarts (media_peer.js), with this page's socket.
    function watch(pc, conn, restartNow, show) {
      return watchPeer(pc, conn, restartNow, show, { socket, call, showError });
    }

    function trickle(pc, conn) {
      return tricklePeer(pc, conn, call);
    }

    function play(video) {
      const started = video.play();
      if (started && started.catch) {
        started.catch((error) => {
          // autoplay with sound needs a click on this page (an AbortError is just a reload)
          if (error && error.name === "NotAllowedError") soundButton.hidden = false;
        });
      }
    }

    // ---- publishing (experts) ----
    async function openDevices() {
      retryButton.hidden = true;
      try {
        local = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA });
      } catch (error) {
        local = null;
        retryButton.hidden = false;
        setTileState(ownTile(), "failed");
        showError(deviceErrorText(error), error);
        return false;
      }
      errorLine.textContent = "";
      for (const track of local.getTracks()) track.enabled = !muted[track.kind];
      const video = ownTile().querySelector("video");
      video.muted = true; // the own preview never plays the own microphone
      video.srcObject = local;
      play(video);
      return true;
    }

    function closePub() {
      if (!pub) return;
      pub.stop();
      pub.pc.close();
      pub = null;
    }

    async function publish(restart) {
      if (!local || !socket.connected) return;
      closePub();
      const pc = new RTCPeerConnection({ iceServers });
      for (const track of local.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: "sendonly", streams: [local] });
        if (track.kind === "video") preferVp8(transceiver);
      }
      const flush = trickle(pc, "pub");
      const stop = watch(pc, "pub", () => restartPub(), (state) => setTileState(ownTile(), state));
      pub = { pc, stop };
      setTileState(ownTile(), "connecting");
      await pc.setLocalDescription(await pc.createOffer());
      const answer = await call("publish", restart ? { sdp: pc.localDescription.sdp, restart: true } : { sdp: pc.localDescription.sdp });
      if (!pub || pub.pc !== pc) return; // replaced meanwhile
      if (!answer.ok) {
        setTileState(ownTile(), "failed");
        showError(`发布失败 Publishing failed: ${answer.error.code}`, answer.error);
        return;
      }
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      flush();
    }

    async function restartPub() {
      if (pubRestarting || !pub || stopped) return;
      pubRestarting = true;
      setTileState(ownTile(), "restarting");
      try {
        // The server answers {republish: true}: a new offer on a new connection replaces this one.
        await call("restart", { conn: "pub" });
        await publish(true);
      } finally {
        pubRestarting = false;
      }
    }

    // ---- what the server sends down ----
    function closeSub(source) {
      const sub = subs.get(source);
      if (!sub) return;
      sub.stop();
      sub.pc.close();
      subs.delete(source);
    }

    async function answerOffer(data) {
      await joined;
      if (stopped) return;
      const { conn, source, kinds, sdp } = data;
      closeSub(source);
      const node = tile(tiles, source, label(source));
      node.dataset.kinds = (kinds || []).join(" ");
      if (!node.dataset.owner) node.dataset.owner = "media";
      const video = node.querySelector("video");
      const stream = new MediaStream();
      const pc = new RTCPeerConnection({ iceServers });
      const sub = { conn, pc, restarting: false, stop: null };
      pc.addEventListener("track", (ev) => {
        stream.addTrack(ev.track);
        if (video.srcObject !== stream) {
          video.srcObject = stream;
          play(video);
        }
      });
      const flush = trickle(pc, conn);
      sub.stop = watch(pc, conn, () => restartSub(source), (state) => setTileState(node, state));
      subs.set(source, sub);
      setTileState(node, "connecting");
      await pc.setRemoteDescription({ type: "offer", sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      const answer = await call("subscribe_answer", { conn, sdp: pc.localDescription.sdp });
      if (subs.get(source) !== sub) return;
      if (!answer.ok) {
        setTileState(node, "failed");
        return;
      }
      flush();
    }

    async function restartSub(source) {
      const sub = subs.get(source);
      if (!sub || sub.restarting || stopped) return;
      sub.restarting = true;
      setTileState(tile(tiles, source, label(source)), "restarting");
      const answer = await call("restart", { conn: sub.conn });
      // On success a fresh offer for this source replaces the connection; else try again later.
      if (!answer.ok && subs.get(source) === sub) {
        setTimeout(() => {
          sub.restarting = false;
          if (subs.get(source) === sub && sub.pc.connectionState !== "connected") restartSub(source);
        }, RESTART_AFTER_DISCONNECTED_MS);
      }
    }

    function dropSource(source, state) {
      closeSub(source);
      const node = tile(tiles, source, label(source));
      if (node.dataset.owner === "media") {
        node.remove();
        return;
      }
      node.querySelector("video").srcObject = null;
      setTileState(node, state);
    }

    // ---- the socket ----
    async function join() {
      const answer = await call("join", {});
      if (!answer.ok) {
        connText.textContent = `加入失败 Join failed: ${answer.error.code}`;
        return answer;
      }
      connText.textContent = "";
      iceServers = answer.ice_servers || [];
      publishes = !!answer.publishes;
      controls.hidden = !publishes;
      return answer;
    }

    async function joinAndPublish() {
      joined = join();
      const answer = await joined;
      if (!answer.ok || !publishes) return;
      if (!local && !(await openDevices())) return;
      await publish(false);
      for (const kind of ["audio", "video"]) if (muted[kind]) call("mute", { kind, muted: true });
    }

    function dropAll(state) {
      closePub();
      if (local) setTileState(ownTile(), state);
      for (const source of [...subs.keys()]) {
        const node = tile(tiles, source, label(source));
        closeSub(source);
        setTileState(node, state);
      }
    }

    socket.on("connect", () => {
      joinAndPublish().catch((e) => showError(`媒体错误 Media error: ${e.message || e}`, e));
    });
    socket.on("disconnect", () => {
      connText.textContent = STATE_LABELS.offline;
      dropAll("restarting"); // the server closed them: this member left when its socket closed
    });
    socket.on("connect_error", (err) => {
      connText.textContent = `媒体连接失败 Media connect failed: ${(err.data && err.data.code) || err.message}`;
    });
    socket.on("offer", (data) => {
      offers = offers.then(() => answerOffer(data)).catch((e) => showError(`媒体错误 Media error: ${e.message || e}`, e));
    });
    socket.on("unpublished", (data) => {
      offers = offers.then(() => {
        const sub = subs.get(data.source);
        if (sub && sub.conn === data.conn) dropSource(data.source, "unpublished");
      });
    });
    socket.on("restart", () => {
      // The media backend restarted: every connection is gone; publish again, offers follow.
      dropAll("restarting");
      if (publishes) publish(true).catch((e) => showError(`媒体错误 Media error: ${e.message || e}`, e));
    });
    socket.on("status", (message) => {
      if (onStatus) onStatus(message);
    });
    socket.on("ended", () => {
      // The session closed: the server ended its media room (recordings closed) and takes no
      // one any more; the camera and microphone are released and nothing reconnects.
      stop();
      connText.textContent = "会话已结束，音视频已关闭 The session ended: media has stopped";
    });

    // ---- controls ----
    function setMuted(kind, value) {
      muted[kind] = value;
      if (local) for (const track of local.getTracks()) if (track.kind === kind) track.enabled = !value;
      if (socket.connected && pub) call("mute", { kind, muted: value });
      renderControls();
    }

    function renderControls() {
      muteButton.textContent = muted.audio ? "取消静音 Unmute" : "静音 Mute";
      muteButton.setAttribute("aria-pressed", String(muted.audio));
      cameraButton.textContent = muted.video ? "打开摄像头 Camera on" : "关闭摄像头 Camera off";
      cameraButton.setAttribute("aria-pressed", String(muted.video));
      if (isExpert) ownTile().dataset.muted = [muted.audio ? "audio" : "", muted.video ? "video" : ""].join(" ").trim();
    }

    muteButton.addEventListener("click", () => setMuted("audio", !muted.audio));
    cameraButton.addEventListener("click", () => setMuted("video", !muted.video));
    retryButton.addEventListener("click", async () => {
      if (await openDevices()) await publish(false);
    });
    soundButton.addEventListener("click", () => {
      soundButton.hidden = true;
      for (const video of tiles.querySelectorAll("video")) if (video.srcObject) play(video);
    });
    renderControls();

    async function senderStats() {
      const out = {};
      if (!pub) return out;
      const report = await pub.pc.getStats();
      report.forEach((s) => {
        if (s.type === "outbound-rtp") out[s.kind] = { ...s, mimeType: (report.get(s.codecId) || {}).mimeType };
      });
      return out;
    }

    function stop() {
      stopped = true;
      if (socket.connected) call("leave", {});
      dropAll("closed");
      if (local) for (const track of local.getTracks()) track.stop();
      socket.disconnect();
    }

    return {
      socket,
      tiles,
      subs,
      get publisher() {
        return pub && pub.pc;
      },
      get local() {
        return local;
      },
      setMuted,
      senderStats,
      restartPub,
      restartSub,
      stop,
    };
  }

  EvalroomMedia.tile = tile;
  EvalroomMedia.setTileState = setTileState;
  EvalroomMedia.deviceErrorText = deviceErrorText;
  EvalroomMedia.STATE_LABELS = STATE_LABELS;
  window.EvalroomMedia = EvalroomMedia;
})();
