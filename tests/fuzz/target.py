"""Replaying fuzz inputs against a running server and counting what went wrong.

:class:`Target` prepares a real session in ``scoring`` (every seat enrolled and signed in), a
second session, and every kind of token (each role's, expired, tampered, another session's,
revoked), then runs :mod:`tests.fuzz.inputs` against the server over loopback: socket.io calls
through python-socketio clients (one per namespace and role, reconnected when dropped), raw
socket.io packets and CONNECTs over a bare websocket, HTTP with aiohttp. :class:`Tally` counts
what must never happen: an HTTP 5xx, a call or request without an answer within ``timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import socketio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from yarl import URL

from server.app.main import MAX_FRAME
from server.app.secrets import Secret
from server.app.tokens import TokenMinter
from server.auditlog.canonical import canonical_bytes
from server.client.seat import SeatClient
from server.domain.roles import Principal, Role
from tests.app.conftest import ADMIN, TOKEN_KEY, Room, create_session, load_lot
from tests.app.test_bad_input import scoring_room
from tests.fuzz.inputs import (
    ConnectInput,
    FrameInput,
    FuzzInput,
    HttpInput,
    Mutation,
    Ref,
    Signed,
    SignedLogin,
    SocketInput,
    apply_mutation,
)

REVOKED_SUBJECT = {"supervisor": "sup-1", "auditor": "auditor", "public": "screen"}


@dataclass
class Tally:
    """What a run did; ``failures`` keeps the first inputs that went wrong, whole."""

    inputs: int = 0
    http_5xx: int = 0
    unanswered: int = 0
    # calls in flight on a connection the server closed meanwhile (for another input's frame
    # over the limit, or a client 'disconnect' event): the close is their answer
    cut_by_close: int = 0
    skipped: int = 0  # the client library itself could not send the input
    kinds: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _kept: Counter[str] = field(default_factory=Counter)

    def fail(self, what: str, item: FuzzInput, detail: str = "") -> None:
        """Keep the first few of each kind: many cut calls must not hide one unanswered."""
        self._kept[what] += 1
        if self._kept[what] <= 5:
            self.failures.append(f"{what}: {item!r}"[:2000] + (f" -> {detail}" if detail else ""))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _tampered(token: str) -> str:
    head, payload, mac = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return f"{head}.{flipped}.{mac}"


class Target:
    """A prepared server and the clients that fuzz it."""

    def __init__(self, base: str, timeout: float = 5.0) -> None:
        self.base = base.rstrip("/")
        self.ws_url = self.base.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.timeout = timeout
        self.tally = Tally()
        self.tokens: dict[str, str] = {}
        self.refs: dict[str, Any] = {}
        self._clients: dict[tuple[str, str], socketio.AsyncClient] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._token_of: dict[tuple[str, str], str] = {}
        self._login_t = int(time.time() * 1000)
        self._ids = 0
        self.http: aiohttp.ClientSession | None = None
        self.seat: SeatClient | None = None

    async def setup(self) -> None:
        """Two sessions, the first in ``scoring`` with every seat signed in; every token."""
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        lot = load_lot()
        room = Room(self.base, await create_session(self.base, lot), lot)
        other = await create_session(self.base, lot)
        _sup, seat, second = await scoring_room(room)
        await room.close()
        self.seat, created = seat, room.created
        minter = TokenMinter(Secret(TOKEN_KEY))
        expired = minter.issue(Principal(Role.SUPERVISOR, room.session, "sup-2"), 1_000, 60)
        bidder = Principal(Role.BIDDER, room.session, "B2.CL1")  # a clarification not asked
        self.tokens = {
            "expert": str(seat.token),
            "supervisor": created["supervisor"][0],
            "auditor": created["auditor"],
            "public": created["public"],
            "admin": ADMIN,
            "venue": created["venues"]["host"],
            "bidder": minter.issue(bidder, int(time.time())),
            "none": "",
            "expired": expired,
            "tampered": _tampered(created["supervisor"][0]),
            "other_session": other["supervisor"][0],
            "revoked": created["supervisor"][1],
            "garbage": "v1.Zm9v.YmFy",
        }
        body = {"role": "supervisor", "subject": "sup-2", "reason": "fuzz"}
        answer = await self._post_admin(f"/api/sessions/{room.session}/tokens/revoke", body)
        assert answer.get("ok"), answer
        self.refs = {
            "session": room.session,
            "other_session": other["session"],
            "seat": seat.seat,
            "other_seat": second.seat,
            "code": seat.codes[0],
            "enrol_code": created["codes"][seat.seat],
            "public_key": seat.public_key_b64,
            "head": 1,
        }

    async def _post_admin(self, path: str, body: Any) -> dict[str, Any]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {ADMIN}"}
        async with self.http.post(self.base + path, json=body, headers=headers) as response:
            answer: dict[str, Any] = await response.json()
            return answer

    async def close(self) -> None:
        for client in self._clients.values():
            await _drop(client)
        if self.http is not None:
            await self.http.close()

    # -- resolving what the inputs name ---------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every :class:`Ref` and signed recipe replaced by the real thing."""
        if isinstance(value, Ref):
            if value.name.startswith("token:"):
                return self.tokens[value.name.removeprefix("token:")] or None
            return self.refs[value.name]
        if isinstance(value, Signed):
            return self.signed(value)
        if isinstance(value, SignedLogin):
            return self.login(value)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.resolve(item) for item in value]
        return value

    def _sign(self, payload: dict[str, Any], stage: str, mutation: Mutation | None) -> Any:
        assert self.seat is not None
        if stage == "payload":
            payload = apply_mutation(payload, self._resolved(mutation))
        try:
            raw = canonical_bytes(payload)
        except (TypeError, ValueError):  # what canonical JSON refuses is still sent, as text
            raw = _dumps(dict(sorted(payload.items())))
        key = Ed25519PrivateKey.generate() if stage == "key" else self.seat.key
        signed = raw.decode("utf-8", "surrogatepass")
        return signed, base64.b64encode(key.sign(raw)).decode()

    def _resolved(self, mutation: Mutation | None) -> Mutation | None:
        if mutation is None:
            return None
        return Mutation(mutation.op, mutation.key, self.resolve(mutation.value))

    def signed(self, recipe: Signed) -> Any:
        """A command signed by the fuzzing seat, mutated where the recipe says."""
        assert self.seat is not None
        self._ids += 1
        command_id = f"fz-{self._ids}"
        payload = {
            "type": recipe.kind,
            "session": self.refs["session"],
            "seat": self.seat.seat,
            "cmd": command_id,
            "t": int(time.time() * 1000),
            **self.resolve(recipe.fields),
        }
        signed, sig = self._sign(payload, recipe.stage, recipe.mutation)
        envelope = {"id": command_id, "type": recipe.kind, "signed": signed, "sig": sig}
        if recipe.stage in ("envelope", "sig"):
            mutation = self._resolved(recipe.mutation)
            if recipe.stage == "sig" and mutation is not None:
                mutation = Mutation(mutation.op, "sig", mutation.value)
            envelope = apply_mutation(envelope, mutation)
        return envelope

    def login(self, recipe: SignedLogin) -> Any:
        """A signed ``seat.login`` body of the fuzzing seat (``t`` later each time)."""
        assert self.seat is not None
        self._login_t += 1
        payload = {
            "seat": self.seat.seat,
            "session": self.refs["session"],
            "t": self._login_t,
            "type": "seat.login",
        }
        signed, sig = self._sign(payload, recipe.stage, recipe.mutation)
        body = {"seat": self.seat.seat, "signed": signed, "sig": sig}
        if recipe.stage in ("envelope", "sig"):
            body = apply_mutation(body, self._resolved(recipe.mutation))
        return body

    # -- running ----------------------------------------------------------------------------

    async def run(self, item: FuzzInput) -> None:
        """Send one input and count what happened."""
        self.tally.inputs += 1
        self.tally.kinds[type(item).__name__] += 1
        try:
            if isinstance(item, HttpInput):
                await self._http(item)
            elif isinstance(item, SocketInput):
                await self._socket(item)
            elif isinstance(item, FrameInput):
                await self._frame(item)
            else:
                await self._connect(item)
        except TooBig:
            self.tally.statuses["closed 1009: frame over the limit"] += 1
        except CutByClose as error:
            self.tally.cut_by_close += 1
            self.tally.fail("cut by close", item, repr(error))
        except TimeoutError as error:
            self.tally.unanswered += 1
            self.tally.fail("unanswered", item, repr(error))

    async def _http(self, item: HttpInput) -> None:
        assert self.http is not None
        token = self.tokens[item.sender]
        path = "".join(
            p if isinstance(p, str) else quote(str(self.resolve(p)), safe="") for p in item.path
        )
        query = item.query
        headers = {}
        if item.content_type is not None:
            headers["Content-Type"] = item.content_type
        if token and item.auth == "query":
            query = f"{query}&token={quote(token)}" if query else f"token={quote(token)}"
        elif token:
            scheme = {"bearer": "Bearer ", "raw": "", "basic": "Basic "}[item.auth]
            headers["Authorization"] = scheme + token
        body = item.body
        data: Any = body if isinstance(body, bytes) or body is None else _dumps(self.resolve(body))
        if isinstance(data, bytes) and len(data) > 1024 * 1024:
            data = io.BytesIO(data)  # aiohttp warns about large raw bytes bodies
        url = URL(self.base + path + (f"?{query}" if query else ""), encoded=True)
        try:
            async with self.http.request(item.method, url, data=data, headers=headers) as response:
                await response.read()
                status = response.status
                answer = await self._json(response) if status == 200 else None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
            if isinstance(body, bytes) and len(body) > 256 * 1024:
                self.tally.statuses["http closed on huge body"] += 1
                return
            raise TimeoutError(f"no HTTP response: {error!r}") from error
        except (aiohttp.InvalidURL, UnicodeError, ValueError) as error:
            self.tally.skipped += 1
            self.tally.fail("skipped", item, repr(error))
            return
        self.tally.statuses[f"http {status}"] += 1
        if status >= 500:
            self.tally.http_5xx += 1
            self.tally.fail(f"HTTP {status}", item)
        if answer is not None and path.endswith("/tokens/revoke"):
            self._take_new_token(answer)

    @staticmethod
    async def _json(response: aiohttp.ClientResponse) -> dict[str, Any] | None:
        try:
            answer = await response.json()
        except (ValueError, aiohttp.ContentTypeError):
            return None
        return answer if isinstance(answer, dict) else None

    def _take_new_token(self, answer: dict[str, Any]) -> None:
        """A fuzzed revocation that went through: the role's token is the new one from now."""
        new = answer.get("token")
        if not isinstance(new, str):
            return
        claims = TokenMinter(Secret(TOKEN_KEY)).claims(new, int(time.time()))
        sender = str(claims.principal.role)
        if REVOKED_SUBJECT.get(sender) == claims.principal.subject:
            self.tokens[sender] = new

    async def _client(self, namespace: str, sender: str) -> socketio.AsyncClient:
        key = (namespace, sender)
        async with self._locks.setdefault(key, asyncio.Lock()):
            token = self.tokens[sender]
            client = self._clients.get(key)
            if client is not None and client.connected and self._token_of[key] == token:
                return client
            if client is not None:
                await _drop(client)
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    self.base,
                    namespaces=[namespace],
                    auth={"token": token},
                    transports=["websocket"],
                    wait_timeout=self.timeout,
                )
            except BaseException:
                await _drop(client)
                raise
            self._clients[key], self._token_of[key] = client, token
            return client

    async def _socket(self, item: SocketInput) -> None:
        try:
            client = await self._client(item.namespace, item.sender)
        except socketio.exceptions.ConnectionError as error:
            self.tally.statuses[f"socket connect refused {item.sender}"] += 1
            if item.sender in ("expert", "supervisor", "auditor", "public"):
                self.tally.fail("connect refused", item, repr(error))
            return
        args = [self.resolve(arg) for arg in item.args]
        data = None if not args else args[0] if len(args) == 1 else tuple(args)
        try:
            answer = await client.call(
                item.event, data, namespace=item.namespace, timeout=self.timeout
            )
        except socketio.exceptions.TimeoutError as error:
            if not client.connected and _frame_size(item.event, data) > MAX_FRAME:
                # python-socketio's call waits out its timeout after the server closed the
                # connection; the frame was over the limit, so the close was the answer
                raise TooBig(item.event) from error
            if not client.connected:
                raise CutByClose(item.event) from error
            raise TimeoutError(
                f"no ack ({'connected' if client.connected else 'dropped'})"
            ) from error
        except socketio.exceptions.BadNamespaceError:
            self.tally.statuses["socket dropped before the call"] += 1
            return
        except (TypeError, ValueError, RecursionError) as error:
            self.tally.skipped += 1
            self.tally.fail("skipped", item, repr(error))
            return
        code = _code(answer)
        self.tally.statuses[f"sio {code}"] += 1
        if code == "unauthenticated" or item.event == "disconnect":
            # a client 'disconnect' event leaves the socket without its grant: start afresh
            await self._forget(item.namespace, item.sender, client)

    async def _forget(self, namespace: str, sender: str, client: socketio.AsyncClient) -> None:
        async with self._locks[(namespace, sender)]:
            if self._clients.get((namespace, sender)) is client:
                del self._clients[(namespace, sender)]
        await _drop(client)

    async def _open(self, namespace: str, auth: Any) -> tuple[aiohttp.ClientWebSocketResponse, str]:
        """A bare websocket with a CONNECT to ``namespace`` sent; the server's answer packet."""
        assert self.http is not None
        ws = await self.http.ws_connect(self.ws_url)
        await _receive(ws)  # engine.io OPEN
        prefix = "" if namespace == "/" else f"{namespace},"
        await ws.send_frame(b"40" + prefix.encode() + _dumps(auth), aiohttp.WSMsgType.TEXT)
        return ws, await _receive(ws)

    async def _connect(self, item: ConnectInput) -> None:
        try:
            ws, answer = await asyncio.wait_for(
                self._open(item.namespace, self.resolve(item.auth)), self.timeout
            )
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as error:
            raise TimeoutError(f"no CONNECT answer: {error!r}") from error
        await ws.close()
        self.tally.statuses[f"connect {answer[:2]}"] += 1

    async def _frame(self, item: FrameInput) -> None:
        auth = {"token": self.tokens[item.sender]}
        async with asyncio.timeout(self.timeout):
            ws, answer = await self._open(item.namespace, auth)
        try:
            if not answer.startswith("40"):  # refused (e.g. too many sockets): an answer too
                self.tally.statuses["frame connect refused"] += 1
                return
            frame = b"4" + item.text.encode("utf-8", "surrogatepass")
            await ws.send_frame(frame, aiohttp.WSMsgType.TEXT)
            if item.ack is None:
                self.tally.statuses["frame junk"] += 1
                return
            prefix = "" if item.namespace == "/" else f"{item.namespace},"
            want, left = f"43{prefix}{item.ack}[", f"41{prefix}"
            seen: list[str] = []  # what came instead, for the failure's detail
            try:
                async with asyncio.timeout(self.timeout):
                    while not (packet := await _receive(ws)).startswith(want):
                        if packet == left:
                            # the server closed the namespace (a revoked token: ``auth_error``
                            # came first); as for python-socketio's calls, the close answers
                            raise CutByClose(f"{item.namespace} closed after {seen[-3:]}")
                        seen.append(packet[:80])
            except TimeoutError as error:
                raise TimeoutError(f"no ack; came instead: {seen[-5:]}") from error
            self.tally.statuses["frame answered"] += 1
        except ConnectionError as error:
            raise TimeoutError(f"closed without an answer: {error}") from error
        finally:
            await ws.close()


