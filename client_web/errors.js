// The one catalogue of error texts, zh-CN and English, for every code the server answers with:
// server/domain/errors.py `Code`, signaling/messages.py `SignalCode`, and the few answered outside
// them (`unknown_event` by server/app/sio_guard.py, `unknown_recording` by recordings_http.py);
// docs/PROTOCOL.md "Error codes by endpoint" lists where each comes from. Plus the client-side
// check of a typed score, the same rule as server/domain/scoring.py `check_value`.
//
// Plain script (no modules, no build step); load it before the page's own script:
//   <script src="/client/errors.js"></script>
// and use window.EvalroomErrors:
//   CATALOGUE              code -> [zh-CN text, English text]
//   text(error)            an answer's {code, message, details} as "中文 English", plus the cells
//                          (details.cells), seats (details.seats) or wait (details.retry_after_ms)
//                          it names; an unknown code: "未知错误 Unknown error (<code>): <message>"
//   zh(code), en(code)     one language's text ("未知错误" / "Unknown error" for an unknown code)
//   checkValue(criterion, raw)
//                          null when the server would accept `raw` (the text typed in a cell) for
//                          this criterion of the lot (`min`, `max`, `step`, `kind`, numbers or
//                          decimal strings), else {code, zh, en}: `not_scorable`, `malformed`,
//                          `out_of_range` ("应在 0–10 之间") or `off_step` ("步长为 0.5").
//                          The server stays the judge: this only answers sooner.
//
// tests/e2e/test_error_catalogue.py keeps the catalogue complete (every code of the server and of
// PROTOCOL.md) and checkValue equal to check_value on generated cases.
"use strict";

