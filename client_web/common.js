// Shared helpers of the seat and viewer pages: canonical JSON, base64, the event stream fold.
// Plain script (no modules, no build step); everything hangs off window.Evalroom.
"use strict";

(function () {
  const PHASES = ["prepared", "sign_in", "scoring", "review", "closed"];
  const PHASE_LABELS = {
    prepared: "准备 Prepared",
    sign_in: "签到 Sign-in",
    scoring: "评分 Scoring",
    review: "复核 Review",
    closed: "结束 Closed",
  };
  // server/domain/sealing.py CAUSES: why a session was sealed (封存).
  const SEAL_CAUSES = {
    closed: "评标结束 the evaluation closed",
    fault: "故障超时 a fault outlived the fault rule",
    tenderer: "招标人决定 the tenderer decided",
  };
  const TYPED_KINDS = ["subjective", "objective"];
  // server/domain/committee.py GROUNDS, in its order (a test keeps the two equal).
  const GROUNDS = [
    ["unsigned_unsealed", "投标文件未经投标单位盖章和单位负责人签字", "Not sealed or not signed by the legal representative"],
    ["consortium_no_agreement", "投标联合体没有提交共同投标协议", "Consortium without a joint bidding agreement"],
    ["unqualified", "投标人不符合国家或者招标文件规定的资格条件", "Bidder does not meet the required qualifications"],
    ["multiple_bids_or_prices", "同一投标人提交两个以上不同的投标文件或者投标报价", "Two or more different bids or prices"],
    ["price_below_cost_or_above_cap", "投标报价低于成本或者高于招标文件设定的最高投标限价", "Price below cost or above the maximum price"],
    ["not_responsive", "投标文件没有对招标文件的实质性要求和条件作出响应", "Not responsive to substantive requirements"],
    ["collusion_or_fraud", "投标人有串通投标、弄虚作假、行贿等违法行为", "Collusion, fraud or bribery"],
  ];


  // Canonical JSON as the server checks it (server/auditlog/canonical.py): keys sorted,
  // no whitespace, integers only, decimals as strings. JSON.stringify handles the leaves.
  function canonical(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") {
      return JSON.stringify(value);
    }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        throw new Error("canonical JSON takes integers only; send decimals as strings");
      }
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) {
      return "[" + value.map(canonical).join(",") + "]";
    }
    if (typeof value === "object") {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
    }
    throw new Error("not a JSON value: " + typeof value);
  }

  function bytesToBase64(bytes) {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let text = "";
    for (let i = 0; i < view.length; i++) text += String.fromCharCode(view[i]);
    return btoa(text);
  }

  // The payload of a "v1.<payload>.<mac>" token ({r: role, u: subject, exp, …}), or null when
  // unreadable. The server checks tokens; a page only reads what it was given.
  function tokenBody(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch (_e) {
      return null;
    }
  }

  // The expiry (unix seconds) inside a token, or 0 when unreadable.
  function tokenExpiry(token) {
    const body = tokenBody(token);
    return body && typeof body.exp === "number" ? body.exp : 0;
  }

  // The role a token stands for ("supervisor", "public", "venue", …), or null when unreadable.
  function tokenRole(token) {
    const body = tokenBody(token);
    return body && typeof body.r === "string" ? body.r : null;
  }

  function typedCriteria(lot) {
    return ((lot && lot.criteria) || []).filter((c) => TYPED_KINDS.includes(c.kind));
  }

  function bidderIds(lot) {
    return ((lot && lot.bidders) || []).map((b) => (typeof b === "string" ? b : b.id));
  }

  function bidderName(lot, id) {
    const found = ((lot && lot.bidders) || []).find((b) => typeof b === "object" && b.id === id);
    return found && found.name ? found.name : "";
  }


  // Why the server closed a socket (its auth_error message), for the status line.
  const AUTH_ERRORS = {
    token_expired: "登录已过期，正在重新登录 Signed out: the token expired",
    token_revoked: "此链接已被管理员吊销，请向管理员索取新链接 This link was revoked by the admin",
  };

  // A socket.io connection that joins, folds events in seq order and asks "sync" on a gap.
  // hooks: onView(view), onEvent(event), onStatus(text, connected), onConnected(), onAuthError(err)
  class Stream {
    constructor(authToken, ownSeat, hooks) {
      this.ownSeat = ownSeat || null;
      this.role = tokenRole(authToken); // what the view holds depends on it (fold.js)
      this.hooks = hooks;
      this.view = { seq: 0, phase: null, lot: null, seats: {}, cells: {} };
      this.lastSeq = 0;
      this.syncing = null;
      this.token = authToken;
      this.socket = io({
        transports: ["websocket"],
        auth: (cb) => cb({ token: this.token }),
        reconnectionDelayMax: 5000,
      });
      this.authError = null; // the server's reason before it closes this socket (auth_error)
      this.renewals = 0; // sign-ins in a row without a successful join
      this.socket.on("connect", () => this._joined());
      this.socket.on("auth_error", (err) => {
        this.authError = err;
      });
      this.socket.on("disconnect", (reason) => {
        const why = this.authError && AUTH_ERRORS[this.authError.code];
        hooks.onStatus(why || "离线 Offline (" + reason + ")", false);
        // the server closed it because the token expired or was revoked: sign in and come back
        if (reason === "io server disconnect") this._renew(this.authError || { code: "token_expired" });
      });
      this.socket.on("connect_error", (err) => {
        hooks.onStatus("连接失败 Connect failed: " + ((err.data && err.data.code) || err.message), false);
        if (err.data) this._renew(err.data); // a refused connect is not retried by socket.io
      });
      this.socket.on("events", (views) => this._onEvents(views));
    }

    // A token refusal: the page's hook may get a new token (a seat signs in again); then the
    // socket reconnects, waiting longer after each renewal that did not lead to a join.
    async _renew(err) {
      this.authError = null;
      if (!this.hooks.onAuthError) return;
      let renewed = false;
      try {
        renewed = await this.hooks.onAuthError(err);
      } catch (_e) {
        renewed = false;
      }
      if (!renewed) return;
      const wait = Math.min(30000, 500 * 2 ** this.renewals);
      this.renewals += 1;
      setTimeout(() => this.socket.connect(), wait);
    }

    // A read the server refuses as rate_limited (a page reloaded again and again spends its
    // token's read budget) is asked again once the budget has refilled.
    async call(name, data) {
      for (let attempt = 0; ; attempt++) {
        const answer = await this.socket.timeout(30000).emitWithAck(name, data);
        const error = answer && !answer.ok ? answer.error : null;
        if (!error || error.code !== "rate_limited" || attempt >= 5) return answer;
        const wait = (error.details && error.details.retry_after_ms) || 1000;
        await new Promise((done) => setTimeout(done, Math.min(wait, 10000)));
      }
    }

    async _joined() {
      this.hooks.onStatus("已连接 Connected", true);
      try {
        const answer = await this.call("join", { after: this.lastSeq });
        if (!answer.ok) {
          this.hooks.onStatus("加入失败 Join failed: " + answer.error.code, false);
          return;
        }
        this.renewals = 0;
        this._take(answer);
        if (answer.limited) await this.catchUp();
        if (this.hooks.onConnected) this.hooks.onConnected(answer);
      } catch (e) {
        this.hooks.onStatus("加入失败 Join failed: " + e.message, false);
      }
    }

    _take(answer) {
      if (answer.snapshot) {
        this.view = answer.snapshot;
        this.lastSeq = answer.snapshot.seq;
      }
      for (const ev of answer.events || []) this._apply(ev);
      this.hooks.onView(this.view);
    }

    _apply(ev) {
      if (ev.seq <= this.lastSeq) return; // a seq already held (join raced a live event)
      window.Evalroom.applyView(this.view, ev, this.ownSeat, this.role); // fold.js
      this.lastSeq = ev.seq;
      if (this.hooks.onEvent) this.hooks.onEvent(ev);
      if (ev.resync) this.refetch();
    }

    async _onEvents(views) {
      if (!views.length) return;
      if (views[0].seq > this.lastSeq + 1) await this.catchUp();
      for (const ev of views) this._apply(ev);
      this.hooks.onView(this.view);
    }

    async catchUp() {
      if (this.syncing) return this.syncing;
      this.syncing = (async () => {
        for (;;) {
          const answer = await this.call("sync", { after: this.lastSeq });
          if (!answer.ok) throw new Error(answer.error.code);
          this._take(answer);
          if (!answer.limited) return;
        }
      })();
      try {
        await this.syncing;
      } finally {
        this.syncing = null;
      }
    }

    // The whole current view (after results are revealed, another seat's history becomes visible).
    // A state older than what this stream already applied would drop the events in between (a
    // signature folded while the answer was on its way), so a stale answer is asked for again.
    async refetch() {
      for (let attempt = 0; attempt < 5; attempt++) {
        const answer = await this.call("state", {});
        if (!answer.ok) return;
        if (answer.state.seq >= this.lastSeq) {
          this.view = answer.state;
          this.lastSeq = answer.state.seq;
          this.hooks.onView(this.view);
          return;
        }
      }
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  // A modal confirmation in zh-CN and English (window.confirm shows neither our language nor
  // our page's look, and a headless test cannot see it); resolves true on 确定 Confirm.
  function confirmDialog(zh, en) {
    return new Promise((resolve) => {
      const ok = el("button", { type: "submit", value: "yes", class: "primary" }, "确定 Confirm");
      const cancel = el("button", { type: "submit", value: "no" }, "取消 Cancel");
      const dialog = el(
        "dialog",
        { class: "confirm", "aria-labelledby": "confirm-text" },
        el("form", { method: "dialog" }, el("p", { id: "confirm-text" }, zh, el("br"), el("small", {}, en)), el("p", { class: "confirm-buttons" }, ok, " ", cancel)),
      );
      dialog.addEventListener("close", () => {
        dialog.remove();
        resolve(dialog.returnValue === "yes");
      });
      document.body.append(dialog);
      dialog.showModal();
      cancel.focus();
    });
  }

  // Whether a select's options are other values than ``values`` (a replaced seat changes the
  // seats' ids, not their count).
  function optionsDiffer(select, values) {
    return [...select.options].map((o) => o.value).join("\n") !== values.join("\n");
  }

  // 1:05:09 for a duration in ms (negative counts as 0).
  function duration(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    return `${Math.floor(total / 3600)}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
  }

  window.Evalroom = {
    confirm: confirmDialog,
    optionsDiffer,
    GROUNDS,
    duration,
    PHASES,
    PHASE_LABELS,
    SEAL_CAUSES,
    canonical,
    bytesToBase64,
    tokenExpiry,
    tokenRole,
    typedCriteria,
    bidderIds,
    bidderName,
    Stream,
    el,
  };
})();
