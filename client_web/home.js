// The home page at "/": what this node is, its verifier key, health, and the admin's desk
// (create a session from a lot file and print the sheet of codes and links; open the expert
// draw and read its confidential notice: home_draw.js; after the seal, the payment export and
// the members' fee statements: home_fees.js). It reads only public routes until the admin types
// a token, and it lists no session.
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
      fees.start(answer, lot.json);
      draw.start(answer, lot.json);
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

  // ---- the expert draw (home_draw.js) and the fees after the seal (home_fees.js) ----------

  const fees = window.EvalroomHomeFees({ $, adminToken: () => $("admin-token").value.trim() });
  const draw = window.EvalroomHomeDraw({
    $,
    link,
    venueName,
    facts,
    adminToken: () => $("admin-token").value.trim(),
    maxLotBytes: MAX_LOT_BYTES,
    onView: (view) => fees.render(view),
  });

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
  loadNode();
  checkHealth();
  setInterval(checkHealth, HEALTH_EVERY_MS);
})();
