// The expert fees (专家劳务报酬) on the home page (home.html #fees), for the admin: once the
// session is sealed after its close (the node logs fees.computed with the seal, for a lot with a
// fee catalogue), the payment export (CSV) and each member's PDF statement. Both are admin
// routes (GET .../fees.csv, GET .../fees/{seat}.pdf): the page fetches them with the admin
// token and saves what came back (a blob download), so the token never goes into an address.
// The seal is seen on the session's public view (home_draw.js follows it; onView comes here).
"use strict";

(function () {
  const E = window.Evalroom;
  const STATUS = { member: "委员 Member", recused: "已回避 Recused" };

  // RFC 4180 rows (quoted fields may hold commas, quotes and line breaks); a BOM is dropped.
  function parseCsv(text) {
    const rows = [];
    let row = [];
    let field = "";
    let quoted = false;
    const src = text.replace(/^\uFEFF/, "");
    for (let i = 0; i < src.length; i++) {
      const c = src[i];
      if (quoted) {
        if (c === '"' && src[i + 1] === '"') field += src[++i];
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") {
        row.push(field);
        field = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && src[i + 1] === "\n") i++;
        row.push(field);
        rows.push(row);
        row = [];
        field = "";
      } else field += c;
    }
    if (field || row.length) rows.push([...row, field]);
    const [head, ...body] = rows;
    return body.map((cells) => Object.fromEntries(head.map((h, n) => [h, cells[n] || ""])));
  }

  window.EvalroomHomeFees = function (ctx) {
    const { $ } = ctx;
    const fees = { created: null, json: null, rows: null, loading: false };

    function session() {
      return fees.created.session;
    }

    // GET an admin route: the body as a Blob, or throws an {code, message} error.
    async function adminBlob(path) {
      const token = ctx.adminToken();
      if (!token) throw { code: "unauthenticated", message: "" };
      let response;
      try {
        response = await fetch(`/api/sessions/${encodeURIComponent(session())}/${path}`, {
          headers: { Authorization: `Bearer ${token}` },
          cache: "no-store",
        });
      } catch (e) {
        throw { code: "request_timeout", message: `无法连接服务器 Cannot reach the server: ${e.message}` };
      }
      if (!response.ok) {
        let error = { code: `http_${response.status}`, message: response.statusText };
        try {
          error = (await response.json()).error || error;
        } catch (_e) {
          /* not JSON */
        }
        throw error;
      }
      return response.blob();
    }

    function save(blob, name) {
      const url = URL.createObjectURL(blob);
      const a = E.el("a", { href: url, download: name, hidden: "" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }

    function showError(error) {
      const text = window.EvalroomErrors.text(error);
      $("fees-error").textContent = error.message && !["unauthenticated", "forbidden"].includes(error.code) ? `${text}：${error.message}` : text;
      $("fees-error").dataset.code = error.code;
    }

    async function download(path, name) {
      $("fees-error").textContent = "";
      delete $("fees-error").dataset.code;
      try {
        save(await adminBlob(path), name);
        $("fees-state").textContent = `已下载 Downloaded: ${name}`;
      } catch (e) {
        showError(e && e.code ? e : { code: "request_timeout", message: String(e) });
      }
    }

    // The statements listed from the payment CSV itself: one row a member (and a recused one).
    async function load() {
      if (fees.loading || fees.rows) return;
      fees.loading = true;
      try {
        const rows = parseCsv(await (await adminBlob("fees.csv")).text());
        fees.rows = rows;
        renderTable(rows);
      } catch (e) {
        showError(e && e.code ? e : { code: "request_timeout", message: String(e) });
      } finally {
        fees.loading = false;
      }
    }

    function renderTable(rows) {
      const seats = rows.filter((r) => r.seat);
      const total = rows.find((r) => !r.seat);
      const currency = (fees.json.fees && fees.json.fees.currency) || "";
      $("fees-state").textContent = `${seats.length} 份结算 statements · 合计 Total ${total ? total.total : "—"} ${currency}`;
      const heads = ["席位 Seat", "身份 Status", "姓名 Name", "分钟 Minutes", `合计 Total ${currency}`, "结算单 Statement"];
      $("fees-statements").replaceChildren(
        E.el("caption", {}, "各成员结算单 Each member's statement"),
        E.el("thead", {}, E.el("tr", {}, ...heads.map((h) => E.el("th", { scope: "col" }, h)))),
        E.el(
          "tbody",
          {},
          ...seats.map((r) =>
            E.el(
              "tr",
              { "data-seat": r.seat },
              E.el("th", { scope: "row" }, r.seat),
              E.el("td", {}, STATUS[r.status] || r.status),
              E.el("td", {}, r.name || "—"),
              E.el("td", { class: "num" }, r.minutes),
              E.el("td", { class: "num" }, r.total),
              E.el("td", {}, E.el("button", {
                type: "button",
                class: "fee-pdf",
                "data-seat": r.seat,
                "aria-label": `下载 PDF Download ${r.seat}`,
                onclick: () => download(`fees/${encodeURIComponent(r.seat)}.pdf`, `fee-${session()}-${r.seat}.pdf`),
              }, "下载 PDF Download")),
            ),
          ),
        ),
      );
    }

    function start(created, json) {
      Object.assign(fees, { created, json, rows: null, loading: false });
      $("fees").hidden = true;
      $("fees-statements").replaceChildren();
      for (const id of ["fees-state", "fees-error"]) $(id).textContent = "";
    }

    // The session's public view: once sealed after the close, the fees are there to fetch.
    function render(view) {
      const due = Boolean(fees.json && fees.json.fees && view && view.sealed && view.sealed.cause === "closed");
      $("fees").hidden = !due;
      if (due) load();
    }

    $("fees-csv").addEventListener("click", async () => {
      await download("fees.csv", `fees-${session()}.csv`);
      load(); // the list too, if an earlier read failed
    });
    return { start, render };
  };
})();
