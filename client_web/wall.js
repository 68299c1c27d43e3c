// The supervisor's wall: one tile per seat of the session with its live video (media.js) and what
// the media worker reports of its tracks about every second (`status` on /media): live or not,
// bitrate from the byte counters' deltas, packets, losses, and how long since the last packet.
// The worker's clock stamps both `at_ms` and `last_ms`, so ages do not depend on this PC's clock.
// Plain script: window.EvalroomWall({container, token, base}) -> {setSeats(seats), media}.
"use strict";

(function () {
  const LIVE_WITHIN_MS = 3000; // a track whose last packet is older than this is dark
  const KIND_LABELS = { video: "视频 Video", audio: "音频 Audio" };

  function EvalroomWall(options) {
    const E = window.Evalroom;
    const tracks = new Map(); // "seat|kind" -> {packets, bytes, lost, keyframes, last_ms, kbps}
    const previous = new Map(); // "seat|kind" -> {bytes, at_ms} of the report before
    let lastAt = 0;
    let seats = [];

    const media = window.EvalroomMedia({
      base: options.base,
      token: options.token,
      role: "supervisor",
      container: options.container,
      onError: options.onError,
      onStatus: status,
    });
    const summary = E.el("span", { class: "wall-summary" });
    options.container.querySelector(".media-bar").append(summary);

    function tileOf(seat) {
      const node = window.EvalroomMedia.tile(media.tiles, seat, seat);
      if (!node.querySelector(".tile-stats")) node.append(E.el("div", { class: "tile-stats" }));
      return node;
    }

    // The seats of the session (from the supervisor's view): a tile for each, in seat order,
    // captioned with the venue's name from the lot (venueNames: venue id -> name).
    function setSeats(next, venueNames) {
      const ids = Object.keys(next || {}).sort();
      if (ids.join(" ") === seats.join(" ")) return;
      seats = ids;
      // a recused seat leaves the seats (server/domain/recusal.py): its tile leaves the wall
      for (const node of [...media.tiles.children]) {
        if (node.dataset.owner === "wall" && !ids.includes(node.dataset.source)) node.remove();
      }
      for (const seat of seats) {
        const node = tileOf(seat);
        node.dataset.owner = "wall"; // kept when the seat stops publishing
        const venue = (next[seat] && next[seat].venue) || "";
        node.querySelector(".tile-name").textContent = `${seat} · ${(venueNames && venueNames[venue]) || venue}`;
        media.tiles.append(node); // keeps the order
      }
      render();
    }

    function status(message) {
      const at = message.at_ms || 0;
      const list = message.tracks || [];
      if (list.some((t) => t.final)) {
        // a track closed: this report holds only the closing tracks
        for (const t of list) {
          tracks.delete(`${t.seat}|${t.kind}`);
          previous.delete(`${t.seat}|${t.kind}`);
        }
      } else {
        const seen = new Set();
        for (const t of list) {
          const key = `${t.seat}|${t.kind}`;
          seen.add(key);
          const before = previous.get(key);
          let kbps = null;
          if (before && at > before.at_ms && t.bytes >= before.bytes) {
            kbps = ((t.bytes - before.bytes) * 8) / (at - before.at_ms); // bytes per ms -> kbit/s
          }
          previous.set(key, { bytes: t.bytes, at_ms: at });
          tracks.set(key, { ...t, kbps });
        }
        for (const key of [...tracks.keys()]) if (!seen.has(key)) tracks.delete(key);
        lastAt = at;
      }
      for (const t of list) if (!seats.includes(t.seat)) tileOf(t.seat);
      render();
    }

    function statRow(kind, t) {
      const cells = [E.el("th", {}, KIND_LABELS[kind])];
      if (!t) {
        for (let i = 0; i < 4; i++) cells.push(E.el("td", {}, "—"));
      } else {
        const age = t.last_ms ? `${((lastAt - t.last_ms) / 1000).toFixed(1)} s` : "—";
        cells.push(
          E.el("td", {}, t.kbps === null ? "…" : String(Math.round(t.kbps))),
          E.el("td", {}, String(t.packets)),
          E.el("td", { class: t.lost ? "stat-lost" : "" }, String(t.lost)),
          E.el("td", {}, age),
        );
      }
      return E.el("tr", { "data-kind": kind }, ...cells);
    }

    function statTable(seat) {
      const head = E.el(
        "tr",
        {},
        E.el("th", {}, E.el("span", { class: "sr-only" }, "媒体 Media")),
        E.el("th", {}, "kb/s"),
        E.el("th", {}, "包 pkts"),
        E.el("th", {}, "丢 lost"),
        E.el("th", { title: "距最后一个包的秒数 seconds since the last packet" }, "最后 last"),
      );
      return E.el(
        "table",
        {},
        E.el("thead", {}, head),
        E.el("tbody", {}, statRow("video", tracks.get(`${seat}|video`)), statRow("audio", tracks.get(`${seat}|audio`))),
      );
    }

    function seatState(seat) {
      const video = tracks.get(`${seat}|video`);
      const audio = tracks.get(`${seat}|audio`);
      if (!video && !audio) return ["offline", "未连接 Offline"];
      const live = [video, audio].filter((t) => t && t.last_ms && lastAt - t.last_ms < LIVE_WITHIN_MS);
      if (live.length === [video, audio].filter(Boolean).length) return ["live", "在线 Live"];
      return ["dark", "无媒体 No media"];
    }

    function render() {
      let live = 0;
      for (const node of media.tiles.children) {
        const seat = node.dataset.source;
        if (!node.querySelector(".tile-stats")) continue;
        const [state, text] = seatState(seat);
        if (state === "live") live += 1;
        node.dataset.media = state;
        let badge = node.querySelector(".tile-badge");
        if (!badge) {
          badge = E.el("span", { class: "tile-badge" });
          node.querySelector("figcaption").prepend(badge);
        }
        badge.textContent = text;
        node.querySelector(".tile-stats").replaceChildren(statTable(seat));
      }
      const total = media.tiles.querySelectorAll(".tile-stats").length;
      summary.textContent = `在线 Live ${live} / ${total}`;
    }

    return { media, setSeats, status };
  }

  window.EvalroomWall = EvalroomWall;
})();
