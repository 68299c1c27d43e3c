// Enrolment and sign-in at the seat, for seat.js: the one-time enrolment code registers a new
// non-extractable Ed25519 key (kept in seat_store.js before the server is asked, so a lost answer
// leaves a key that may sign in), and the seat's token is renewed by a login signed with that
// key. A signed login is single-use (its t later than the seat's last accepted one), so one runs
// at a time however many parts of the page find the token stale together.
"use strict";

(function () {
  const E = window.Evalroom;

  window.EvalroomSeatLogin = function (ctx) {
    const { store } = ctx;
    const SESSION = ctx.session;
    const SEAT = ctx.seat;
    const LOGIN_T_KEY = `evalroom:login-t:${SESSION}/${SEAT}`;

    async function postJson(url, body) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      let answer;
      try {
        answer = await response.json();
      } catch (_e) {
        answer = { ok: false, error: { code: "HTTP_" + response.status, message: response.statusText } };
      }
      return answer;
    }

    async function enrol(code) {
      const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
      const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
      const publicKey = E.bytesToBase64(raw);
      // Kept before asking: a code works once, so if the answer is lost on the way this key may be
      // the enrolled one, and a signed login with it is then the only way back in.
      await store.keep({ privateKey: pair.privateKey, publicKey, token: null });
      let answer = null;
      try {
        answer = await postJson(`/api/sessions/${encodeURIComponent(SESSION)}/enrol`, {
          seat: SEAT,
          code,
          public_key: publicKey,
        });
      } catch (_e) {
        answer = null; // no answer: the enrolment may or may not have landed
      }
      if (answer && answer.token) {
        await store.keep({ ...store.record(), token: answer.token });
        return;
      }
      try {
        await login(); // the code was used by this very key (an earlier answer was lost)
        return;
      } catch (_e) {
        /* not enrolled with this key: report the enrolment's own refusal */
      }
      throw (answer && answer.error) || { code: "enrol_failed", message: "no answer from the server" };
    }

    // A signed login is single-use: its t must be later than the seat's last accepted login.
    function loginTime() {
      const last = Number(localStorage.getItem(LOGIN_T_KEY) || 0);
      const t = Math.max(Date.now(), last + 1);
      try {
        localStorage.setItem(LOGIN_T_KEY, String(t));
      } catch (_e) {
        /* storage blocked: Date.now() is later than the last login but for a clock step back */
      }
      return t;
    }

    // One sign-in at a time: the Stream, the media panel and the report download may all find the
    // token stale at once, and the server takes a signed login only if its t is later than the last
    // one it accepted, so two racing logins would refuse one of them.
    let loggingIn = null;
    function login() {
      if (!loggingIn) loggingIn = signedLogin().finally(() => (loggingIn = null));
      return loggingIn;
    }

    async function signedLogin() {
      const payload = { seat: SEAT, session: SESSION, t: loginTime(), type: "seat.login" };
      const { signed, sig } = await store.sign(payload);
      const answer = await postJson(`/api/sessions/${encodeURIComponent(SESSION)}/login`, {
        seat: SEAT,
        signed,
        sig,
      });
      if (!answer.token) throw answer.error || { code: "login_failed", message: "no token" };
      await store.keep({ ...store.record(), token: answer.token });
    }

    function tokenFresh(token) {
      return token && E.tokenExpiry(token) - 60 > Date.now() / 1000;
    }

    // No server to ask (fetch failed, or a proxy answered 5xx), as opposed to a refusal.
    function unreachable(error) {
      return error instanceof TypeError || !!(error && typeof error.code === "string" && /^HTTP_5\d\d$/.test(error.code));
    }

    return { enrol, login, tokenFresh, unreachable };
  };
})();
