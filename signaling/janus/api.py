"""A small async client of Janus's HTTP API (the REST transport), VideoRoom-agnostic.

Janus's HTTP API is one session (``POST /janus`` ``create``), handles attached to plugins
(``POST /janus/<session>`` ``attach``), plugin messages on a handle (``POST
/janus/<session>/<handle>``) and one long poll per session (``GET /janus/<session>?maxev=N``)
that returns everything asynchronous: a plugin's answer to a request it acknowledged with
``ack``, and the core's ``webrtcup``, ``media``, ``slowlink`` and ``hangup`` notifications.

The request bodies and the reading of responses are pure functions (tests import them); the
:class:`JanusClient` below only moves them over HTTP and routes the long poll's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 15.0
POLL_TIMEOUT_S = 40.0  # Janus answers an idle long poll with a keepalive after 30 s
KEEPALIVE_S = 25.0  # well under the session timeout (60 s in process.py's configuration)
MAX_EVENTS = 10
ERROR_NO_SESSION = 458
ERROR_NO_HANDLE = 459

Json = dict[str, Any]
OnEvent = Callable[[int, Json], None]  # (handle id, event)


class JanusError(Exception):
    """Janus (core or plugin) refused a request; ``code`` is Janus's numeric error code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def new_transaction() -> str:
    """A fresh transaction id (Janus echoes it in the answer)."""
    return secrets.token_hex(8)


def request_body(janus: str, transaction: str, secret: str | None, **fields: Any) -> Json:
    """The envelope of every request: ``{"janus": verb, "transaction": id, ...}``."""
    body: Json = {"janus": janus, "transaction": transaction, **fields}
    if secret is not None:
        body["apisecret"] = secret
    return body


def message_body(
    transaction: str, secret: str | None, body: Json, jsep: Json | None = None
) -> Json:
    """A plugin ``message``, with an SDP (``{"type", "sdp"}``) when there is one."""
    extra: Json = {"body": body}
    if jsep is not None:
        extra["jsep"] = jsep
    return request_body("message", transaction, secret, **extra)


def trickle_body(transaction: str, secret: str | None, candidate: Json | None) -> Json:
    """A trickled candidate; ``None`` or an empty candidate says gathering completed."""
    if candidate is None or not candidate.get("candidate"):
        return request_body("trickle", transaction, secret, candidate={"completed": True})
    wanted = {k: candidate[k] for k in ("candidate", "sdpMid", "sdpMLineIndex") if k in candidate}
    return request_body("trickle", transaction, secret, candidate=wanted)


def check_response(response: Any) -> Json:
    """The response if it is not an error; :class:`JanusError` otherwise (core or plugin)."""
    if not isinstance(response, dict):
        raise JanusError(0, f"not a JSON object: {response!r}")
    if response.get("janus") == "error":
        error = response.get("error") or {}
        raise JanusError(int(error.get("code", 0)), str(error.get("reason", "unknown")))
    data = plugin_data(response)
    if data is not None and "error_code" in data:
        raise JanusError(int(data["error_code"]), str(data.get("error", "plugin error")))
    return response


def plugin_data(response: Json) -> Json | None:
    """``plugindata.data`` of a plugin's answer or event, None when there is none."""
    wrapper = response.get("plugindata")
    if isinstance(wrapper, dict) and isinstance(wrapper.get("data"), dict):
        data: Json = wrapper["data"]
        return data
    return None


def created_id(response: Json) -> int:
    """The id in ``{"janus": "success", "data": {"id": N}}`` (a new session or handle)."""
    checked = check_response(response)
    if checked.get("janus") != "success":
        raise JanusError(0, f"expected success, got {checked.get('janus')!r}")
    return int(checked["data"]["id"])


def poll_events(payload: Any) -> list[Json]:
    """The events of one long-poll answer: a list with ``maxev``, one object without."""
    if isinstance(payload, list):
        return [e for e in payload if isinstance(e, dict)]
    if isinstance(payload, dict):
        return [payload]
    return []


