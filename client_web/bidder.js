// The bidder's clarification page (/bidder/{session}#token=…): its one question, its one answer.
// The token (role bidder) opens nothing else: no socket, no view. The answer is a command of the
// bidder; resending after a lost answer uses the same id, so it is never recorded twice.
"use strict";

(function () {
  const session = decodeURIComponent(location.pathname.split("/")[2] || "");
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  const base = `/api/sessions/${encodeURIComponent(session)}/clarification`;
  const $ = (id) => document.getElementById(id);
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  // One id per page load and question: a retry after a network error is the same command.
  let commandId = null;

  function showError(error) {
    $("error").textContent = window.EvalroomErrors.text(error);
  }

  function showAnswered(answer) {
    $("answer-form").hidden = true;
    const box = $("answered");
    box.hidden = false;
    box.replaceChildren(
      window.Evalroom.el("p", {}, "已提交答复 Answer submitted："),
      window.Evalroom.el("blockquote", { id: "answer-text" }, answer),
    );
  }

  async function load() {
    const response = await fetch(base, { headers });
    const body = await response.json();
    if (!body.ok) {
      $("question").textContent = "—";
      $("answer-form").hidden = true;
      showError(body.error);
      return;
    }
    $("project").textContent = `${body.project.code} ${body.project.name}`;
    $("bidder").textContent = `${body.bidder.name}（${body.bidder.id}）`;
    $("question").textContent = body.question;
    commandId = `answer-${body.clarification}`;
    if (body.status === "answered") showAnswered(body.answer);
    else if (body.closed) {
      $("answer-form").hidden = true;
      $("error").textContent = "评标已结束，不再接受答复 The evaluation is closed: no answer is taken";
    }
  }

  $("answer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = $("answer").value.trim();
    if (!answer) return;
    const sure = await window.Evalroom.confirm("答复提交后不可修改。确定提交？", "The answer cannot be changed once submitted. Submit it?");
    if (!sure) return;
    $("send").disabled = true;
    $("error").textContent = "";
    try {
      const response = await fetch(`${base}/answer`, { method: "POST", headers, body: JSON.stringify({ id: commandId, answer }) });
      const body = await response.json();
      if (body.ok) showAnswered(answer);
      else showError(body.error);
    } catch (error) {
      $("error").textContent = `网络错误，请重试 Network error, try again (${error.message})`;
    } finally {
      $("send").disabled = false;
    }
  });

  load().catch((error) => {
    $("error").textContent = `无法载入 Cannot load (${error.message})`;
  });
})();
