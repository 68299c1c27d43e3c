// The expert's score sheet (评分表) at a seat: the blind part under this seat's own codes and the
// named part by bidder, each cell with its client-side check (errors.js, the server's rule), a
// comment where the criterion asks for one, its state (saved, sending, offline, not saved) and
// error; this seat's own subtotal per row; arrow keys between cells; which cells are still open
// (scoring, or a disputed objective value after submitting). Signing and queuing are
// seat_store.js's.
"use strict";

(function () {
  const E = window.Evalroom;

  window.EvalroomSeatSheet = function (ctx) {
    const { $, cellStatus, pendingFor, queuedValue, errorText, render, signedEnvelope, enqueue } = ctx;
    const SEAT = ctx.seat;
    let gridBuiltFor = null;
    let blindBuiltFor = null;

    // The criterion a cell key ("B1/T1" or "CODE/T1") names.
    function criterionOf(key) {
      const id = key.split("/")[1];
      return E.typedCriteria(ctx.view() && ctx.view().lot).find((c) => c.id === id);
    }

    // The client-side check of a typed value (same rule as the server's check_value); null if fine.
    function valueProblem(key, value) {
      const problem = window.EvalroomErrors.checkValue(criterionOf(key), value);
      return problem ? `${problem.zh} ${problem.en}` : null;
    }

    // This seat's blind draw as it may see it: {revealed, pairs: [[code, bidder|null], ...]}.
    function ownBlind() {
      const b = ctx.view() && ctx.view().blind;
      if (!b || !b.seats || !b.seats[SEAT]) return null;
      return { revealed: !!b.revealed, pairs: b.seats[SEAT] };
    }

    function blindCriteria(lot) {
      return E.typedCriteria(lot).filter((c) => c.blind);
    }

    // One cell of a grid: the value, a comment where the criterion asks for one (the score is sent
    // with it, and not before it is written), the cell's state and its error. `send(value, comment)`.
    function cellInput(key, label, criterion, send) {
      const input = E.el("input", { "data-cell": key, inputmode: "decimal", size: "5", "aria-label": label });
      const td = E.el("td", {}, input);
      let comment = null;
      if (criterion.comment_required) {
        comment = E.el("textarea", { class: "cell-comment", rows: "2", maxlength: "2000", lang: "zh-CN", "data-comment-for": key, "aria-label": `评语 Comment ${label}`, placeholder: "评语（必填）Comment (required)" });
        td.append(comment);
      }
      td.append(E.el("div", { class: "cell-state", "data-state-for": key }), E.el("div", { class: "error", "data-error-for": key }));
      const changed = () => {
        const value = input.value.trim();
        if (value === "" || refuseLocally(key, value)) return;
        const text = comment ? comment.value.trim() : null;
        if (comment && !text) {
          cellStatus[key] = { state: "invalid", text: "此项需填写评语 This criterion needs a comment" };
          render();
          return;
        }
        send(value, text);
      };
      input.addEventListener("change", changed);
      if (comment) comment.addEventListener("change", changed);
      return td;
    }

    // The sum of this seat's own saved values in a row (exact: values have at most 4 decimals).
    function subtotal(values) {
      const units = values.reduce((sum, v) => sum + Math.round(Number(v) * 10000), 0);
      return String(units / 10000);
    }

    function showSubtotals(grid, savedFor) {
      const lot = ctx.view() && ctx.view().lot;
      const shown = !(lot && lot.committee && lot.committee.show_own_subtotals === false);
      for (const row of grid.querySelectorAll("tbody tr")) {
        const out = row.querySelector("td.subtotal");
        if (!out) continue;
        const values = [...row.querySelectorAll("input[data-cell]")]
          .map((i) => savedFor(i.dataset.cell))
          .filter((cell) => cell && cell.value !== undefined)
          .map((cell) => cell.value);
        out.textContent = shown && values.length ? subtotal(values) : "—";
      }
    }

    function criterionHead(c) {
      const kind = c.kind === "subjective" ? "主观 subjective" : "客观 objective";
      const range = c.min !== undefined ? `${c.min}–${c.max}, 步长 step ${c.step}` : "";
      return E.el("th", { title: range }, `${c.id} ${c.name || ""}`, E.el("br"), E.el("small", {}, `${kind} ${range}`));
    }

    // The blind part: one row per code of this seat, in this seat's order; bidders only after the reveal.
    function renderBlindGrid(lot, me) {
      const blind = ownBlind();
      const criteria = blindCriteria(lot);
      const grid = $("blind-grid");
      const section = $("blind-part");
      section.hidden = !criteria.length || (!blind && ctx.view().phase === "scoring");
      $("blind-note").textContent = !criteria.length
        ? ""
        : !blind
          ? "技术部分为暗标：开始评分后按本席位的编号显示。The blind part appears under this seat's codes when scoring starts."
          : blind.revealed
            ? "暗标已揭晓：编号对应的投标人如下，暗标评分已封存。Revealed: each code's bidder is shown; blind scores are closed."
            : "暗标评审：投标人以本席位专属编号显示，顺序为本席位专属顺序。Blind: bidders appear as this seat's own codes, in this seat's own order.";
      if (!blind) {
        grid.replaceChildren();
        blindBuiltFor = null;
        return;
      }
      const signature = JSON.stringify([blind.pairs, criteria.map((c) => c.id)]);
      if (blindBuiltFor !== signature) {
        grid.replaceChildren();
        const head = E.el("tr", {}, E.el("th", {}, "编号 Code"));
        for (const c of criteria) head.append(criterionHead(c));
        head.append(SUBTOTAL_HEAD());
        grid.append(E.el("thead", {}, head));
        const body = E.el("tbody");
        for (const [code, bidder] of blind.pairs) {
          const label = bidder ? `${code} → ${bidder} ${E.bidderName(lot, bidder)}` : code;
          const row = E.el("tr", { "data-code": code }, E.el("th", {}, label));
          for (const c of criteria) {
            row.append(cellInput(`${code}/${c.id}`, `${code} ${c.id}`, c, (value, comment) => sendScore({ code }, c.id, value, comment)));
          }
          row.append(E.el("td", { class: "subtotal" }));
          body.append(row);
        }
        grid.append(body);
        blindBuiltFor = signature;
      }
      const mine = (ctx.view().cells && ctx.view().cells[SEAT]) || {};
      const open = ctx.view().phase === "scoring" && !!me.signed_in && !me.submitted && !blind.revealed;
      const fixable = ctx.correctable();
      const bidderOf = Object.fromEntries(blind.pairs);
      updateInputs(grid, (key) => open || (fixable.has(key) && !blind.revealed), (key) => {
        const [code, criterion] = key.split("/");
        // before the reveal the seat files its blind cells by code; after it, by bidder
        return mine[key] || (bidderOf[code] ? mine[`${bidderOf[code]}/${criterion}`] : undefined);
      });
    }

    function renderGrid(lot, me) {
      // With a blind draw (or before scoring, when it is still to come) the blind criteria are
      // in the blind part; a session without a draw scores every criterion by bidder.
      const drawn = ownBlind() !== null || ctx.view().phase === "prepared" || ctx.view().phase === "sign_in";
      const criteria = E.typedCriteria(lot).filter((c) => !(drawn && c.blind));
      const bidders = E.bidderIds(lot);
      const signature = JSON.stringify([bidders, criteria.map((c) => c.id)]);
      const grid = $("grid");
      if (gridBuiltFor !== signature) {
        grid.replaceChildren();
        const head = E.el("tr", {}, E.el("th", {}, "投标人 Bidder"));
        for (const c of criteria) head.append(criterionHead(c));
        head.append(SUBTOTAL_HEAD());
        grid.append(E.el("thead", {}, head));
        const body = E.el("tbody");
        for (const b of bidders) {
          const row = E.el("tr", {}, E.el("th", {}, `${b} ${E.bidderName(lot, b)}`));
          for (const c of criteria) {
            row.append(cellInput(`${b}/${c.id}`, `${b} ${c.id}`, c, (value, comment) => sendScore({ bidder: b }, c.id, value, comment)));
          }
          row.append(E.el("td", { class: "subtotal" }));
          body.append(row);
        }
        grid.append(body);
        gridBuiltFor = signature;
      }
      const mine = (ctx.view().cells && ctx.view().cells[SEAT]) || {};
      // typing while offline is allowed: the command is queued and resent
      const open = ctx.view().phase === "scoring" && !!me.signed_in && !me.submitted;
      // after submitting, and in review, an objective value in a mismatch can still be corrected
      const fixable = ctx.correctable();
      const canFix = ["scoring", "review"].includes(ctx.view().phase) && !!me.signed_in;
      updateInputs(grid, (key) => open || (canFix && fixable.has(key)), (key) => mine[key]);
    }

    const SUBTOTAL_HEAD = () => E.el("th", { title: "本席位自己的评分之和，不是委员会的得分 The sum of this seat's own scores, not the committee's" }, "本席小计", E.el("br"), E.el("small", {}, "My subtotal"));

    function updateInputs(grid, editable, savedFor) {
      showSubtotals(grid, savedFor);
      for (const input of grid.querySelectorAll("input[data-cell]")) {
        const key = input.dataset.cell;
        const saved = savedFor(key);
        input.disabled = !editable(key);
        if (saved && saved.value !== undefined) input.classList.remove("missing");
        const status = cellStatus[key] || (saved ? { state: "saved" } : null);
        const comment = grid.querySelector(`textarea[data-comment-for="${CSS.escape(key)}"]`);
        if (comment) comment.disabled = !editable(key);
        if (comment && saved && saved.comment !== undefined && document.activeElement !== comment && pendingFor(key) === null) comment.value = saved.comment;
        if (saved && saved.value !== undefined && document.activeElement !== input && pendingFor(key) === null && !(status && ["error", "invalid"].includes(status.state))) {
          input.value = saved.value;
        }
        const queued = pendingFor(key) === null ? null : queuedValue(key);
        if (queued !== null && input.value === "" && document.activeElement !== input) input.value = queued;
        const stateEl = grid.querySelector(`[data-state-for="${CSS.escape(key)}"]`);
        const errorEl = grid.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
        let label = "";
        let state = status ? status.state : "";
        if (state === "sending" && !ctx.connected()) state = "offline";
        if (state === "saved") label = "已保存 saved";
        else if (state === "sending") label = "发送中 sending";
        else if (state === "offline") label = "离线 offline";
        else if (state === "error" || state === "invalid") label = "未保存 not saved";
        stateEl.textContent = label;
        stateEl.className = "cell-state " + (state === "invalid" ? "error" : state);
        errorEl.textContent = state === "error" ? errorText(status.error) : state === "invalid" ? status.text : "";
      }
    }

    // Cells of the sheet this seat holds a value for, of all its cells.
    function sheetProgress(lot) {
      const inputs = [...document.querySelectorAll("#grid input[data-cell], #blind-grid input[data-cell]")];
      const mine = (ctx.view().cells && ctx.view().cells[SEAT]) || {};
      const pairs = (ownBlind() || { pairs: [] }).pairs;
      const bidderOf = Object.fromEntries(pairs);
      const has = (key) => {
        const [head, criterion] = key.split("/");
        const cell = mine[key] || (bidderOf[head] ? mine[`${bidderOf[head]}/${criterion}`] : undefined);
        return !!(cell && cell.value !== undefined) || pendingFor(key) !== null; // or queued
      };
      const total = E.typedCriteria(lot).length * E.bidderIds(lot).length;
      const missing = inputs.filter((i) => !has(i.dataset.cell));
      return [inputs.length - missing.length, total, missing];
    }

    function focusCell(key) {
      const input = document.querySelector(`input[data-cell="${CSS.escape(key)}"]`);
      if (!input) return;
      input.scrollIntoView({ block: "center" });
      input.focus();
    }

    // Arrow keys move between cells as in a spreadsheet (left/right only at the text's edge).
    function onGridKey(ev) {
      const input = ev.target;
      if (!(input instanceof HTMLInputElement) || !input.dataset.cell) return;
      const cell = input.closest("td");
      const row = cell.parentElement;
      const column = [...row.children].indexOf(cell);
      let target = null;
      if (ev.key === "ArrowUp" || ev.key === "ArrowDown" || ev.key === "Enter") {
        const rows = [...row.parentElement.children];
        const next = rows[rows.indexOf(row) + (ev.key === "ArrowUp" ? -1 : 1)];
        target = next && next.children[column];
      } else if (ev.key === "ArrowLeft" && input.selectionStart === 0 && input.selectionEnd === 0) {
        target = cell.previousElementSibling;
      } else if (ev.key === "ArrowRight" && input.selectionStart === input.value.length) {
        target = cell.nextElementSibling;
      }
      const next = target && target.querySelector("input[data-cell]");
      if (!next) return;
      ev.preventDefault();
      if (ev.key === "Enter") input.dispatchEvent(new Event("change"));
      next.focus();
      next.select();
    }
    // As the expert types: the cell's message follows the text (nothing is sent until it changes).
    function onGridInput(ev) {
      const input = ev.target;
      if (!(input instanceof HTMLInputElement) || !input.dataset.cell) return;
      const key = input.dataset.cell;
      const value = input.value.trim();
      const problem = value === "" ? null : valueProblem(key, value);
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      const errorEl = input.parentElement.querySelector(".error");
      if (problem) errorEl.textContent = problem;
      else if (cellStatus[key] && cellStatus[key].state === "invalid") {
        delete cellStatus[key];
        errorEl.textContent = "";
      } else if (!(cellStatus[key] && cellStatus[key].state === "error")) errorEl.textContent = "";
    }

    // A value the server would refuse is not sent: the cell says why, in zh-CN and English.
    function refuseLocally(key, value) {
      const problem = valueProblem(key, value);
      if (!problem) return false;
      cellStatus[key] = { state: "invalid", text: problem };
      render();
      return true;
    }

    // One signed score: a blind cell names the seat's own code (never the bidder), a named cell
    // the bidder; the comment goes with it where the criterion asks for one.
    async function sendScore(head, criterion, value, comment) {
      const fields = { ...head, criterion, value };
      if (comment) fields.comment = comment;
      const envelope = await signedEnvelope("score.set", fields);
      await enqueue(envelope, `${head.code || head.bidder}/${criterion}`);
    }

    $("grid").addEventListener("input", onGridInput);
    $("blind-grid").addEventListener("input", onGridInput);
    $("grid").addEventListener("keydown", onGridKey);
    $("blind-grid").addEventListener("keydown", onGridKey);

    return {
      render: (lot, me) => {
        renderBlindGrid(lot, me);
        renderGrid(lot, me);
      },
      progress: sheetProgress,
      focusCell,
    };
  };
})();
