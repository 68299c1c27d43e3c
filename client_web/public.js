// The public screen (候标区大屏) of the waiting area: /public/{session}#token=...
// It shows the project, the phase, the clock, the elapsed scoring time and progress as counts.
// Whoever sits in front of it may be a bidder: the page renders no score, no bidder (name, id or
// blind code), no seat or expert, and no event log. The view the server sends the public role
// still carries bidder ids, cell keys by bidder or code and, after the reveal, the blind mapping;
// `progressOf` reduces it to counts and only those, the phase and the project reach the DOM. The
// view itself stays in this closure (no data attributes, no window global).
"use strict";

(function () {
  const E = window.Evalroom;
  const $ = (id) => document.getElementById(id);

  const BARS = [
    { key: "enrolled", zh: "登记", en: "Enrolment", of: "seats" },
    { key: "signedIn", zh: "签到", en: "Sign-in", of: "seats" },
    { key: "cells", zh: "评分", en: "Scoring", of: "cellTotal" },
    { key: "submitted", zh: "提交", en: "Sheets submitted", of: "seats" },
  ];
  const WEEKDAYS = "日一二三四五六";

  // ---- pure helpers --------------------------------------------------------------------------

  // "评分 Scoring" -> ["评分", "Scoring"]
  function splitLabel(label) {
    const at = label.indexOf(" ");
    return at < 0 ? [label, ""] : [label.slice(0, at), label.slice(at + 1)];
  }

  function phaseLabel(phase) {
    return splitLabel(E.PHASE_LABELS[phase] || phase || "—");
  }

  const pad2 = (n) => String(n).padStart(2, "0");

  function clockText(date) {
    return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  }

  function dateText(date) {
    return `${date.getFullYear()}年${date.getMonth() + 1}月${date.getDate()}日 星期${WEEKDAYS[date.getDay()]}`;
  }

  function durationText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    return `${Math.floor(s / 3600)}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
  }

  // Whole percent, rounded down so that a bar shows 100% only when the part is complete.
  function percent(done, total) {
    return total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
  }

  // The only reading of the view that reaches the screen: counts. Cells are counted per seat
  // without looking at their keys (bidder ids or blind codes); every seat fills every typed
  // criterion for every bidder (server/domain/lot.py typed_cells).
  function progressOf(view) {
    const seats = Object.values(view.seats || {});
    const count = (flag) => seats.filter((s) => s[flag] === true).length;
    const cells = Object.values(view.cells || {}).reduce((n, c) => n + Object.keys(c || {}).length, 0);
    const perSeat = E.typedCriteria(view.lot).length * E.bidderIds(view.lot).length;
    return {
      seats: seats.length,
      enrolled: count("enrolled"),
      signedIn: count("signed_in"),
      submitted: count("submitted"),
      cells,
      cellTotal: perSeat * seats.length,
    };
  }

  // ---- the page ------------------------------------------------------------------------------

  // When each phase began, in the server's time (ms): milestones and the scoring clock.
  // Public events carry the server's commit time `t`, so the scoring time runs from the
  // `phase.changed` to scoring event's `t` to the next phase's: a screen opened or reloaded
  // mid-session shows the true elapsed time. A client far behind gets a snapshot instead of
  // events (server/app/handlers/reading.py); a snapshot carries no event times unless the server's
  // state view has `phase_times` (then it is used), otherwise the scoring time counts from when
  // this page first saw the phase, and the label says so. (The display PC's clock is compared with
  // the server's: keep both on NTP.)
  const began = {}; // phase -> ms; "prepared" is the session's creation
  const scoring = { start: null, end: null, sinceScreen: false };
  let current = { phase: null, project: null, progress: null };

  function onEvent(ev) {
    const data = ev.data;
    if (!data || typeof ev.t !== "number") return;
    if (ev.type === "session.created") began.prepared = ev.t;
    else if (ev.type === "phase.changed") began[data.to] = ev.t;
  }

  function updateScoringTimes(view) {
    for (const [phase, t] of Object.entries(view.phase_times || {})) {
      if (E.PHASES.includes(phase) && typeof t === "number" && !(phase in began)) began[phase] = t;
    }
    const after = E.PHASES.indexOf("scoring") + 1;
    if (typeof began.scoring === "number") {
      scoring.start = began.scoring;
      scoring.sinceScreen = false;
    } else if (view.phase === "scoring" && scoring.start === null) {
      scoring.start = Date.now();
      scoring.sinceScreen = true;
    }
    const next = E.PHASES.slice(after).find((p) => typeof began[p] === "number");
    if (next) scoring.end = began[next];
    else if (E.PHASES.indexOf(view.phase) >= after && scoring.start !== null && scoring.end === null) {
      scoring.end = Date.now();
    }
  }

  function onView(view) {
    updateScoringTimes(view);
    const project = view.lot && view.lot.project ? view.lot.project : {};
    current = {
      phase: view.phase,
      project: { code: project.code || "", name: project.name || "" },
      progress: progressOf(view),
      paused: Boolean(view.paused), // that it stopped, never why (the server sends no reason)
      sealed: Boolean(view.sealed),
    };
    render();
  }

  function buildSteps() {
    $("steps").replaceChildren(
      ...E.PHASES.map((phase, i) => {
        const [zh, en] = phaseLabel(phase);
        return E.el(
          "li",
          { class: "step todo" },
          E.el("span", { class: "step-no" }, String(i + 1)),
          E.el("span", { class: "step-zh" }, zh),
          E.el("span", { class: "step-en" }, en),
        );
      }),
    );
  }

  function buildBars() {
    $("bars").replaceChildren(
      ...BARS.map((bar) =>
        E.el(
          "div",
          { class: "bar-row", id: `bar-${bar.key}` },
          E.el(
            "div",
            { class: "bar-head" },
            E.el("span", { class: "bar-label" }, bar.zh, " ", E.el("span", { class: "en" }, bar.en)),
            E.el("span", { class: "count" }, "— / —"),
            E.el("span", { class: "pct" }, "0%"),
          ),
          E.el("progress", { max: "1", value: "0" }),
        ),
      ),
    );
  }

  function renderSteps(phase) {
    const at = E.PHASES.indexOf(phase);
    $("steps").querySelectorAll("li").forEach((li, i) => {
      li.className = "step " + (i < at ? "done" : i === at ? "current" : "todo");
      if (i === at) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
  }

  function renderBars(progress) {
    for (const bar of BARS) {
      const row = $(`bar-${bar.key}`);
      const done = progress[bar.key];
      const total = progress[bar.of];
      row.querySelector(".count").textContent = `${done} / ${total}`;
      row.querySelector(".pct").textContent = `${percent(done, total)}%`;
      const meter = row.querySelector("progress");
      meter.max = Math.max(total, 1);
      meter.value = Math.min(done, total);
      row.classList.toggle("complete", total > 0 && done >= total);
    }
  }

  function renderMilestones() {
    $("events").replaceChildren(
      ...E.PHASES.filter((p) => typeof began[p] === "number").map((phase) => {
        const [zh, en] = phase === "prepared" ? ["创建", "Created"] : phaseLabel(phase);
        const d = new Date(began[phase]);
        return E.el(
          "li",
          {},
          E.el("span", { class: "ms-time" }, `${pad2(d.getHours())}:${pad2(d.getMinutes())}`),
          E.el("span", { class: "ms-label" }, zh, " ", E.el("span", { class: "en" }, en)),
        );
      }),
    );
  }

  function render() {
    if (!current.progress) return;
    document.body.dataset.phase = current.phase || "";
    const [zh, en] = phaseLabel(current.phase);
    $("phase").replaceChildren(E.el("span", { class: "zh" }, zh), " ", E.el("span", { class: "en" }, en));
    if (current.sealed && current.phase !== "closed") {
      // sealed before its close (a fault): the evaluation ended here; after a close it goes unsaid
      $("phase").append(" ", E.el("span", { class: "sealed" }, "已封存 Sealed"));
    } else if (current.paused) {
      $("phase").append(" ", E.el("span", { class: "paused" }, "暂停 Paused"));
    }
    document.body.dataset.paused = current.paused ? "yes" : "no";
    document.body.dataset.sealed = current.sealed ? "yes" : "no";
    $("project-code").textContent = current.project.code;
    $("project-name").textContent = current.project.name || "—";
    renderSteps(current.phase);
    renderBars(current.progress);
    renderMilestones();
    tickElapsed();
  }

  function setLabel(node, zh, en) {
    node.replaceChildren(zh, " ", E.el("span", { class: "en" }, en));
  }

  function tickElapsed() {
    const label = $("elapsed-label");
    if (scoring.start === null) {
      // past scoring without its times (a snapshot without phase_times): no figure, not a wrong one
      const past = E.PHASES.indexOf(current.phase) > E.PHASES.indexOf("scoring");
      if (past) setLabel(label, "评分已结束", "Scoring finished");
      else setLabel(label, "评分未开始", "Scoring not started");
      $("elapsed").textContent = "—";
      $("elapsed").className = "elapsed idle";
      return;
    }
    const running = scoring.end === null;
    const end = running ? Date.now() : scoring.end;
    if (scoring.sinceScreen) setLabel(label, "评分计时(自本屏接入)", "Since this screen joined");
    else if (running) setLabel(label, "评分已进行", "Scoring elapsed");
    else setLabel(label, "评分用时", "Scoring took");
    $("elapsed").textContent = durationText(end - scoring.start);
    $("elapsed").className = "elapsed";
  }

  // The wall clock, ticking on the second boundary so that it never skips a second.
  function tick() {
    const now = new Date();
    $("clock").textContent = clockText(now);
    $("date").textContent = dateText(now);
    if (scoring.start !== null && scoring.end === null) tickElapsed();
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  function start() {
    buildSteps();
    buildBars();
    tick();
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    if (!token) {
      $("conn").textContent = "缺少令牌 Missing #token=… in the address";
      return;
    }
    // Not kept anywhere the page's DOM or window can reach: the stream holds the view.
    new E.Stream(token, null, {
      onView,
      onEvent,
      onStatus: (text, isConnected) => {
        $("conn").textContent = text;
        $("conn").className = isConnected ? "online" : "offline";
      },
    });
  }

  start();
})();