TOO_BIG_CLOSE = 1009


def _frame_size(event: str, data: Any) -> int:
    """The bytes of the websocket frame python-socketio sends for ``event`` with ``data``."""
    args = [event] if data is None else [event, *data] if isinstance(data, tuple) else [event, data]
    try:
        return len(json.dumps(args, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        return 0


def _code(answer: Any) -> str:
    """``ok``, the error code of a refusal, or ``?`` for an answer of another shape."""
    if not isinstance(answer, dict):
        return "?"
    if answer.get("ok") is True:
        return "ok"
    error = answer.get("error")
    return str(error.get("code")) if isinstance(error, dict) else "?"


async def _drop(client: socketio.AsyncClient) -> None:
    """Disconnect a client and close its HTTP session (a failed connect leaves it open)."""
    with contextlib.suppress(Exception):
        await client.disconnect()
    http = getattr(client.eio, "http", None)
    if http is not None and not http.closed:
        await http.close()


class CutByClose(Exception):
    """The connection a call was waiting on was closed before its answer came."""


class TooBig(Exception):
    """The server closed the connection for a frame over its limit (``MAX_FRAME``): websocket
    close 1009, "message too big". That is its answer: the client learns at once."""


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> str:
    """The next engine.io packet that is not a ping (answered with a pong)."""
    while True:
        message = await ws.receive()
        if message.type == aiohttp.WSMsgType.CLOSE and message.data == TOO_BIG_CLOSE:
            raise TooBig(message.extra)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket {message.type.name} {message.data!r}")
        text = str(message.data)
        if text == "2":
            await ws.send_str("3")
            continue
        return text
