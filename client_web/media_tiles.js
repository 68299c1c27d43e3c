// The media tiles of the seat and supervisor pages: one <figure> per source with its <video>,
// name and connection state (zh-CN and English), and what a camera or microphone failure says.
// Plain script: window.EvalroomMediaTiles; media.js and wall.js use it (through EvalroomMedia).
"use strict";

(function () {
  const STATE_LABELS = {
    offline: "未连接 Not connected",
    new: "等待 Waiting",
    connecting: "连接中 Connecting",
    connected: "已连接 Connected",
    disconnected: "已断开 Disconnected",
    failed: "连接失败 Failed",
    closed: "已关闭 Closed",
    restarting: "重新连接 Reconnecting",
    unpublished: "未发布 Not publishing",
  };
  const SELF = "self"; // the own preview's tile (seat ids never collide: they are venue-n)

  function el(tag, attrs, ...children) {
    return window.Evalroom.el(tag, attrs, ...children);
  }

  // A getUserMedia failure as a person can act on it, zh-CN first.
  function deviceErrorText(error) {
    const name = (error && error.name) || "";
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "摄像头/麦克风权限被拒绝：请在浏览器中允许本页使用摄像头和麦克风，然后重试。Camera or microphone permission denied: allow this page to use them in the browser, then retry.";
    }
    if (name === "NotFoundError") {
      return "未找到摄像头或麦克风：请检查设备是否连接。No camera or microphone found: check that they are plugged in.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "设备被占用：请关闭其他正在使用摄像头或麦克风的程序，然后重试。Device in use: close other programs using the camera or microphone, then retry.";
    }
    const detail = name ? ` (${name}${error.message ? ": " + error.message : ""})` : "";
    return `无法打开摄像头或麦克风${detail}。Could not open the camera or microphone${detail}.`;
  }

  // The tile of one source in `tiles` (created on first use): a <video>, the name and a state.
  function tile(tiles, source, label) {
    for (const node of tiles.children) if (node.dataset.source === source) return node;
    const video = el("video", { autoplay: "", playsinline: "" });
    const node = el(
      "figure",
      { class: "tile", "data-source": source, "data-state": "offline" },
      el("div", { class: "tile-video" }, video),
      el(
        "figcaption",
        {},
        el("span", { class: "tile-name" }, label || source),
        el("span", { class: "tile-state" }, STATE_LABELS.offline),
      ),
    );
    if (source === SELF) tiles.prepend(node);
    else tiles.append(node);
    return node;
  }

  function setTileState(node, state) {
    if (!node) return;
    node.dataset.state = state;
    node.querySelector(".tile-state").textContent = STATE_LABELS[state] || state;
  }

  window.EvalroomMediaTiles = { STATE_LABELS, SELF, deviceErrorText, tile, setTileState };
})();
