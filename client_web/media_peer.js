// One peer connection's plumbing for media.js: its state reported to the server and a restart
// when it failed or stayed disconnected, its ICE candidates trickled once the server holds the
// connection, and the codec preference the embedded backend needs (VP8).
// Plain script: window.EvalroomMediaPeer = {watch, trickle, preferVp8}.
"use strict";

(function () {
  const RESTART_AFTER_DISCONNECTED_MS = 5000;

  // Report a connection's state to the server, restart it when it failed or stayed disconnected.
  // `media`: {socket, call, showError} of the page's media handle.
  function watch(pc, conn, restartNow, show, media) {
    let timer = null;
    const restart = () => Promise.resolve(restartNow()).catch((e) => media.showError(`媒体错误 Media error: ${e.message || e}`, e));
    pc.addEventListener("connectionstatechange", () => {
      const state = pc.connectionState;
      show(state);
      if (media.socket.connected) media.call("state", { conn, state });
      clearTimeout(timer);
      if (state === "failed") restart();
      else if (state === "disconnected") {
        timer = setTimeout(() => pc.connectionState === "disconnected" && restart(), RESTART_AFTER_DISCONNECTED_MS);
      }
    });
    return () => clearTimeout(timer);
  }

  // Trickle this side's candidates, held back until the server holds the connection (the worker
  // drops candidates of a connection it does not know yet).
  function trickle(pc, conn, call) {
    const held = [];
    let ready = false;
    pc.addEventListener("icecandidate", (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return;
      const c = ev.candidate.toJSON();
      const message = { conn, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      if (c.usernameFragment) message.usernameFragment = c.usernameFragment;
      if (ready) call("candidate", message);
      else held.push(message);
    });
    return () => {
      ready = true;
      for (const message of held.splice(0)) call("candidate", message);
    };
  }

  function preferVp8(transceiver) {
    // The embedded backend forwards and records VP8 only (and its retransmissions, RTX).
    const caps = window.RTCRtpSender && RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities("video");
    if (!caps || !transceiver.setCodecPreferences) return;
    const wanted = caps.codecs.filter((c) => /^video\/(vp8|rtx)$/i.test(c.mimeType));
    if (wanted.length) transceiver.setCodecPreferences(wanted);
  }

  window.EvalroomMediaPeer = { watch, trickle, preferVp8, RESTART_AFTER_DISCONNECTED_MS };
})();
