// The expert draw (专家抽取) on the home page (home.html #draw, #notice), for the admin.
// The admin opens the draw over a pool file and the rules (POST .../draw, confirmed first);
// the venues and the supervisors commit and reveal on their own pages (draw.js), from the
// links shown here; the node makes the draw after the last reveal. The names come only from
// GET .../draw/notice, for the admin. The admin token opens no socket: this page follows the
// draw with the public screen's token, which sees exactly who has committed and revealed and
// whether the draw is made, nothing more.
// home.js creates it with the page's helpers (ctx: $, link, venueName, facts, adminToken,
// maxLotBytes, onView) and calls start(created, lotJson) once a session is created.
"use strict";

(function () {
  const E = window.Evalroom;

  window.EvalroomHomeDraw = function (ctx) {
    const { $, link, venueName, facts } = ctx;
    const MAX_LOT_BYTES = ctx.maxLotBytes;

    const MAX_POOL_BYTES = 32 * 1024 * 1024 - 64 * 1024; // draw_http.py MAX_POOL_BODY, less the rules
    const draw = { created: null, json: null, pool: null, stream: null, view: null, rulesEdited: false };

    function today() {
      const d = new Date();
      const pad = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    }

    // A start for the rules: today, every seat from one specialty (the pool's most common, once a
    // pool is chosen) with two reserves, experts drawn in the last 30 days avoided. The lot's
    // bidders are avoided by the server whatever the rules say.
    function defaultRules(seats, specialty) {
      return {
        date: today(),
        specialties: [{ specialty: specialty || "", count: seats, reserves: 2 }],
        avoid: { organisations: [], cities: [], recent_days: 30 },
      };
    }

    function commonestSpecialty(pool) {
      const counts = {};
      for (const e of pool.experts || []) for (const s of (e && e.specialties) || []) counts[s] = (counts[s] || 0) + 1;
      return Object.keys(counts).sort((a, b) => counts[b] - counts[a] || a.localeCompare(b))[0] || "";
    }

    function drawUrl(session, token) {
      return `${location.origin}/draw/${encodeURIComponent(session)}#token=${token}`;
    }

    function renderDrawLinks(created, json) {
      const rows = Object.entries(created.venues || {}).map(([venue, token]) => {
        const name = venueName(json, venue);
        return [venue, `会场 Venue ${venue}`, name, token];
      });
      rows.push(["supervisor", "监督 Supervisors", "监督 1 的令牌 Supervisor 1's token", created.supervisor[0]]);
      $("draw-links").replaceChildren(
        E.el("thead", {}, E.el("tr", {}, E.el("th", { scope: "col" }, "参与方 Participant"), E.el("th", { scope: "col" }, "抽取页面 Draw page"))),
        E.el(
          "tbody",
          {},
          ...rows.map(([id, label, name, token]) =>
            E.el(
              "tr",
              { "data-participant": id },
              E.el("th", { scope: "row" }, label, ...(name ? [E.el("span", { class: "venue-name" }, name)] : [])),
              E.el("td", { class: "url" }, link(drawUrl(created.session, token))),
            ),
          ),
        ),
      );
    }

    function startDraw(created, json) {
      if (draw.stream) draw.stream.socket.disconnect(); // the previous session's
      Object.assign(draw, { created, json, pool: null, stream: null, view: null, rulesEdited: false });
      for (const id of ["pool-summary", "pool-error", "rules-error", "draw-result", "draw-open-error", "notice-error"]) $(id).textContent = "";
      $("pool-file").value = "";
      $("rules-file").value = "";
      $("draw-rules").value = JSON.stringify(defaultRules(created.seats.length), null, 2);
      $("notice").hidden = true;
      renderDrawLinks(created, json);
      $("draw").hidden = false;
      renderProgress();
      draw.stream = new E.Stream(created.public, null, {
        onView: (view) => {
          draw.view = view;
          renderProgress();
          if (ctx.onView) ctx.onView(view); // the session's public view: the fees wait for the seal
        },
        onStatus: () => {},
      });
    }

    function renderProgress() {
      const d = draw.view && draw.view.draw;
      const out = $("draw-progress");
      const all = (list) => d && d.participants.every((p) => list.includes(p));
      out.dataset.stage = !d ? "none" : d.made ? "made" : all(d.committed) ? "reveal" : "commit";
      out.textContent = !d
        ? "尚未发起抽取 No draw is open"
        : `参与方 Participants ${d.participants.length} · 已承诺 committed ${d.committed.length} · 已公开 revealed ${d.revealed.length}` +
          (d.made ? " · 专家已抽定 Experts drawn" : "");
      $("draw-make").hidden = !d || d.made || !all(d.revealed);
      $("notice-button").hidden = !d || !d.made;
      $("draw-open").textContent = d && !d.made ? "重新发起抽取 Open the draw again" : "发起抽取 Open the draw";
      $("draw-open").disabled = Boolean(d && d.made);
    }

    async function readJsonFile(file, limit, what) {
      if (file.size > limit) throw new Error(`${what}过大 ${what === "专家库" ? "The pool" : "The file"} is too large: ${file.name}`);
      const text = await file.text();
      try {
        return { text, json: JSON.parse(text) };
      } catch (e) {
        throw new Error(`${what}不是有效的 JSON Not valid JSON: ${file.name}: ${e.message}`);
      }
    }

    async function choosePool() {
      draw.pool = null;
      $("pool-error").textContent = "";
      $("pool-summary").textContent = "";
      const file = $("pool-file").files[0];
      if (!file) return;
      const { text, json } = await readJsonFile(file, MAX_POOL_BYTES, "专家库");
      if (!json || typeof json !== "object" || !Array.isArray(json.experts)) {
        throw new Error('专家库须为 {"name", "experts": [...]} The pool must be {"name", "experts": [...]}');
      }
      draw.pool = { text, count: json.experts.length };
      $("pool-summary").textContent = `${file.name}：${json.name || "—"} · ${json.experts.length} 位专家 experts`;
      if (!draw.rulesEdited) {
        const rules = defaultRules(draw.created.seats.length, commonestSpecialty(json));
        $("draw-rules").value = JSON.stringify(rules, null, 2);
      }
    }

    async function chooseRules() {
      $("rules-error").textContent = "";
      const file = $("rules-file").files[0];
      if (!file) return;
      const { json } = await readJsonFile(file, MAX_LOT_BYTES, "规则文件");
      $("draw-rules").value = JSON.stringify(json, null, 2);
      draw.rulesEdited = true;
    }

    function drawErrorText(error) {
      const text = window.EvalroomErrors.text(error);
      const quiet = ["unauthenticated", "forbidden"].includes(error.code);
      return !quiet && error.message ? `${text}：${error.message}` : text;
    }

    // One admin request of the draw: the answer, or an error answer for a failed request.
    async function adminCall(method, path, body) {
      const token = ctx.adminToken();
      if (!token) return { ok: false, error: { code: "unauthenticated", message: "" } };
      const headers = { Authorization: `Bearer ${token}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(`/api/sessions/${encodeURIComponent(draw.created.session)}/${path}`, { method, headers, body, cache: "no-store" });
      } catch (e) {
        return { ok: false, error: { code: "request_timeout", message: `无法连接服务器 Cannot reach the server: ${e.message}` } };
      }
      try {
        return await response.json();
      } catch (_e) {
        return { ok: false, error: { code: `http_${response.status}`, message: response.statusText } };
      }
    }

    async function openDraw() {
      const out = $("draw-open-error");
      out.textContent = "";
      $("rules-error").textContent = "";
      if (!draw.pool) {
        out.textContent = "请先选择专家库文件 Choose the pool file first";
        $("pool-file").focus();
        return;
      }
      let rules;
      try {
        rules = JSON.parse($("draw-rules").value);
      } catch (e) {
        $("rules-error").textContent = `抽取规则不是有效的 JSON The rules are not valid JSON: ${e.message}`;
        $("draw-rules").focus();
        return;
      }
      const again = draw.view && draw.view.draw && !draw.view.draw.made;
      const yes = again
        ? await E.confirm("重新发起抽取？本轮已提交的承诺全部作废，各方须重新提交。", "Open the draw again? Every commitment of this round is void; every participant commits again.")
        : await E.confirm(`发起专家抽取？专家库 ${draw.pool.count} 位专家；其哈希与抽取规则将写入日志。`, `Open the expert draw over a pool of ${draw.pool.count} experts? Its hash and the rules go into the log.`);
      if (!yes) return;
      const button = $("draw-open");
      button.disabled = true;
      try {
        const id = `draw.open.${Date.now().toString(36)}`;
        // the pool as chosen, not parsed again: up to 32 MB of JSON
        const body = `{"id":${JSON.stringify(id)},"rules":${JSON.stringify(rules)},"pool":${draw.pool.text}}`;
        const answer = await adminCall("POST", "draw", body);
        if (!answer.ok) {
          out.textContent = drawErrorText(answer.error);
          out.dataset.code = answer.error.code;
          return;
        }
        delete out.dataset.code;
        $("draw-result").textContent = `已发起抽取 Draw opened · 日志 seq #${answer.seq} · ${answer.size} 位专家 experts · 专家库 SHA-256 ${answer.pool}`;
      } finally {
        button.disabled = false;
        renderProgress();
      }
    }

    async function makeDraw() {
      const yes = await E.confirm("现在完成抽取？各方随机数均已公开，抽取结果由它们确定。", "Make the draw now? Every share is revealed; they decide the outcome.");
      if (!yes) return;
      const answer = await adminCall("POST", "draw/make", "{}");
      $("notice-error").textContent = answer.ok ? "" : drawErrorText(answer.error);
    }

    function personCells(row) {
      return [
        E.el("td", { class: "notice-name" }, row.name),
        E.el("td", {}, row.organisation),
        E.el("td", {}, row.city),
        E.el("td", {}, row.specialty),
        E.el("td", { class: "code" }, row.expert),
      ];
    }

    function noticeTable(id, first, rows, key) {
      const heads = [first, "姓名 Name", "单位 Organisation", "城市 City", "专业 Specialty", "专家编号 Expert id"];
      return E.el(
        "table",
        { id, "aria-labelledby": `${id}-title` },
        E.el("thead", {}, E.el("tr", {}, ...heads.map((h) => E.el("th", { scope: "col" }, h)))),
        E.el("tbody", {}, ...rows.map((row) => E.el("tr", { [`data-${key}`]: row[key] }, E.el("th", { scope: "row" }, String(row[key])), ...personCells(row)))),
      );
    }

    function renderNotice(answer) {
      const p = (draw.json && draw.json.project) || {};
      const title = E.el("h2", { id: "notice-title", tabindex: "-1" }, "专家抽取结果 Expert draw notice");
      const print = E.el("button", { type: "button", id: "notice-print", class: "action" }, "打印 Print");
      print.addEventListener("click", () => {
        document.body.classList.add("print-notice"); // the notice alone, until the print ends
        window.print();
      });
      $("notice").replaceChildren(
        E.el("p", { class: "confidential-mark", "aria-hidden": "true" }, "保密 Confidential"),
        E.el("div", { class: "sheet-head" }, title, E.el("strong", { class: "confidential" }, "保密 Confidential"), print),
        E.el(
          "p",
          { class: "warning" },
          E.el("strong", {}, "保密。"),
          "本通知载有抽中专家的姓名和单位，仅用于通知专家到场和在会场核验身份；评标结束前不得向投标人或无关人员透露。",
          E.el("span", { lang: "en" }, " Confidential. It names the experts drawn, to call them and check their identity at the venue; nobody else, and no bidder, may learn it before the evaluation ends."),
        ),
        facts([
          ["会话编号 Session", draw.created.session, "notice-session"],
          ["项目 Project", [p.code, p.name].filter(Boolean).join(" ") || "—"],
          ["取得时间 Fetched", new Date().toLocaleString("zh-CN")],
        ]),
        E.el("h3", { id: "notice-members-title" }, "评标委员会成员（按席位） Members, by seat"),
        noticeTable("notice-members", "席位 Seat", answer.members, "seat"),
        E.el("h3", { id: "notice-reserves-title" }, "候补专家（按递补顺序） Reserves, in the order they replace"),
        noticeTable("notice-reserves", "顺序 Rank", answer.reserves, "rank"),
      );
      $("notice").hidden = false;
      title.focus();
    }

    async function fetchNotice() {
      $("notice-error").textContent = "";
      const answer = await adminCall("GET", "draw/notice");
      if (!answer.ok) {
        $("notice-error").textContent = drawErrorText(answer.error);
        return;
      }
      renderNotice(answer);
    }

    $("pool-file").addEventListener("change", () => {
      choosePool().catch((e) => {
        $("pool-error").textContent = e.message;
      });
    });
    $("rules-file").addEventListener("change", () => {
      chooseRules().catch((e) => {
        $("rules-error").textContent = e.message;
      });
    });
    $("draw-rules").addEventListener("input", () => {
      draw.rulesEdited = true;
    });
    $("draw-open").addEventListener("click", () => openDraw());
    $("draw-make").addEventListener("click", () => makeDraw());
    $("notice-button").addEventListener("click", () => fetchNotice());
    window.addEventListener("afterprint", () => document.body.classList.remove("print-notice"));

    return { start: startDraw };
  };
})();
