// The home page at "/": what this node is, its verifier key, health, and the admin's desk
// (create a session from a lot file and print the sheet of codes and links; open the expert
// draw and read its confidential notice). It reads only public routes until the admin types a
// token, and it lists no session.
"use strict";

(function () {
  const E = window.Evalroom;
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "evalroom.adminToken"; // sessionStorage only: gone when the tab closes
  const HEALTH_EVERY_MS = 10000;
  const MAX_LOT_BYTES = 256 * 1024; // the server's body limit (server/app/http.py MAX_BODY)
  let lot = null; // { text, json, name } of the chosen file, once it parsed
  let node = null; // the answer of GET /api/node

  // ---- node and health -----------------------------------------------------------------

  async function sha256Hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function grouped(hex) {
    return hex.match(/.{1,4}/g).join(" ");
  }

  async function loadNode() {
    try {
      const response = await fetch("/api/node", { cache: "no-store" });
      const answer = await response.json();
      if (!answer.ok) throw new Error(answer.error ? answer.error.code : String(response.status));
      node = answer;
    } catch (e) {
      $("node-error").textContent = "无法读取节点信息 Cannot read the node's keys: " + e.message;
      return;
    }
    $("node-name").textContent = node.name;
    $("verifier-key").textContent = node.verifier_key;
    const out = $("fingerprint");
    if (!window.crypto || !crypto.subtle) {
      // WebCrypto exists only in a secure context (https, or localhost)
      out.textContent = "本页不是 HTTPS，浏览器无法计算 Not computed: this page is not served over HTTPS";
      return;
    }
    node.fingerprint = await sha256Hex(node.verifier_key);
    out.textContent = grouped(node.fingerprint);
    out.dataset.hex = node.fingerprint;
  }

  function showHealth(ok, detail) {
    const badge = $("health");
    const text = ok ? "正常 OK" : "异常 Unavailable" + (detail ? ` (${detail})` : "");
    if (badge.textContent !== text) badge.textContent = text; // role=status: announce changes only
    badge.className = ok ? "ok" : "bad";
    badge.dataset.ok = ok ? "true" : "false";
    const time = $("health-time");
    time.textContent = "更新于 Checked " + new Date().toLocaleTimeString("zh-CN");
    time.dataset.checks = String(Number(time.dataset.checks || 0) + 1);
  }

  async function checkHealth() {
    try {
      const response = await fetch("/healthz", { cache: "no-store", signal: AbortSignal.timeout(5000) });
      const answer = response.ok ? await response.json() : null;
      showHealth(Boolean(answer && answer.ok), answer ? "" : `HTTP ${response.status}`);
    } catch (_e) {
      showHealth(false, "无法连接 unreachable");
    }
  }

  // ---- the admin's form ----------------------------------------------------------------

  function rememberToken() {
    const value = $("admin-token").value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  function projectLine(json) {
    const p = (json && json.project) || {};
    return [p.code, p.name].filter(Boolean).join(" ");
  }

  async function chooseLot() {
    lot = null;
    $("lot-error").textContent = "";
    $("lot-summary").textContent = "";
    const file = $("lot-file").files[0];
    if (!file) return;
    if (file.size > MAX_LOT_BYTES) {
      $("lot-error").textContent = `标段文件过大（上限 256 KiB）The lot file is over 256 KiB: ${file.name}`;
      return;
    }
    const text = await file.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch (e) {
      $("lot-error").textContent = `标段文件不是有效的 JSON：${file.name} The lot file is not valid JSON: ${e.message}`;
      return;
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      $("lot-error").textContent = "标段文件须为 JSON 对象 The lot file must hold a JSON object";
      return;
    }
    lot = { text, json, name: file.name };
    const venues = Array.isArray(json.venues) ? json.venues : []; // the server checks the shape
    const seats = venues.reduce((n, v) => n + ((v && Number(v.seats)) || 0), 0);
    $("lot-summary").textContent =
      `${file.name}：${projectLine(json) || "（无项目名称 no project name）"} · ${seats} 个席位 seats`;
  }

  const ERRORS = {
    unauthenticated: "管理员令牌错误或未填写 The admin token is wrong or missing",
    forbidden: "此令牌无权创建评标会话 This token may not create sessions",
    bad_lot: "标段文件内容有误 The lot is not valid",
    malformed: "请求格式错误 Malformed request",
    too_large: "标段文件过大 The lot file is too large",
    bad_origin: "服务器不接受来自此地址的请求 The server does not accept requests from this address",
  };

  function errorText(error) {
    const known = ERRORS[error.code];
    if (!known) return `创建失败 Creation failed: ${error.code}: ${error.message}`;
    // the server's message says what is wrong in a lot; for the token it adds nothing
    return error.code === "unauthenticated" || error.code === "forbidden"
      ? known
      : `${known}：${error.message}`;
  }

  async function createSession(event) {
    event.preventDefault();
    const out = $("create-error");
    out.textContent = "";
    delete out.dataset.code;
    const token = $("admin-token").value.trim();
    if (!token) {
      out.textContent = "请填写管理员令牌 Type the admin token first";
      $("admin-token").focus();
      return;
    }
    if (!lot) {
      out.textContent = "请先选择有效的标段文件 Choose a valid lot file first";
      $("lot-file").focus();
      return;
    }
    const button = $("create-button");
    button.disabled = true; // one click, one session
    try {
      let response;
      try {
        response = await fetch("/api/sessions", {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: lot.text, // the file as chosen: JSON.parse would round numbers the server checks
          cache: "no-store",
        });
      } catch (e) {
        out.textContent = "无法连接服务器 Cannot reach the server: " + e.message;
        return;
      }
      let answer;
      try {
        answer = await response.json();
      } catch (_e) {
        answer = { ok: false, error: { code: `http_${response.status}`, message: response.statusText } };
      }
      if (!answer.ok) {
        out.textContent = errorText(answer.error);
        out.dataset.code = answer.error.code;
        return;
      }
      renderSheet(answer, lot.json);
      startDraw(answer, lot.json);
      // a second click must not make a second session from the same file by mistake
      $("lot-file").value = "";
      lot = null;
      $("lot-summary").textContent =
        `已创建会话 ${answer.session}；如需再建，请重新选择文件。Session created; choose a file again for another.`;
    } finally {
      button.disabled = false;
    }
  }

  // ---- the printable sheet -------------------------------------------------------------

  function venueOf(seat) {
    return seat.slice(0, seat.lastIndexOf("-"));
  }

  function venueName(json, id) {
    const found = ((json && json.venues) || []).find((v) => v && v.id === id);
    return found && found.name ? String(found.name) : "";
  }

  function seatUrl(session, seat) {
    return `${location.origin}/seat/${encodeURIComponent(session)}/${encodeURIComponent(seat)}`;
  }

  function roleUrl(role, session, token) {
    return `${location.origin}/${role}/${encodeURIComponent(session)}#token=${token}`;
  }

  // A seat URL may wrap after a "/" only (typed from paper, a break inside an id misleads).
  function link(url, breakAtSlash) {
    const parts = breakAtSlash
      ? url.split(/(?<=\/)/).flatMap((p) => [E.el("span", { class: "nowrap" }, p), E.el("wbr")])
      : [url];
    return E.el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, ...parts);
  }

  function facts(pairs) {
    const list = E.el("dl", { class: "facts" });
    for (const [label, value, id] of pairs) {
      list.append(E.el("dt", {}, label), E.el("dd", id ? { id } : {}, value));
    }
    return list;
  }

  function seatTable(created, json) {
    const rows = created.seats.map((seat) => {
      const venue = venueOf(seat);
      const name = venueName(json, venue);
      return E.el(
        "tr",
        { "data-seat": seat },
        E.el("th", { scope: "row" }, seat),
        E.el("td", {}, venue, ...(name ? [E.el("span", { class: "venue-name" }, name)] : [])),
        E.el("td", { class: "code" }, created.codes[seat]),
        E.el("td", { class: "url seat-url" }, link(seatUrl(created.session, seat), true)),
      );
    });
    return E.el(
      "table",
      { id: "sheet-seats", "aria-labelledby": "sheet-seats-title" },
      E.el(
        "thead",
        {},
        E.el(
          "tr",
          {},
          E.el("th", { scope: "col" }, "席位 Seat"),
          E.el("th", { scope: "col" }, "会场 Venue"),
          E.el("th", { scope: "col" }, "一次性登记码 One-time code"),
          E.el("th", { scope: "col" }, "席位地址 Seat URL"),
        ),
      ),
      E.el("tbody", {}, ...rows),
    );
  }

  function roleTable(created) {
    const session = created.session;
    const roles = [
      ...created.supervisor.map((token, n) => [`监督 Supervisor ${n + 1}`, "supervisor", token]),
      ["审计 Auditor", "auditor", created.auditor],
      ["公共屏 Public screen", "public", created.public],
    ];
    return E.el(
      "table",
      { id: "sheet-roles", "aria-labelledby": "sheet-roles-title" },
      E.el(
        "thead",
        {},
        E.el("tr", {}, E.el("th", { scope: "col" }, "角色 Role"), E.el("th", { scope: "col" }, "链接 Link")),
      ),
      E.el(
        "tbody",
        {},
        ...roles.map(([label, role, token]) =>
          E.el(
            "tr",
            { "data-role": role },
            E.el("th", { scope: "row" }, label),
            E.el("td", { class: "url" }, link(roleUrl(role, session, token))),
          ),
        ),
      ),
    );
  }

  function renderSheet(created, json) {
    const p = (json && json.project) || {};
    const sheet = $("sheet");
    const title = E.el("h2", { id: "sheet-title", tabindex: "-1" }, "评标会话登记表 Session sheet");
    const print = E.el("button", { type: "button", id: "print-button", onclick: () => window.print() }, "打印 Print");
    sheet.replaceChildren(
      E.el("div", { class: "sheet-head" }, title, print),
      E.el(
        "p",
        { class: "warning" },
        E.el("strong", {}, "一次性登记码，请妥善保管。"),
        "每个登记码只能使用一次，只交给对应席位的评标专家；角色链接含访问令牌，同样不得外传。",
        E.el(
          "span",
          { lang: "en" },
          " The enrolment codes are one-time and secret: give each only to its seat's expert. " +
            "The role links carry access tokens: keep them just as secret.",
        ),
      ),
      facts([
        ["会话编号 Session", created.session, "sheet-session"],
        ["项目编号 Project code", p.code || "—", "sheet-project-code"],
        ["项目名称 Project name", p.name || "—", "sheet-project-name"],
        ["创建时间 Created", new Date().toLocaleString("zh-CN")],
        ["节点 Node", node ? node.name : "—"],
        ["验证密钥指纹 Key fingerprint", node && node.fingerprint ? grouped(node.fingerprint) : "—"],
      ]),
      E.el("h3", { id: "sheet-seats-title" }, "席位与一次性登记码 Seats and one-time codes"),
      seatTable(created, json),
      E.el("h3", { id: "sheet-roles-title" }, "角色链接（含访问令牌） Role links (with access tokens)"),
      roleTable(created),
      E.el(
        "p",
        { class: "note" },
        `地址按本页的访问地址 ${location.origin} 生成；如专家经其他地址访问，请相应替换。`,
        E.el("span", { lang: "en" }, ` The addresses use this page's origin, ${location.origin}; ` +
          "replace it if the experts reach the server at another address."),
      ),
    );
    sheet.hidden = false;
    document.body.classList.add("has-sheet"); // print the sheet alone from now on
    title.focus();
  }


  // ---- the expert draw (专家抽取) ----------------------------------------------------------
  // The admin opens the draw over a pool file and the rules (POST .../draw, confirmed first);
  // the venues and the supervisors commit and reveal on their own pages (draw.js), from the
  // links shown here; the node makes the draw after the last reveal. The names come only from
  // GET .../draw/notice, for the admin. The admin token opens no socket: this page follows the
  // draw with the public screen's token, which sees exactly who has committed and revealed and
  // whether the draw is made, nothing more.

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
    const token = $("admin-token").value.trim();
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

  // ---- start -----------------------------------------------------------------------------

  $("admin-token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("admin-token").addEventListener("input", rememberToken);
  $("forget-token").addEventListener("click", () => {
    $("admin-token").value = "";
    rememberToken();
  });
  $("lot-file").addEventListener("change", () => {
    chooseLot().catch((e) => {
      $("lot-error").textContent = "无法读取标段文件 Cannot read the lot file: " + e.message;
    });
  });
  $("create-form").addEventListener("submit", createSession);
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
  loadNode();
  checkHealth();
  setInterval(checkHealth, HEALTH_EVERY_MS);
})();
