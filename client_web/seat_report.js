// The evaluation report panel (评标报告) of the seat page, on seat.html under #report.
// The page downloads the issued PDF with the seat's token, hashes it with WebCrypto and signs
// (report.sign, optionally with a dissent 保留意见) only the SHA-256 of the bytes it downloaded,
// and only when it equals the issued report's hash. seat.js creates it with the page's state and
// helpers (`page`) and calls render / fold / sign / reload.
"use strict";

window.EvalroomSeatReport = function (page) {
  const E = window.Evalroom;
  const { session: SESSION, seat: SEAT, $, cellStatus, pendingFor, errorText, freshToken, render, signedEnvelope, enqueue } = page;
  const REPORT_CELL = "report"; // the queue's tag of a report.sign command (cellStatus key)
  const MAX_DISSENT_CHARS = 2000; // code points, as the server counts them
  // the report PDF this page downloaded: {expected, computed, url, bytes} or {expected, error}
  let reportPdf = null;
  let reportLoading = null; // the promise of a download in progress
  let reportLocalError = ""; // a refusal made here (hash mismatch, bad dissent), before any command

  const REPORT_ERRORS = {
    stale_report: "报告已重新出具，您签署的不是当前版本；请阅读新版本后再签署。The report was reissued: that is not the current version; read the new one and sign it.",
    already_signed: "本席位已签署此报告。This seat has already signed this report.",
    wrong_phase: "当前阶段不能签署报告（仅在复核阶段）。The report can only be signed in review.",
    no_report: "尚未出具评标报告。No report has been issued yet.",
    malformed: `保留意见须为 1–${MAX_DISSENT_CHARS} 字。A dissent is 1–${MAX_DISSENT_CHARS} characters.`,
    bad_signature: "签名无效，请重新登记本席位。The signature did not verify; re-enrol this seat.",
    not_enrolled: "本席位尚未登记。This seat is not enrolled.",
  };

  function reportErrorText(error) {
    if (!error) return "";
    const known = REPORT_ERRORS[error.code];
    return known ? `${known} (${error.code})` : errorText(error);
  }

  function hex(buffer) {
    return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Download the issued PDF with the seat's token and hash the exact bytes with WebCrypto.
  function loadReportPdf() {
    const expected = page.view() && page.view().report ? page.view().report.hash : null;
    if (!expected) return Promise.resolve(null);
    if (reportLoading && reportLoading.expected === expected) return reportLoading.promise;
    const promise = (async () => {
      let result;
      try {
        const token = await freshToken();
        const response = await fetch(`/api/sessions/${encodeURIComponent(SESSION)}/report.pdf`, {
          headers: { Authorization: `Bearer ${token}` },
          cache: "no-store",
        });
        if (!response.ok) {
          let error = { code: "HTTP_" + response.status, message: response.statusText };
          try {
            error = (await response.json()).error || error;
          } catch (_e) {
            /* not JSON */
          }
          throw error;
        }
        const bytes = await response.arrayBuffer();
        const computed = hex(await crypto.subtle.digest("SHA-256", bytes));
        const url = URL.createObjectURL(new Blob([bytes], { type: "application/pdf" }));
        result = { expected, computed, url, bytes: bytes.byteLength };
      } catch (e) {
        result = { expected, error: e && e.code ? e : { code: "DOWNLOAD_FAILED", message: String(e) } };
      }
      if (reportPdf && reportPdf.url) URL.revokeObjectURL(reportPdf.url);
      reportPdf = result;
      if (reportLoading && reportLoading.promise === promise) reportLoading = null;
      render();
      return result;
    })();
    reportLoading = { expected, promise };
    render();
    return promise;
  }

  function renderReport() {
    const report = page.view() && page.view().report;
    const section = $("report");
    section.hidden = !page.enrolled() || !report;
    if (!report) return;
    if (!reportLoading && (!reportPdf || reportPdf.expected !== report.hash)) loadReportPdf();
    $("report-hash").textContent = report.hash;
    $("report-bytes").textContent = `${report.bytes} 字节 bytes`;
    const pdf = reportPdf && reportPdf.expected === report.hash ? reportPdf : null;
    const matches = !!(pdf && pdf.computed === report.hash);
    $("report-computed").textContent = pdf && pdf.computed ? pdf.computed : "—";
    const check = $("report-check");
    check.textContent = !pdf || pdf.error
      ? ""
      : matches
        ? "✓ 一致 matches"
        : "✗ 不一致：下载的文件不是已出具的报告 mismatch: the downloaded file is not the issued report";
    check.className = !pdf || pdf.error ? "" : matches ? "match" : "mismatch";
    $("report-loading").textContent = reportLoading
      ? "正在下载报告… Downloading the report…"
      : pdf && pdf.error
        ? "下载失败 Download failed: " + errorText(pdf.error)
        : "";
    $("report-loading").className = pdf && pdf.error ? "error" : "";
    $("report-reload").hidden = !(pdf && (pdf.error || !matches)) || !!reportLoading;
    for (const id of ["report-link", "report-download"]) {
      const link = $(id);
      link.hidden = !(pdf && pdf.url);
      if (pdf && pdf.url && link.getAttribute("href") !== pdf.url) link.href = pdf.url;
    }
    $("report-download").download = `report-${SESSION}-${report.hash.slice(0, 12)}.pdf`;
    const frame = $("report-frame");
    if ($("report-embed").open && pdf && pdf.url && frame.getAttribute("src") !== pdf.url) frame.src = pdf.url;

    // every member's signing status
    const table = $("report-signatures");
    const rows = [E.el("tr", {}, E.el("th", {}, "席位 Seat"), E.el("th", {}, "状态 Status"), E.el("th", {}, "保留意见 Dissent"))];
    for (const seat of Object.keys(page.view().seats || {})) {
      const sig = report.signatures[seat];
      const status = !sig
        ? E.el("span", { class: "sig-none" }, "未签署 Not yet signed")
        : sig.dissent != null
          ? E.el("span", { class: "sig-dissent" }, "已签署（保留意见）Signed with dissent")
          : E.el("span", { class: "sig-signed" }, "已签署 Signed");
      const name = seat === SEAT ? `${seat}（本席位 this seat）` : seat;
      rows.push(E.el("tr", { "data-seat": seat }, E.el("th", {}, name), E.el("td", {}, status), E.el("td", { class: "dissent-text" }, sig && sig.dissent != null ? sig.dissent : "")));
    }
    table.replaceChildren(...rows);

    // this seat's own signature
    const mine = report.signatures[SEAT];
    const queued = pendingFor(REPORT_CELL) !== null;
    const status = cellStatus[REPORT_CELL];
    $("report-actions").hidden = !!mine;
    const canSign = !mine && !queued && !reportLoading && page.view().phase === "review";
    $("report-sign").disabled = !canSign;
    const dissent = $("report-dissent").value;
    const count = [...dissent].length;
    $("report-dissent-count").textContent = `${count} / ${MAX_DISSENT_CHARS}`;
    $("report-dissent-count").className = "cell-state" + (count > MAX_DISSENT_CHARS ? " error" : "");
    $("report-sign-dissent").disabled = !canSign || !dissent.trim() || count > MAX_DISSENT_CHARS;
    const state = $("report-state");
    if (mine) {
      state.textContent = mine.dissent != null
        ? `本席位已签署此报告并提出保留意见（第 ${mine.seq} 号事件）。This seat signed this report with a dissent (event ${mine.seq}).`
        : `本席位已签署此报告（第 ${mine.seq} 号事件）。This seat signed this report (event ${mine.seq}).`;
      state.className = "sig-signed";
    } else if (queued) {
      state.textContent = page.connected() && status && status.state === "sending"
        ? "签署中… Signing…"
        : "离线：签署已排队，连接后将重新发送。Offline: the signature is queued and will be resent on reconnect.";
      state.className = "cell-state sending";
    } else if (page.view().phase !== "review") {
      state.textContent = "仅在复核阶段可以签署报告。The report can only be signed in review.";
      state.className = "";
    } else {
      state.textContent = "本席位尚未签署此报告。This seat has not signed this report yet.";
      state.className = "";
    }
    $("report-error").textContent = mine
      ? ""
      : reportLocalError || (status && status.state === "error" ? reportErrorText(status.error) : "");
  }

  // Sign the report: only the SHA-256 of the bytes this page downloaded, only when it is the
  // issued report's hash.
  async function signReport(withDissent) {
    reportLocalError = "";
    delete cellStatus[REPORT_CELL];
    const report = page.view() && page.view().report;
    if (!report) {
      reportLocalError = reportErrorText({ code: "no_report" });
      render();
      return;
    }
    let dissent;
    if (withDissent) {
      dissent = $("report-dissent").value;
      const count = [...dissent].length;
      if (!dissent.trim() || count > MAX_DISSENT_CHARS) {
        reportLocalError = reportErrorText({ code: "malformed" });
        render();
        return;
      }
    }
    let pdf = reportPdf && reportPdf.expected === report.hash ? reportPdf : null;
    if (!pdf || pdf.error) pdf = await loadReportPdf();
    if (!pdf || pdf.error) {
      reportLocalError = "无法下载报告，未签署。Could not download the report; nothing was signed. " + errorText(pdf && pdf.error);
      render();
      return;
    }
    const current = page.view().report ? page.view().report.hash : null;
    if (pdf.computed !== current) {
      reportLocalError =
        `拒绝签署：下载的 PDF 的 SHA-256（${pdf.computed}）与已出具报告的哈希（${current}）不一致。` +
        `Refused to sign: the downloaded PDF's SHA-256 (${pdf.computed}) is not the issued report's hash (${current}).`;
      render();
      return;
    }
    const yes = await window.Evalroom.confirm(
      dissent === undefined
        ? `签署评标报告？您签署的是所阅读 PDF 的 SHA-256：${pdf.computed.slice(0, 16)}…`
        : `签署评标报告并提出保留意见？您签署的是所阅读 PDF 的 SHA-256：${pdf.computed.slice(0, 16)}…`,
      dissent === undefined
        ? "Sign the evaluation report? You sign the SHA-256 of the PDF you read."
        : "Sign the evaluation report with your dissent? You sign the SHA-256 of the PDF you read.",
    );
    if (!yes) return;
    const fields = { report: pdf.computed };
    if (dissent !== undefined) fields.dissent = dissent;
    const envelope = await signedEnvelope("report.sign", fields);
    await enqueue(envelope, REPORT_CELL);
  }

  // report.issued / report.signed into the view, as server/domain/report_signing.py apply_report_view.
  function foldReport(ev) {
    const v = page.streamView();
    const data = ev.data;
    if (!data) return;
    if (ev.type === "report.issued") {
      v.report = { hash: data.report, content: data.content, bytes: data.bytes, signatures: {} };
    } else if (ev.type === "report.signed" && v.report) {
      // a signature of an older issue stays in the log but does not count for the current report
      if (data.report === v.report.hash) v.report.signatures[data.seat] = { seq: ev.seq, dissent: data.dissent != null ? data.dissent : null };
      if (data.seat === SEAT && pendingFor(REPORT_CELL) === null) delete cellStatus[REPORT_CELL];
    }
  }

  // Forget the downloaded PDF and any local refusal, and download again.
  function reload() {
    reportPdf = null;
    reportLocalError = "";
    loadReportPdf();
  }

  return { render: renderReport, fold: foldReport, sign: signReport, reload };
};