(function () {
  // One entry per line, `code: ["中文", "English"],`: the test reads them with a regex.
  const CATALOGUE = {
    malformed: ["请求格式不正确", "Malformed request"],
    too_large: ["内容过大", "Too large"],
    unauthenticated: ["未登录或凭证无效，请重新登录", "Not signed in or credentials invalid; sign in again"],
    token_expired: ["登录已过期，请重新登录", "Sign-in expired; sign in again"],
    token_revoked: ["此链接已被撤销，请向管理员索取新链接", "This link was revoked; ask the administrator for a new one"],
    forbidden: ["无权进行此操作", "Not allowed for your role"],
    unknown_session: ["评标会话不存在", "No such session"],
    unknown_seat: ["席位不存在", "No such seat"],
    unknown_bidder: ["投标人不存在", "No such bidder"],
    unknown_criterion: ["评分项不存在", "No such criterion"],
    unknown_command: ["未知操作", "Unknown command"],
    bad_enrolment_code: ["登记码不正确，请核对后重试", "Wrong enrolment code; check it and try again"],
    too_many_attempts: ["尝试次数过多，请稍后再试", "Too many attempts; wait and try again"],
    rate_limited: ["操作过于频繁，请稍后再试", "Too many requests; try again shortly"],
    request_timeout: ["请求超时，请重试", "Request timed out; try again"],
    too_many_connections: ["连接过多，请关闭其他窗口后重试", "Too many connections; close other windows and retry"],
    already_enrolled: ["此席位已登记，请使用原设备或联系监督人员", "Seat already enrolled; use the first device or ask the supervisor"],
    not_enrolled: ["此席位尚未登记", "This seat has not enrolled"],
    bad_key: ["密钥无效", "Invalid key"],
    bad_signature: ["签名无效", "Invalid signature"],
    payload_mismatch: ["签名内容与请求不符，请检查本机时间并刷新页面", "Signed content does not match; check the clock and reload"],
    wrong_phase: ["当前阶段不能进行此操作", "Not possible in the current phase"],
    not_signed_in: ["请先签到（签署承诺书）", "Sign in first (sign the pledge)"],
    already_signed_in: ["已签到", "Already signed in"],
    not_scorable: ["此项由系统计算，无需填写", "This criterion is computed, not typed"],
    out_of_range: ["分值超出范围", "Score out of range"],
    off_step: ["分值不符合步长", "Score is not on the step"],
    comment_required: ["此项须填写评分理由", "This criterion needs a comment"],
    sheet_submitted: ["评分表已提交，不能再修改", "Sheet already submitted; it cannot change"],
    sheet_incomplete: ["评分表尚有空项", "The sheet has empty cells"],
    phase_not_ready: ["条件未满足，尚不能继续", "Not ready to go on yet"],
    bad_lot: ["标段数据无效", "Invalid lot description"],
    blind_code_required: ["暗标部分须按编号评分", "Blind criteria are scored by code"],
    blind_closed: ["暗标评审已结束，不能修改", "The blind part is closed"],
    blind_not_assigned: ["本会话没有暗标编号", "This session has no blind draw"],
    not_chair: ["只有评标委员会主任可以进行此操作", "Only the chair can do this"],
    chair_elected: ["主任已经选出", "The chair is already elected"],
    already_voted: ["已经投过票", "Already voted"],
    unknown_proposal: ["提议不存在", "No such proposal"],
    proposal_closed: ["该提议已结束", "This proposal is closed"],
    not_approved: ["该提议未获通过", "This proposal was not approved"],
    unknown_ground: ["否决理由不在规定范围内", "Not a ground for rejection"],
    reason_required: ["请填写理由", "A reason is required"],
    already_rejected: ["该投标人已被否决", "This bidder is already rejected"],
    already_requested: ["已经提出过此请求", "Already requested"],
    not_flagged: ["此分值未被标记，无需说明", "This score is not flagged; nothing to explain"],
    report_not_ready: ["评标报告尚不能生成", "The report cannot be made yet"],
    report_issued: ["评标报告已出具", "The report is already issued"],
    no_report: ["尚无评标报告", "No report yet"],
    stale_report: ["报告已更新，请刷新后查看最新版本", "The report changed; reload for the current one"],
    paused: ["评标已暂停，恢复后再操作", "The evaluation is paused; try again once it resumes"],
    not_paused: ["评标未暂停", "The evaluation is not paused"],
    sealed: ["会话已封存，只能导出归档", "The session is sealed: only an export is possible"],
    already_rated: ["已对该席位作出评价", "This member is rated already"],
    not_submitted: ["评分表尚未提交，无需重新打开", "The sheet is not submitted: nothing to reopen"],
    unknown_rollback: ["没有这个回退申请", "No such roll-back request"],
    not_due: ["故障规则的时限未到", "The fault rule's time has not come"],
    pool_too_small: ["专家库中符合条件的专家不足", "Too few eligible experts in the pool"],
    not_participant: ["您不是本次抽取的参与方", "You hold no share of this draw"],
    no_draw: ["尚未发起专家抽取", "No expert draw is open"],
    already_committed: ["已提交随机数承诺", "The share is committed already"],
    bad_reveal: ["公开的随机数与承诺不符", "The share does not match its commitment"],
    draw_not_ready: ["抽取尚未就绪：仍有参与方未承诺或未公开", "The draw is not ready: a share is not committed or not revealed"],
    draw_made: ["专家已抽定，不可更改", "The experts are drawn; nothing changes any more"],
    unknown_recusal: ["没有该回避申请", "No such recusal"],
    no_reserve: ["该专业已无候补专家", "No reserve of this specialty is left"],
    unknown_clarification: ["没有该澄清问题", "No such clarification"],
    already_answered: ["该澄清已答复", "This clarification is answered already"],
    already_signed: ["已签署此报告", "Already signed this report"],
    id_reused: ["操作编号重复，请刷新页面", "Command id reused with other content; reload the page"],
    bad_origin: ["请求来源不被允许", "Request origin not allowed"],
    unsupported_media_type: ["请求内容类型不受支持", "Unsupported content type"],
    internal: ["服务器内部错误，请稍后重试", "Server error; try again later"],
    unknown_event: ["未知消息类型", "Unknown event"],
    unknown_message: ["未知媒体消息", "Unknown media message"],
    unknown_recording: ["录像不存在", "No such recording"],
  };
  const UNKNOWN = ["未知错误", "Unknown error"];
  const MAX_LISTED = 20; // the server names at most 20 cells

  function entry(code) {
    return Object.prototype.hasOwnProperty.call(CATALOGUE, code) ? CATALOGUE[code] : null;
  }

  function zh(code) {
    return (entry(code) || UNKNOWN)[0];
  }

  function en(code) {
    return (entry(code) || UNKNOWN)[1];
  }

  // "B1/T1" or, for a seat's cell, "host-1:B1/T1" (blind cells are named by the seat's code).
  function listed(items) {
    const shown = items.slice(0, MAX_LISTED).map(String);
    return shown.join(", ") + (items.length > MAX_LISTED ? ", …" : "");
  }

  function detailText(details) {
    if (!details || typeof details !== "object") return "";
    const parts = [];
    if (Array.isArray(details.cells) && details.cells.length) {
      parts.push(`单元格 cells (${details.cells.length}): ${listed(details.cells)}`);
    }
    if (Array.isArray(details.seats) && details.seats.length) {
      parts.push(`席位 seats: ${listed(details.seats)}`);
    }
    if (Number.isFinite(details.retry_after_ms)) {
      const seconds = Math.max(1, Math.ceil(details.retry_after_ms / 1000));
      parts.push(`${seconds} 秒后重试 retry in ${seconds} s`);
    }
    return parts.length ? " — " + parts.join("; ") : "";
  }

  // An answer's error as one line for the page: "中文 English" and what its details name.
  function text(error) {
    if (error === null || error === undefined) return "";
    const err = typeof error === "string" ? { code: error } : error;
    const found = entry(err.code);
    if (!found) {
      const message = err.message ? String(err.message) : "";
      return `${UNKNOWN[0]} ${UNKNOWN[1]} (${err.code === undefined ? "?" : err.code}): ${message}`;
    }
    return `${found[0]} ${found[1]}` + detailText(err.details);
  }

  // --- exact decimals: {m: BigInt, e: int} stands for m × 10^e; never a float ---------------

  // Python Decimal's syntax (what the lot's numbers went through): spaces around, a sign,
  // digits with '_' between them, a fraction, an exponent. Infinity and NaN are not numbers here.
  const DECIMAL_SYNTAX = /^([+-]?)((?:\d(?:_?\d)*)?)(?:\.((?:\d(?:_?\d)*)?))?(?:[eE]([+-]?\d(?:_?\d)*))?$/;

  function parseDecimal(value) {
    if (typeof value === "number") {
      if (!Number.isFinite(value)) return null;
      value = String(value); // shortest round-trip text, as Python's str(float)
    }
    if (typeof value !== "string") return null;
    const match = DECIMAL_SYNTAX.exec(value.trim());
    if (!match) return null;
    const whole = (match[2] || "").replace(/_/g, "");
    const fraction = (match[3] || "").replace(/_/g, "");
    if (!whole && !fraction) return null;
    const exponent = match[4] ? Number(match[4].replace(/_/g, "")) : 0;
    if (!Number.isSafeInteger(exponent)) return null;
    const magnitude = BigInt(whole + fraction || "0");
    return { m: match[1] === "-" ? -magnitude : magnitude, e: exponent - fraction.length };
  }

  // The numbers as integers at one scale (the finest exponent among them).
  function aligned(numbers) {
    const e = Math.min(...numbers.map((n) => n.e));
    return numbers.map((n) => n.m * 10n ** BigInt(n.e - e));
  }

  function formatDecimal(n) {
    const negative = n.m < 0n;
    let digits = (negative ? -n.m : n.m).toString();
    if (n.e >= 0) {
      digits = digits === "0" ? "0" : digits + "0".repeat(n.e);
    } else {
      digits = digits.padStart(-n.e + 1, "0");
      const cut = digits.length + n.e;
      digits = (digits.slice(0, cut) + "." + digits.slice(cut)).replace(/\.?0+$/, "");
    }
    return (negative && digits !== "0" ? "-" : "") + digits;
  }

  // --- the client-side check of a typed score -----------------------------------------------

  const TYPED_KINDS = ["subjective", "objective"];
  // server/domain/scoring.py _DECIMAL: no sign, no exponent, no spaces, no leading zero, at most
  // 7 integer digits and 4 decimals. (Python's re.match with `$` also lets one trailing "\n"
  // through; a browser input never holds one, and refusing it here is the safe side.)
  const VALUE_SYNTAX = /^(0|[1-9][0-9]{0,6})(\.[0-9]{1,4})?$/;

  function refusal(code, zhText, enText) {
    return { code, zh: zhText, en: enText };
  }

  // null when the server's check_value would accept `raw` for `criterion`, else why not.
  function checkValue(criterion, raw) {
    if (!criterion || typeof criterion !== "object") return null;
    if (criterion.kind !== undefined && !TYPED_KINDS.includes(criterion.kind)) {
      return refusal("not_scorable", "此项由系统计算，无需填写", "This criterion is computed, not typed");
    }
    if (typeof raw !== "string" || !VALUE_SYNTAX.test(raw)) {
      return refusal(
        "malformed",
        "请输入数字，如 7.5（不带正负号，最多 4 位小数）",
        "Enter a number such as 7.5 (no sign, at most 4 decimals)",
      );
    }
    const low = parseDecimal(criterion.min === undefined ? "0" : criterion.min);
    const high = parseDecimal(criterion.max);
    let step = criterion.step === undefined || criterion.step === null ? null : parseDecimal(criterion.step);
    if (!low || !high || (criterion.step != null && !step)) return null; // not a lot the server took
    if (!step || step.m === 0n) step = { m: 1n, e: 0 }; // as the server: `found.step or Decimal(1)`
    const [value, min, max, size] = aligned([parseDecimal(raw), low, high, step]);
    const lowText = formatDecimal(low);
    const highText = formatDecimal(high);
    if (value < min || value > max) {
      return refusal("out_of_range", `应在 ${lowText}–${highText} 之间`, `Must be between ${lowText} and ${highText}`);
    }
    if ((value - min) % size !== 0n) {
      const stepText = formatDecimal(step);
      const from = min === 0n ? "" : `，从 ${lowText} 起`;
      const fromEn = min === 0n ? "" : ` from ${lowText}`;
      return refusal("off_step", `步长为 ${stepText}${from}`, `Must move in steps of ${stepText}${fromEn}`);
    }
    return null;
  }

  window.EvalroomErrors = { CATALOGUE, text, zh, en, checkValue };
})();
