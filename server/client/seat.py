"""A headless Python client: one seat or one viewer over real socket.io.

Used by ``evalroom simulate``, the protocol tests and the benchmark. It keeps the last ``seq`` it
holds, drops a seq it already has, and asks ``sync`` when it sees a gap; commands are resent with
the same id until they are acknowledged, so a dropped connection loses nothing and applies nothing
twice.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from typing import Any

import aiohttp
import socketio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from server.auditlog.canonical import canonical_bytes
from server.domain.commands import PLEDGE_ID


class ClientError(Exception):
    """The server refused a command; ``code`` is the stable error code."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = str(error.get("code"))
        self.error = error


class Client:
    """A connected participant that folds the events it may see."""

    def __init__(self, base_url: str, session: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.token = token
        self.last_seq = 0
        self.events: dict[int, dict[str, Any]] = {}
        self.snapshot: dict[str, Any] | None = None  # set when a catch-up sent a snapshot
        self.duplicates = 0
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("events", self._on_events)
        self.arrived = asyncio.Event()
        self.arrival_times: dict[int, float] = {}
        self._sync_lock = asyncio.Lock()

    async def connect(self) -> None:
        """Connect over websocket and join from the last seq held."""
        await self.sio.connect(
            self.base_url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )
        answer = await self.sio.call("join", {"after": self.last_seq}, timeout=30)
        if not answer.get("ok"):
            raise ClientError(answer["error"])
        self._take(answer)

    async def disconnect(self) -> None:
        """Close the connection (the server keeps everything)."""
        await self.sio.disconnect()

    def _take(self, answer: dict[str, Any]) -> None:
        if "snapshot" in answer:  # far behind: the server sent its view at ``seq`` instead
            self.snapshot = answer["snapshot"]
            self.last_seq = max(self.last_seq, answer["snapshot"]["seq"])
        for view in answer.get("events", []):
            self._apply(view)

    def _apply(self, view: dict[str, Any]) -> None:
        seq = view["seq"]
        if seq <= self.last_seq:
            self.duplicates += 1
            return
        self.events[seq] = view
        self.arrival_times[seq] = time.perf_counter()
        self.last_seq = seq
        self.arrived.set()

    async def _on_events(self, views: list[dict[str, Any]]) -> None:
        if views and views[0]["seq"] > self.last_seq + 1:
            await self.catch_up()
        for view in views:
            self._apply(view)

    async def catch_up(self) -> None:
        """Fetch every event after the last seq held (one round trip per 5,000 events)."""
        async with self._sync_lock:
            while True:
                answer = await self.sio.call("sync", {"after": self.last_seq}, timeout=30)
                if not answer.get("ok"):
                    raise ClientError(answer["error"])
                self._take(answer)
                if not answer.get("limited"):
                    return

    async def wait_for_seq(self, seq: int, seconds: float = 30) -> None:
        """Wait until the client holds ``seq``."""
        async with asyncio.timeout(seconds):
            while self.last_seq < seq:
                self.arrived.clear()
                await self.arrived.wait()

    async def command(self, envelope: dict[str, Any], seconds: float = 30) -> dict[str, Any]:
        """Send a command and return its ack; raise ``ClientError`` when refused."""
        answer: dict[str, Any] = await self.sio.call("command", envelope, timeout=seconds)
        if not answer.get("ok"):
            raise ClientError(answer["error"])
        return answer


class SeatClient(Client):
    """An expert's seat: its own Ed25519 key, enrolment, sign-in and signed scores."""

    def __init__(self, base_url: str, session: str, seat: str) -> None:
        super().__init__(base_url, session)
        self.seat = seat
        self.key = Ed25519PrivateKey.generate()
        self._ids = itertools.count(1)

    @property
    def public_key_b64(self) -> str:
        """The raw public key in base64, as enrolled."""
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    async def enrol(self, code: str) -> dict[str, Any]:
        """Enrol the seat key with the one-time code and keep the returned token."""
        url = f"{self.base_url}/api/sessions/{self.session}/enrol"
        body = {"seat": self.seat, "code": code, "public_key": self.public_key_b64}
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
            answer: dict[str, Any] = await response.json()
        if "token" not in answer:
            raise ClientError(answer["error"])
        self.token = answer["token"]
        return answer

    def next_id(self) -> str:
        """A fresh client command id."""
        return f"{self.seat}-{next(self._ids)}"

    def signed(self, kind: str, command_id: str, **fields: Any) -> dict[str, Any]:
        """The envelope of a signed command: the canonical bytes as text and their signature."""
        payload = {
            "type": kind,
            "session": self.session,
            "seat": self.seat,
            "cmd": command_id,
            "t": int(time.time() * 1000),
            **fields,
        }
        raw = canonical_bytes(payload)
        sig = base64.b64encode(self.key.sign(raw)).decode()
        return {"id": command_id, "type": kind, "signed": raw.decode("utf-8"), "sig": sig}

    async def sign_in(self) -> dict[str, Any]:
        """Sign the pledge (承诺书)."""
        return await self.command(self.signed("expert.sign_in", self.next_id(), pledge=PLEDGE_ID))

    async def score(self, bidder: str, criterion: str, value: str, **extra: Any) -> dict[str, Any]:
        """Set one cell with a signed score."""
        envelope = self.signed(
            "score.set", self.next_id(), bidder=bidder, criterion=criterion, value=value, **extra
        )
        return await self.command(envelope)

    async def submit(self) -> dict[str, Any]:
        """Submit the sheet (every typed cell filled)."""
        return await self.command(self.signed("sheet.submit", self.next_id()))
