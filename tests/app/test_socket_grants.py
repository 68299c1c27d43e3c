"""Open sockets follow their token: expiry and revocation reach a live socket within seconds,
and a socket's principal cannot be swapped by a second CONNECT."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
import socketio

from server.app.handlers.auth import AuthHandler
from server.app.secrets import Secret
from server.app.socket_grants import SocketGrants
from server.app.tokens import TokenMinter
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from tests.app.conftest import ADMIN, TOKEN_KEY, Room

DROP_WITHIN_S = 5.0  # the target: no token usable on an open socket 5 s after it lapsed


class Watched:
    """A socket.io client on both namespaces that records auth errors and disconnects."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.errors: dict[str, list[dict[str, Any]]] = {"/": [], "/media": []}
        self.gone: dict[str, asyncio.Event] = {"/": asyncio.Event(), "/media": asyncio.Event()}
        for namespace in ("/", "/media"):
            self.sio.on("auth_error", self._on_error(namespace), namespace=namespace)
            self.sio.on("disconnect", self._on_gone(namespace), namespace=namespace)

    def _on_error(self, namespace: str) -> Any:
        async def handler(error: dict[str, Any]) -> None:
            self.errors[namespace].append(error)

        return handler

    def _on_gone(self, namespace: str) -> Any:
        async def handler(*_args: Any) -> None:
            self.gone[namespace].set()

        return handler

    async def connect(self, base: str, token: str) -> None:
        await self.sio.connect(
            base, auth={"token": token}, namespaces=["/", "/media"], transports=["websocket"]
        )

    async def call(self, event: str, data: Any = None, namespace: str = "/") -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call(event, data or {}, namespace=namespace)
        return answer


async def _revoke(room: Room, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = f"{room.base}/api/sessions/{room.session}/tokens/revoke"
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def _get_state(room: Room, token: str) -> tuple[int, dict[str, Any]]:
    url = f"{room.base}/api/sessions/{room.session}/state"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_an_expired_token_loses_its_open_sockets(room: Room) -> None:
    minter = TokenMinter(Secret(TOKEN_KEY))
    principal = Principal(Role.SUPERVISOR, room.session, "sup-1")
    token = minter.issue(principal, int(time.time()), lifetime=2)
    client = Watched()
    await client.connect(room.base, token)
    try:
        assert (await client.call("join", {"after": 0}))["ok"]
        expiry = minter.claims(token, int(time.time())).exp
        await asyncio.sleep(max(0.0, expiry - time.time()))
        lapsed = time.monotonic()
        for namespace in ("/", "/media"):
            await asyncio.wait_for(client.gone[namespace].wait(), DROP_WITHIN_S)
        assert time.monotonic() - lapsed <= DROP_WITHIN_S
        for namespace in ("/", "/media"):
            assert [e["code"] for e in client.errors[namespace]] == ["token_expired"]
    finally:
        await client.sio.disconnect()


async def test_the_admin_revokes_a_supervisor_token_everywhere_at_once(room: Room) -> None:
    old = room.created["supervisor"][0]
    other = room.created["supervisor"][1]
    client, bystander = Watched(), Watched()
    await client.connect(room.base, old)
    await bystander.connect(room.base, other)
    try:
        assert (await client.call("join", {"after": 0}))["ok"]
        status, answer = await _revoke(
            room, {"id": "revoke-1", "role": "supervisor", "subject": "sup-1", "reason": "电脑遗失"}
        )
        assert status == 200, answer
        assert answer["generation"] == 1
        revoked_at = time.monotonic()
        for namespace in ("/", "/media"):
            await asyncio.wait_for(client.gone[namespace].wait(), DROP_WITHIN_S)
            assert [e["code"] for e in client.errors[namespace]] == ["token_revoked"]
        assert time.monotonic() - revoked_at <= DROP_WITHIN_S
        # the other supervisor's socket is untouched
        assert (await bystander.call("state"))["ok"]
        assert not bystander.gone["/"].is_set()
        # the old token is refused over HTTP and on a new connection; the new one works
        status, refused = await _get_state(room, old)
        assert (status, refused["error"]["code"]) == (401, "token_revoked")
        again = Watched()
        try:
            await again.connect(room.base, old)
            raise AssertionError("a revoked token connected")
        except socketio.exceptions.ConnectionError:
            pass
        status, state = await _get_state(room, answer["token"])
        assert status == 200, state
        # the revocation is in the log, by the admin, with its reason
        events = (await bystander.call("sync", {"after": 0}))["events"]
        revoked = [e for e in events if e["type"] == "tokens.revoked"]
        assert [(e["actor"], e["data"]) for e in revoked] == [
            (
                "admin:admin",
                {"role": "supervisor", "subject": "sup-1", "generation": 1, "reason": "电脑遗失"},
            )
        ]
    finally:
        await client.sio.disconnect()
        await bystander.sio.disconnect()


async def test_only_the_admin_revokes_and_only_staff_roles(room: Room) -> None:
    url = f"{room.base}/api/sessions/{room.session}/tokens/revoke"
    supervisor = {"Authorization": f"Bearer {room.created['supervisor'][0]}"}
    body = {"role": "auditor", "subject": "auditor"}
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=supervisor) as r:
        assert (r.status, (await r.json())["error"]["code"]) == (401, "unauthenticated")
    status, answer = await _revoke(room, {"role": "expert", "subject": room.created["seats"][0]})
    assert (status, answer["error"]["code"]) == (400, "malformed")
    status, answer = await _revoke(room, {"role": "auditor", "subject": "auditor", "id": "bad id"})
    assert (status, answer["error"]["code"]) == (400, "malformed")


