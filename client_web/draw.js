// The expert draw (专家抽取, 盲抽) in the browser: one participant's random share, committed and
// then revealed (server/domain/draw_session.py). The same panel serves the draw page
// (/draw/{session}#token=…, a venue's staff with the venue's token, or a supervisor) and the
// supervisor's console (the supervisors' one share); the page starts itself only on draw.html.
//
// The share is 32 random bytes (crypto.getRandomValues) as 64 lowercase hex digits; the
// commitment is SHA-256 (WebCrypto) of the canonical JSON {"participant","session","share"},
// as server/domain/draw.py share_commitment. The share is kept in localStorage under
// "evalroom.draw/<session>/<participant>" before its commitment leaves the page, so a reload or a
// crash between the two never leaves a commitment nobody can open.
//
// Reveal: automatic. Once every participant has committed, a page that holds its share reveals
// it by itself (the commit's confirmation says so). An honest participant has no reason to hold
// a share back once all are committed, and withholding is the one way left to stop the draw:
// a second click forgotten at one venue would do that by accident. The button stays as a retry
// when the automatic reveal was refused (network, a share from another device).
"use strict";

(function () {
  const E = window.Evalroom;
  const SUPERVISORS = "supervisor"; // server/domain/draw_session.py SUPERVISORS
  const STORE = "evalroom.draw";

  // ---- pure helpers ------------------------------------------------------------------------

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function newShare() {
    return hex(crypto.getRandomValues(new Uint8Array(32)));
  }

  // The canonical bytes a commitment is the SHA-256 of.
  function commitmentBytes(session, participant, share) {
    return new TextEncoder().encode(E.canonical({ participant, session, share }));
  }

  async function commitmentOf(session, participant, share) {
    return hex(await crypto.subtle.digest("SHA-256", commitmentBytes(session, participant, share)));
  }

  // Whose share a token holds: its venue's, the supervisors', or none (read from the token's
  // payload; the server checks the token and refuses anyone else with not_participant).
  function participantOf(token) {
    try {
      const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const body = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
      if (body.r === "venue") return body.u;
      if (body.r === "supervisor") return SUPERVISORS;
    } catch (_e) {
      // not a token this page can read: no share
    }
    return null;
  }

  // "主场 Host venue", "副场 1 Guest venue 1", "监督 Supervisors", with the venue's name when
  // the view has it (staff views; the public view has no venues).
  function participantLabel(participant, lot) {
    let label = participant;
    const guest = /^guest-(\d+)$/.exec(participant);
    if (participant === SUPERVISORS) label = "监督 Supervisors";
    else if (participant === "host") label = "主场 Host venue";
    else if (guest) label = `副场 ${guest[1]} Guest venue ${guest[1]}`;
    const venue = ((lot && lot.venues) || []).find((v) => v && v.id === participant);
    return venue && venue.name ? `${label} · ${venue.name}` : label;
  }

  // ---- the kept share ----------------------------------------------------------------------

  function storeKey(session, participant) {
    return `${STORE}/${session}/${participant}`;
  }

  function kept(session, participant) {
    try {
      const record = JSON.parse(localStorage.getItem(storeKey(session, participant)) || "null");
      return record && /^[0-9a-f]{64}$/.test(record.share) ? record : null;
    } catch (_e) {
      return null;
    }
  }

  function keep(session, participant, record) {
    localStorage.setItem(storeKey(session, participant), JSON.stringify(record));
  }

  // The share to commit: the kept one unless it was ever sent out in a reveal (a draw opened
  // again after a reveal needs a fresh share: the old one is public), else a new one, kept first.
  async function shareToCommit(session, participant) {
    const old = kept(session, participant);
    if (old && !old.disclosed) return old;
    const share = newShare();
    const record = { share, commitment: await commitmentOf(session, participant, share), disclosed: false };
    keep(session, participant, record);
    return record;
  }

  // ---- the panel ---------------------------------------------------------------------------

  const LABELS = {
    none: "尚未发起专家抽取 No expert draw is open",
    made: "专家已抽定 Experts drawn",
  };

  // ctx: { container, participant, session?, call(name, data), connected(), errorText(error) }.
  // render(view) draws from the folded view (view.draw, view.session, view.lot).
  function panel(ctx) {
    const p = ctx.participant;
    const state = E.el("p", { id: "draw-state", class: "draw-state", role: "status" }, LABELS.none);
    const table = E.el("table", { id: "draw-participants", class: "draw-table" });
    const own = E.el("p", { id: "draw-own" });
    const commitButton = E.el("button", { type: "button", id: "draw-commit", class: "primary", hidden: "" }, "生成并提交随机数承诺 Commit a random share");
    const revealButton = E.el("button", { type: "button", id: "draw-reveal", hidden: "" }, "公开随机数 Reveal the share");
    const error = E.el("p", { id: "draw-error", class: "error", role: "alert" });
    const facts = E.el("dl", { id: "draw-facts", class: "draw-facts", hidden: "" });
    ctx.container.replaceChildren(state, table, own, E.el("p", { class: "draw-actions" }, commitButton, " ", revealButton), error, facts);

    let view = null;
    let busy = false;
    let tried = null; // the commitment whose share this page already tried to reveal by itself
    let shownRows = "";
    let counter = 0;

    function session() {
      return (view && view.session) || ctx.session;
    }

    function commandId(kind) {
      counter += 1;
      return `${kind}.${Date.now().toString(36)}.${counter}.${hex(crypto.getRandomValues(new Uint8Array(3)))}`;
    }

    function showError(err) {
      let text = ctx.errorText(err);
      const waiting = err && err.details && err.details.waiting;
      if (Array.isArray(waiting) && waiting.length) {
        text += ` — 等待 waiting for: ${waiting.map((w) => participantLabel(w, view && view.lot)).join("、")}`;
      }
      if (err && (err.code === "malformed" || err.code === "internal") && err.message) text += `：${err.message}`;
      error.textContent = text;
      error.dataset.code = (err && err.code) || "";
    }

    function clearError() {
      error.textContent = "";
      delete error.dataset.code;
    }

    async function send(type, fields) {
      try {
        const answer = await ctx.call("command", { id: commandId(type), type, ...fields });
        if (answer && !answer.ok) showError(answer.error);
        return answer;
      } catch (e) {
        showError({ code: "request_timeout", message: e.message });
        return null;
      }
    }

    async function commit() {
      const yes = await E.confirm(
        "生成随机数并提交其承诺？提交后不能更改；各方均提交承诺后，本页将自动公开该随机数。请保持本页打开，直到专家抽定。",
        "Make a random share and commit to it? It cannot change afterwards; once every participant has committed, this page reveals it by itself. Keep this page open until the experts are drawn.",
      );
      if (!yes) return;
      clearError();
      if (!window.crypto || !crypto.subtle) {
        error.textContent = "请经 HTTPS 打开本页：浏览器须用 WebCrypto 计算承诺 Open this page over HTTPS: the commitment is computed with WebCrypto";
        return;
      }
      busy = true;
      render(view);
      try {
        let record;
        try {
          record = await shareToCommit(session(), p); // kept before it is sent
        } catch (e) {
          error.textContent = `本浏览器无法保存随机数，未提交 This browser cannot keep the share (localStorage); nothing was sent: ${e.message}`;
          return;
        }
        await send("draw.commit", { commitment: record.commitment });
      } finally {
        busy = false;
        render(view);
      }
    }

    async function reveal(record) {
      busy = true;
      clearError();
      render(view);
      try {
        try {
          keep(session(), p, { ...record, disclosed: true }); // before the share leaves the page
        } catch (e) {
          error.textContent = `本浏览器无法保存状态，未公开 This browser cannot write localStorage; the share was not revealed: ${e.message}`;
          return;
        }
        await send("draw.reveal", { share: record.share });
      } finally {
        busy = false;
        render(view);
      }
    }

    commitButton.addEventListener("click", () => commit());
    revealButton.addEventListener("click", async () => {
      const record = kept(session(), p);
      if (!record) return;
      const yes = await E.confirm("公开本方随机数？", "Reveal this participant's share?");
      if (yes) reveal(record);
    });

    function renderTable(draw) {
      const has = (list, x) => list.includes(x);
      const key = JSON.stringify([draw.participants, draw.committed, draw.revealed, p]);
      if (key === shownRows) return;
      shownRows = key;
      table.replaceChildren(
        E.el("caption", { class: "sr-only" }, "参与方 Participants"),
        E.el("tr", {}, ...["参与方 Participant", "承诺 Committed", "公开 Revealed"].map((h) => E.el("th", { scope: "col" }, h))),
        ...draw.participants.map((who) =>
          E.el(
            "tr",
            { "data-participant": who, "data-committed": has(draw.committed, who) ? "yes" : "no", "data-revealed": has(draw.revealed, who) ? "yes" : "no", class: who === p ? "draw-mine" : "" },
            E.el("th", { scope: "row" }, participantLabel(who, view.lot), who === p ? " （本方 you）" : ""),
            E.el("td", {}, has(draw.committed, who) ? "✓ 已承诺 committed" : "— 未承诺 not yet"),
            E.el("td", {}, has(draw.revealed, who) ? "✓ 已公开 revealed" : "— 未公开 not yet"),
          ),
        ),
      );
    }

    function renderFacts(draw) {
      facts.hidden = draw.pool === undefined; // staff views only
      if (facts.hidden) return;
      const committee = draw.committee;
      const pairs = [
        ["专家库 Pool", `${draw.size} 位专家 experts · SHA-256 ${draw.pool}`],
        ["抽取日期 Draw date", (draw.rules && draw.rules.date) || "—"],
        ["日志序号 Opened at seq", `#${draw.seq}`],
      ];
      if (committee) {
        pairs.push(["种子 Seed", committee.seed]);
        pairs.push(["身份承诺 Identity commitments", `${committee.members.length} 名委员 members + ${committee.reserves.length} 名候补 reserves（#${committee.seq}）`]);
      }
      const key = JSON.stringify(pairs);
      if (facts.dataset.key === key) return;
      facts.dataset.key = key;
      facts.replaceChildren(...pairs.flatMap(([dt, dd]) => [E.el("dt", {}, dt), E.el("dd", {}, dd)]));
    }

    // What this participant holds and may do now; the automatic reveal.
    function renderOwn(draw) {
      const committed = draw.committed.includes(p);
      const revealed = draw.revealed.includes(p);
      const all = draw.participants.every((x) => draw.committed.includes(x));
      const record = kept(session(), p);
      const commitments = draw.commitments || null; // staff see them: check the kept share first
      const mine = record && (!commitments || commitments[p] === record.commitment);
      const online = ctx.connected();
      commitButton.hidden = draw.made || committed;
      commitButton.disabled = busy || !online;
      revealButton.hidden = draw.made || !all || revealed || !committed || !mine || busy;
      revealButton.disabled = busy || !online;
      if (draw.made) own.textContent = "";
      else if (!committed) own.textContent = busy ? "正在提交承诺… Committing…" : "本方尚未提交承诺 This participant's share is not committed yet";
      else if (revealed) own.textContent = "本方随机数已公开 This participant's share is revealed";
      else if (!mine) own.textContent = "本方承诺由其他设备提交，本设备没有对应的随机数：请在提交承诺的设备上公开 Committed from another device, which holds the share: reveal it there";
      else if (!all) own.textContent = "本方已提交承诺；各方均提交后本页自动公开随机数 Committed; this page reveals the share once every participant has committed";
      else own.textContent = busy ? "正在公开随机数… Revealing…" : "各方均已承诺，请公开本方随机数 Every participant has committed: reveal the share";
      if (!draw.made && all && committed && !revealed && mine && online && !busy && tried !== record.commitment) {
        tried = record.commitment; // once by itself; the button retries
        reveal(record);
      }
    }

    function render(next) {
      view = next;
      const draw = view && view.draw;
      const stage = !draw ? "none" : draw.made ? "made" : draw.participants.every((x) => draw.committed.includes(x)) ? "reveal" : "commit";
      ctx.container.dataset.stage = stage;
      table.hidden = !draw;
      if (!draw) {
        state.textContent = LABELS.none;
        commitButton.hidden = revealButton.hidden = true;
        own.textContent = "";
        facts.hidden = true;
        return;
      }
      const n = draw.participants.length;
      if (stage === "made") state.textContent = LABELS.made;
      else if (stage === "commit") state.textContent = `等待各方提交承诺 Waiting for commitments: ${draw.committed.length} / ${n}`;
      else state.textContent = `等待各方公开随机数 Waiting for the shares: ${draw.revealed.length} / ${n}`;
      renderTable(draw);
      renderFacts(draw);
      if (!p || !draw.participants.includes(p)) {
        commitButton.hidden = revealButton.hidden = true;
        own.textContent = draw.made ? "" : "此链接不持有随机数份额 This link holds no share of the draw";
        return;
      }
      if (draw.made && kept(session(), p)) localStorage.removeItem(storeKey(session(), p)); // public in the log now
      renderOwn(draw);
    }

    return { render };
  }

  // ---- the draw page -----------------------------------------------------------------------

  function startPage() {
    const $ = (id) => document.getElementById(id);
    const SESSION = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    const participant = token ? participantOf(token) : null;
    $("session-id").textContent = SESSION;
    let connected = false;
    let stream = null;
    let view = null;
    const desk = panel({
      container: $("draw-panel"),
      participant,
      session: SESSION,
      call: (name, data) => stream.call(name, data),
      connected: () => connected,
      errorText: (error) => window.EvalroomErrors.text(error),
    });
    function show() {
      if (!view) return;
      const project = view.lot && view.lot.project;
      if (project) $("project").textContent = `${project.code || ""} ${project.name || ""}`;
      desk.render(view);
    }
    $("draw-who").textContent = participant ? participantLabel(participant, null) : "";
    if (!token) {
      $("conn").textContent = "缺少令牌 Missing #token=… in the address";
      return;
    }
    stream = new E.Stream(token, null, {
      onView: (v) => {
        view = v;
        show();
      },
      onStatus: (text, isConnected) => {
        connected = isConnected;
        $("conn").textContent = text;
        $("conn").className = isConnected ? "online" : "offline";
        show();
      },
    });
  }

  window.EvalroomDraw = { panel, participantOf, participantLabel, commitmentOf, commitmentBytes, newShare, storeKey, SUPERVISORS };
  if (document.body && document.body.dataset.page === "draw") startPage();
})();
