// The supervisor page: /supervisor/{session}#token=... (the public screen and the auditor have
// pages of their own: public.js, auditor.js).
"use strict";

(function () {
  const E = window.Evalroom;
  const parts = location.pathname.split("/").filter(Boolean); // [role, session]
  const ROLE = "supervisor";
  const SESSION = decodeURIComponent(parts[1] || "");
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const $ = (id) => document.getElementById(id);
  let view = null;
  let connected = false;
  let stream = null;
  let counter = 0;
  let wall = null; // supervisors only: the video wall (wall.js)
  let replay = null; // after the session: recordings (replay_media.js)

  function yesNo(flag) {
    if (flag === null || flag === undefined) return "?";
    return flag ? "✓" : "—";
  }

  function render() {
    if (!view) return;
    $("phase").textContent = E.PHASE_LABELS[view.phase] || view.phase || "—";
    const lot = view.lot;
    if (lot && lot.project) $("project").textContent = `${lot.project.code || ""} ${lot.project.name || ""}`;
    const total = E.typedCriteria(lot).length * E.bidderIds(lot).length;
    const table = $("seats");
    table.replaceChildren(
      E.el(
        "tr",
        {},
        E.el("th", {}, "席位 Seat"),
        E.el("th", {}, "会场 Venue"),
        E.el("th", {}, "已登记 Enrolled"),
        E.el("th", {}, "已签到 Signed in"),
        E.el("th", {}, "已提交 Submitted"),
        E.el("th", {}, "进度 Progress"),
        E.el("th", {}, "在线 Online"),
      ),
    );
    const venueNames = Object.fromEntries(((lot && lot.venues) || []).map((v) => [v.id, v.name]));
    for (const [seat, s] of Object.entries(view.seats || {})) {
      const filled = Object.keys((view.cells && view.cells[seat]) || {}).length;
      table.append(
        E.el(
          "tr",
          { "data-seat": seat },
          E.el("td", {}, seat),
          E.el("td", {}, venueNames[s.venue] || s.venue || ""),
          E.el("td", {}, yesNo(s.enrolled)),
          E.el("td", {}, yesNo(s.signed_in)),
          E.el("td", {}, yesNo(s.submitted)),
          E.el("td", { class: "progress" }, `${filled} / ${total}`),
          presenceCell(seat),
        ),
      );
    }
    renderMatrix(lot);
    const next = E.PHASES[E.PHASES.indexOf(view.phase) + 1];
    const button = $("advance-button");
    // the server refuses a step while paused, and everything once sealed
    button.disabled = !connected || !next || Boolean(view.paused) || Boolean(view.sealed);
    $("paused-flag").hidden = !view.paused || Boolean(view.sealed); // in the header: the controls may be below the fold
    $("sealed-flag").hidden = !view.sealed;
    if (view.sealed) $("sealed-flag").textContent = `已封存 Sealed · ${E.SEAL_CAUSES[view.sealed.cause] || view.sealed.cause}`;
    button.textContent = next ? `进入 ${E.PHASE_LABELS[next]} Advance` : "已结束 Closed";
    button.dataset.to = next || "";
    desk.render(view);
  }

  // Seats' sockets (server `presence`): connected now, or last seen when.
  const presence = {};
  function presenceCell(seat) {
    const p = presence[seat];
    if (!p) return E.el("td", { class: "presence", "data-online": "unknown" }, "—");
    const when = p.last_seen ? new Date(p.last_seen).toLocaleTimeString("zh-CN", { hour12: false }) : "";
    return E.el(
      "td",
      { class: "presence", "data-online": p.connected ? "yes" : "no" },
      p.connected ? "● 在线 online" : `○ 离线 offline${when ? ` · 最后 last ${when}` : ""}`,
    );
  }

  // Progress seats × bidders: cells filled of the typed criteria (counts, never values).
  function renderMatrix(lot) {
    const table = $("matrix");
    if (!table || !lot) return;
    const criteria = E.typedCriteria(lot);
    const bidders = E.bidderIds(lot);
    const pairs = (s) => (view.blind && view.blind.seats && view.blind.seats[s]) || [];
    table.replaceChildren(
      E.el("tr", {}, E.el("th", {}, "席位 Seat"), ...bidders.map((b) => E.el("th", { title: E.bidderName(lot, b) }, b))),
      ...Object.keys(view.seats || {}).map((seat) => {
        const cells = (view.cells && view.cells[seat]) || {};
        const bidderOf = Object.fromEntries(pairs(seat));
        const count = {};
        for (const key of Object.keys(cells)) {
          const head = key.split("/")[0];
          const b = bidderOf[head] || head;
          count[b] = (count[b] || 0) + 1;
        }
        return E.el(
          "tr",
          { "data-seat": seat },
          E.el("th", {}, seat),
          ...bidders.map((b) => {
            const n = count[b] || 0;
            const state = n === criteria.length ? "done" : n ? "part" : "none";
            return E.el("td", { class: `m-${state}` }, `${n}/${criteria.length}`);
          }),
        );
      }),
    );
  }

  async function loadPresence() {
    const answer = await stream.call("presence", {});
    if (!answer.ok) return;
    for (const [seat, p] of Object.entries(answer.seats)) presence[seat] = p;
    render();
  }

  // The newest signed checkpoint, live (server message `checkpoint`).
  function showCheckpoint(cp) {
    if (!cp) return;
    $("audit").hidden = false;
    $("cp-size").textContent = String(cp.size);
    $("cp-root").textContent = cp.root;
    $("cp-witnesses").textContent = String(cp.witnesses);
    $("cp-time").textContent = new Date(cp.time).toLocaleString("zh-CN");
    $("cp-note").textContent = cp.note;
  }

  // The actor this page acts as (`supervisor:sup-1`), read from the token's payload (the server
  // checks the token; this only tells the console which requests are its own).
  function actorOf(text) {
    try {
      const payload = JSON.parse(atob((text || "").split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return `${payload.r}:${payload.u}`;
    } catch (_e) {
      return null;
    }
  }

  // The committee's controls and the flags grouped with their explanations (console.js).
  const desk = window.EvalroomConsole({
    $,
    session: SESSION,
    actor: actorOf(token),
    call: (name, data) => stream.call(name, data),
    connected: () => connected,
    errorText: (error) => window.EvalroomErrors.text(error),
  });

  // Flags (chair and supervisors see them live) and the ranking once every bid has a total.
  async function refreshResults() {
    if (!stream) return;
    const answer = await stream.call("results", {});
    if (!answer.ok) return;
    $("review").hidden = false;
    desk.renderFlags(answer.flags || [], view);
    const seats = Object.values((view && view.seats) || {});
    const waiting = seats.filter((s) => !s.submitted).length;
    $("provisional").textContent = waiting
      ? `暂定：还有 ${waiting} 个席位未提交 Provisional: ${waiting} sheet(s) not submitted`
      : "";
    const results = answer.results;
    const ranking = (results && results.ranking) || [];
    $("ranking").replaceChildren(
      E.el("tr", {}, E.el("th", {}, "排名 Rank"), E.el("th", {}, "投标人 Bidder"),
        E.el("th", {}, "总分 Total"), E.el("th", {}, "推荐 Recommended")),
      ...ranking.map((r) =>
        E.el("tr", { "data-bidder": r.bidder },
          E.el("td", {}, String(r.rank)),
          E.el("td", {}, `${r.bidder} ${E.bidderName(view && view.lot, r.bidder)}`),
          E.el("td", {}, r.total === null ? "—" : r.total),
          E.el("td", {}, r.recommended ? "✓ 推荐候选人 Candidate" : "")),
      ),
    );
  }

  let resultsTimer = null;
  function scheduleResults() {
    if (resultsTimer) return;
    resultsTimer = setTimeout(() => {
      resultsTimer = null;
      refreshResults().catch(() => {});
    }, 500);
  }

  function addEvent(ev) {
    // What this role may not see arrives as a stub (seq only, so gaps still show): it keeps the
    // fold gap-free but says nothing to a reader, so the list leaves it out.
    if (ev.type === "hidden") return;
    const item = E.el("li", { value: String(ev.seq) }, `#${ev.seq} ${ev.type}${ev.actor ? " · " + ev.actor : ""}${ev.data && ev.data.seat ? " · " + ev.data.seat : ""}`);
    if (replay) {
      replay.decorate(item, ev);
      replay.onEvent(ev);
    }
    const list = $("events");
    list.prepend(item);
    while (list.children.length > 500) list.lastChild.remove();
  }

  function start() {
    $("role").textContent = "监督 Supervisor";
    $("session-id").textContent = SESSION;
    $("advance").hidden = false;
    $("console").hidden = false;
    if (!token) {
      $("conn").textContent = "缺少令牌 Missing #token=… in the address";
      return;
    }
    if (window.EvalroomReplay) {
      replay = window.EvalroomReplay({ token, session: SESSION, role: ROLE, container: $("replay"), view: () => view });
      window.evalroomReplay = replay; // for the browser tests
    }
    stream = new E.Stream(token, null, {
      onView: (v) => {
        view = v;
        render();
        if (wall) wall.setSeats(view.seats, Object.fromEntries(((view.lot && view.lot.venues) || []).map((v) => [v.id, v.name])));
        if (replay) replay.setView(view);
        scheduleResults();
      },
      onConnected: async () => {
        loadPresence().catch(() => {});
        const answer = await stream.call("checkpoint", {});
        if (answer.ok) showCheckpoint(answer.checkpoint);
      },
      onEvent: addEvent,
      onStatus: (text, isConnected) => {
        connected = isConnected;
        $("conn").textContent = text;
        $("conn").className = isConnected ? "online" : "offline";
        render();
      },
    });
    stream.socket.on("checkpoint", showCheckpoint);
    stream.socket.on("presence", (change) => {
      presence[change.seat] = change;
      render();
    });
    if (window.EvalroomWall) {
      $("wall-section").hidden = false;
      wall = window.EvalroomWall({ token, container: $("wall") });
      window.evalroomWall = wall; // for the browser tests
    }
  }

  $("advance-button").addEventListener("click", async () => {
    const to = $("advance-button").dataset.to;
    if (!to) return;
    const label = E.PHASE_LABELS[to];
    if (!(await E.confirm(`进入下一阶段：${label}？阶段只能向前。`, `Advance to ${label}? Phases only move forward.`))) return;
    $("advance-error").textContent = "";
    counter += 1;
    const answer = await stream.call("command", { id: `${ROLE}-${Date.now()}-${counter}`, type: "phase.advance", to });
    if (!answer.ok) {
      $("advance-error").textContent = window.EvalroomErrors.text(answer.error);
    }
  });

  start();
})();