async def test_a_second_connect_cannot_swap_the_principal_of_an_open_socket(room: Room) -> None:
    """Raw engine.io frames: CONNECT as the public screen, then CONNECT again as a supervisor."""
    url = room.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    public, supervisor = room.created["public"], room.created["supervisor"][0]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        opened = await ws.receive_str(timeout=10)
        assert opened.startswith("0")
        await ws.send_str("40" + json.dumps({"token": public}))
        assert (await ws.receive_str(timeout=10)).startswith("40")
        await ws.send_str("40" + json.dumps({"token": supervisor}))
        refusal = await ws.receive_str(timeout=10)
        assert refusal.startswith("44"), refusal  # CONNECT_ERROR: already connected
        await ws.send_str('421["join",{"after":0}]')
        answer = await ws.receive_str(timeout=10)
        while not answer.startswith("431"):  # skip pings and live events
            answer = await ws.receive_str(timeout=10)
        joined = json.loads(answer[3:])[0]
        assert joined["ok"], joined
        assert joined["role"] == "public"  # still the public screen, not the supervisor


class _NoSessions:
    """The read side for a unit test of the clock: every session unknown (no revocations)."""

    async def state(self, session: str) -> Any:
        raise CommandError(Code.UNKNOWN_SESSION, session)


async def test_each_event_checks_the_expiry_before_any_sweep() -> None:
    now = [1_000_000_000_000]
    minter = TokenMinter(Secret(TOKEN_KEY))
    auth = AuthHandler(minter, Secret(ADMIN), _NoSessions(), lambda: now[0])  # type: ignore[arg-type]
    grants = SocketGrants(socketio.AsyncServer(), auth)
    principal = Principal(Role.AUDITOR, "s-1", "auditor")
    token = minter.issue(principal, now[0] // 1000, lifetime=60)
    assert await grants.admit("/", "sid-1", token) == principal
    now[0] += 59_999
    assert grants.principal("/", "sid-1") == principal
    now[0] += 1
    with pytest.raises(CommandError) as expired:
        grants.principal("/", "sid-1")
    assert expired.value.code is Code.TOKEN_EXPIRED
    grants.forget("/", "sid-1")
    with pytest.raises(CommandError) as gone:
        grants.principal("/", "sid-1")
    assert gone.value.code is Code.UNAUTHENTICATED


async def test_json_nested_past_the_recursion_limit_still_gets_a_typed_answer(room: Room) -> None:
    """The stock decoder drops such a packet (RecursionError) and the client would wait for ever."""
    url = room.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    deep = "[" * 5000 + "]" * 5000
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_str(timeout=10)
        await ws.send_str("40" + json.dumps({"token": room.created["supervisor"][0]}))
        assert (await ws.receive_str(timeout=10)).startswith("40")
        for n, event in enumerate(("command", "sync", "proof"), start=1):
            await ws.send_str(f'42{n}["{event}",{deep}]')
            answer = await ws.receive_str(timeout=10)
            while not answer.startswith(f"43{n}"):  # skip pings and live events
                answer = await ws.receive_str(timeout=10)
            error = json.loads(answer[2 + len(str(n)) :])[0]["error"]
            assert error["code"] in ("too_large", "malformed"), (event, error)
