"""A headless Python client: one seat or one viewer over real socket.io.

Used by ``evalroom simulate``, the protocol tests and the benchmark. It keeps the last ``seq`` it
holds, drops a seq it already has, and asks ``sync`` when it sees a gap; commands are resent with
the same id until they are acknowledged, so a dropped connection loses nothing and applies nothing
twice.

Blind review (暗标错位评审): a seat learns its own codes, in its own order, from the
``blind.assigned`` view it receives (or from the ``blind`` of its state view). It never learns
which bidder a code stands for until ``blind.revealed``; :meth:`SeatClient.score` therefore takes a
code for a blind criterion, or a bidder id when a harness that read the whole draw as a supervisor
handed it over with :meth:`SeatClient.know_draw` (tests and the simulation only).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
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
            self.observe_state(answer["snapshot"])
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
        self.observe(view)
        self.arrived.set()

    def observe(self, view: dict[str, Any]) -> None:
        """Hook for subclasses: one newly applied event view."""

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

    def observe_state(self, state: dict[str, Any]) -> None:
        """Hook for subclasses: a whole state view (snapshot or ``state`` answer)."""

    async def state(self) -> dict[str, Any]:
        """The role's current state view (``state`` over socket.io)."""
        answer = await self.sio.call("state", {}, timeout=30)
        if not answer.get("ok"):
            raise ClientError(answer["error"])
        view: dict[str, Any] = answer["state"]
        self.observe_state(view)
        return view

    async def results(self) -> dict[str, Any]:
        """Results and flags as this role may see them (``results`` over socket.io)."""
        answer: dict[str, Any] = await self.sio.call("results", {}, timeout=30)
        if not answer.get("ok"):
            raise ClientError(answer["error"])
        return answer

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
        # Ids are per device: a seat recovered onto a new device must not reuse its old ids.
        self._device = secrets.token_hex(3)
        self.lot_blind: set[str] | None = None  # blind criteria of the lot, from session.created
        self.codes: list[str] = []  # this seat's blind codes, in this seat's own order
        self.blind_criteria: set[str] = (
            set()
        )  # criteria scored by code while the blind part is open
        self.revealed = False
        self.bidder_of: dict[str, str] = {}  # code -> bidder, known from the reveal
        self._code_for: dict[str, str] = {}  # bidder -> code, only from know_draw (a harness)

    def observe(self, view: dict[str, Any]) -> None:
        """Learn the lot's blind criteria, this seat's codes and the reveal from the events."""
        data = view.get("data")
        if not isinstance(data, dict):
            return
        if view["type"] == "session.created":
            criteria = data["lot"].get("criteria", [])
            self.lot_blind = {c["id"] for c in criteria if c.get("blind")}
        elif view["type"] in ("blind.assigned", "blind.revealed"):
            self._take_blind(data, view["type"] == "blind.revealed")
            if "criteria" in data:
                self.blind_criteria = set(data["criteria"])

    def observe_state(self, state: dict[str, Any]) -> None:
        """Learn the same from a state view."""
        lot = state.get("lot") or {}
        self.lot_blind = {c["id"] for c in lot.get("criteria", []) if c.get("blind")}
        blind = state.get("blind")
        if isinstance(blind, dict):
            self._take_blind(blind, bool(blind.get("revealed")))
            if not self.blind_criteria:
                self.blind_criteria = set(self.lot_blind)

    def _take_blind(self, data: dict[str, Any], revealed: bool) -> None:
        pairs = data.get("seats", {}).get(self.seat, [])
        self.codes = [code for code, _ in pairs]
        self.revealed = self.revealed or revealed
        if revealed:
            self.bidder_of = {code: bidder for code, bidder in pairs if bidder is not None}

    def know_draw(self, assigned: dict[str, Any]) -> None:
        """Hand over the whole ``blind.assigned`` data (as a supervisor sees it).

        Only a harness can do this (tests, the simulation): it lets :meth:`score` take bidder
        ids for blind criteria. A real seat never knows which bidder a code is before the reveal.
        """
        pairs = assigned["seats"][self.seat]
        self._code_for = {bidder: code for code, bidder in pairs}
        self.codes = [code for code, _ in pairs]
        self.blind_criteria = set(assigned["criteria"])

    async def _blind_now(self, criterion: str) -> bool:
        """Whether ``criterion`` is scored by code right now (asks the state once if unsure)."""
        maybe_blind = self.lot_blind is None or criterion in self.lot_blind
        if maybe_blind and not self.codes and not self.revealed:
            await self.state()  # the blind.assigned view may still be on its way
        return bool(self.codes) and not self.revealed and criterion in self.blind_criteria

    async def target(self, bidder_or_code: str, criterion: str) -> dict[str, str]:
        """``{"code": ...}`` or ``{"bidder": ...}``: how this seat names a cell right now."""
        if await self._blind_now(criterion):
            if bidder_or_code in self.codes:
                return {"code": bidder_or_code}
            if bidder_or_code in self._code_for:
                return {"code": self._code_for[bidder_or_code]}
        elif self.revealed and bidder_or_code in self.bidder_of:
            return {"bidder": self.bidder_of[bidder_or_code]}
        return {"bidder": bidder_or_code}  # the server answers blind_code_required if it must

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
        return f"{self.seat}-{self._device}-{next(self._ids)}"

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

    async def send(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Any signed command with a fresh id."""
        return await self.command(self.signed(kind, self.next_id(), **fields))

    async def score(self, bidder: str, criterion: str, value: str, **extra: Any) -> dict[str, Any]:
        """Set one cell with a signed score; a blind criterion is signed with the seat's code.

        ``bidder`` is a bidder id, or one of :attr:`codes` for a blind criterion.
        """
        cell = await self.target(bidder, criterion)
        return await self.send("score.set", **cell, criterion=criterion, value=value, **extra)

    async def submit(self) -> dict[str, Any]:
        """Submit the sheet (every typed cell filled)."""
        return await self.send("sheet.submit")

    async def explain(self, bidder: str, criterion: str, text: str) -> dict[str, Any]:
        """The written explanation of a flagged score (bidder id or code, as for :meth:`score`)."""
        cell = await self.target(bidder, criterion)
        return await self.send("flag.explain", **cell, criterion=criterion, text=text)

    async def vote_chair(self, round_: int, candidate: str) -> dict[str, Any]:
        """A vote for the chair (组长) in ``round_``."""
        return await self.send("chair.vote", round=round_, candidate=candidate)

    async def close_blind(self) -> dict[str, Any]:
        """The chair closes the blind part; the log then reveals every code."""
        return await self.send("blind.close")

    async def propose_rejection(self, bidder: str, ground: str, reason: str) -> dict[str, Any]:
        """Propose to reject a bid (否决投标) on a ground of 条例 Art. 51."""
        return await self.send("rejection.propose", bidder=bidder, ground=ground, reason=reason)

    async def vote_rejection(self, proposal: str, vote: str) -> dict[str, Any]:
        """Vote ``"yes"`` or ``"no"`` on an approved rejection proposal."""
        return await self.send("rejection.vote", proposal=proposal, vote=vote)

    async def request_time(self, reason: str | None = None) -> dict[str, Any]:
        """Say the time is insufficient (more than a third of the members extend it)."""
        return await self.send("time.request", **({"reason": reason} if reason else {}))