class JanusClient:
    """One Janus session over HTTP, its keepalive and its long poll.

    ``on_event`` gets every event not answering a pending transaction, with the handle it
    concerns (``sender``); ``on_lost`` is called once if the session or Janus goes away.
    """

    def __init__(
        self,
        url: str,
        on_event: OnEvent,
        on_lost: Callable[[str], None],
        api_secret: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.session_id: int | None = None
        self._on_event = on_event
        self._on_lost = on_lost
        self._secret = api_secret
        self._http: aiohttp.ClientSession | None = None
        self._pending: dict[str, asyncio.Future[Json]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(1)
        self._closing = False

    async def _post(self, path: str, body: Json) -> Json:
        if self._http is None:
            raise JanusError(0, "client not started")
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with self._http.post(f"{self.url}{path}", json=body, timeout=timeout) as response:
            payload = await response.json(content_type=None)
        return check_response(payload)

    async def start(self) -> None:
        """Create the Janus session and start the long poll and the keepalive."""
        self._http = aiohttp.ClientSession()
        answer = await self._post("", request_body("create", new_transaction(), self._secret))
        self.session_id = created_id(answer)
        self._tasks = [
            asyncio.create_task(self._poll(), name="janus-poll"),
            asyncio.create_task(self._keepalive(), name="janus-keepalive"),
        ]

    async def attach(self, plugin: str) -> int:
        """Attach a handle to ``plugin`` (``janus.plugin.videoroom``); return its id."""
        body = request_body("attach", new_transaction(), self._secret, plugin=plugin)
        return created_id(await self._post(f"/{self.session_id}", body))

    async def detach(self, handle: int) -> None:
        """Detach a handle (hangs up its PeerConnection); a handle already gone is fine."""
        body = request_body("detach", new_transaction(), self._secret)
        try:
            await self._post(f"/{self.session_id}/{handle}", body)
        except JanusError as exc:
            if exc.code != ERROR_NO_HANDLE:
                raise

    async def hangup(self, handle: int) -> None:
        """Hang up a handle's PeerConnection, keeping the handle."""
        body = request_body("hangup", new_transaction(), self._secret)
        await self._post(f"/{self.session_id}/{handle}", body)

    async def message(
        self, handle: int, body: Json, jsep: Json | None = None
    ) -> tuple[Json, Json | None]:
        """Send a plugin request; return the plugin's data and jsep, waiting for the event
        when Janus only acknowledged it (``ack``)."""
        transaction = new_transaction()
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        try:
            answer = await self._post(
                f"/{self.session_id}/{handle}", message_body(transaction, self._secret, body, jsep)
            )
            if answer.get("janus") == "ack":
                answer = check_response(await asyncio.wait_for(future, REQUEST_TIMEOUT_S))
        finally:
            self._pending.pop(transaction, None)
        data = plugin_data(answer)
        if data is None:
            raise JanusError(0, f"no plugin data in {answer.get('janus')!r}")
        jsep_out = answer.get("jsep")
        return data, jsep_out if isinstance(jsep_out, dict) else None

    async def trickle(self, handle: int, candidate: Json | None) -> None:
        """Trickle one remote candidate (or the end of candidates) to a handle."""
        body = trickle_body(new_transaction(), self._secret, candidate)
        await self._post(f"/{self.session_id}/{handle}", body)

    async def _poll(self) -> None:
        if self._http is None:
            return
        params: dict[str, str] = {"maxev": str(MAX_EVENTS), "rid": "0"}
        if self._secret is not None:
            params["apisecret"] = self._secret
        timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT_S)
        failures = 0
        while not self._closing:
            params["rid"] = str(next(self._ids))  # no cache may answer a long poll
            try:
                async with self._http.get(
                    f"{self.url}/{self.session_id}", params=params, timeout=timeout
                ) as response:
                    payload = await response.json(content_type=None)
                failures = 0
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                failures += 1
                if self._closing:
                    return
                if failures >= 3:
                    self._lost(f"long poll failed: {exc!r}")
                    return
                await asyncio.sleep(0.5)
                continue
            for event in poll_events(payload):
                if not self._dispatch(event):
                    return

    def _dispatch(self, event: Json) -> bool:
        """Route one event; False once the session is gone."""
        kind = event.get("janus")
        if kind == "error":
            code = int((event.get("error") or {}).get("code", 0))
            if code == ERROR_NO_SESSION:
                self._lost("janus forgot the session")
                return False
        transaction = event.get("transaction")
        future = self._pending.get(transaction) if isinstance(transaction, str) else None
        if future is not None and kind != "ack" and not future.done():
            future.set_result(event)
            return True
        if kind in ("keepalive", "ack"):
            return True
        sender = event.get("sender")
        if isinstance(sender, int):
            try:
                self._on_event(sender, event)
            except Exception:  # one bad handler must not stop the poll
                logger.exception("janus event %s failed", kind)
        return True

    async def _keepalive(self) -> None:
        while not self._closing:
            await asyncio.sleep(KEEPALIVE_S)
            body = request_body("keepalive", new_transaction(), self._secret)
            try:
                await self._post(f"/{self.session_id}", body)
            except (aiohttp.ClientError, TimeoutError, JanusError) as exc:
                logger.warning("janus keepalive failed: %r", exc)

    def _lost(self, why: str) -> None:
        if not self._closing:
            self._closing = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(JanusError(ERROR_NO_SESSION, why))
            self._on_lost(why)

    async def close(self) -> None:
        """Destroy the session (Janus hangs up every handle) and stop polling."""
        self._closing = True
        if self._http is not None and self.session_id is not None:
            body = request_body("destroy", new_transaction(), self._secret)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, JanusError, ValueError):
                await self._post(f"/{self.session_id}", body)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
