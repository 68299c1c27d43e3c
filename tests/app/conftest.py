"""Fixtures that run a real evalroom server on loopback and real socket.io clients."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from server.app.acceptor import Gate, start_site
from server.app.config import Config
from server.app.main import make_app
from server.client.seat import Client, SeatClient
from server.domain.lot import Lot, parse_lot

ADMIN = "test-admin"
TOKEN_KEY = "test-key"  # noqa: S105 - a test fixture value
DEMO_LOT_PATH = Path(__file__).resolve().parents[2] / "server" / "app" / "demo-lot.json"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_lot() -> dict[str, Any]:
    """The demo lot as JSON."""
    return json.loads(DEMO_LOT_PATH.read_text("utf-8"))


async def create_session(base: str, lot: dict[str, Any]) -> dict[str, Any]:
    """POST a lot as admin; the created session's credentials."""
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/api/sessions", json=lot, headers=headers) as response,
    ):
        assert response.status == 201, await response.text()
        created: dict[str, Any] = await response.json()
    assert created["ok"] is True
    return created


def walk(value: Any) -> Any:
    """Every (key, value) pair and every scalar of a JSON document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield ("key", key)
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield ("scalar", value)


def flip_sig(sig: str) -> str:
    """The signature with its first byte changed."""
    raw = bytearray(base64.b64decode(sig))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@dataclass
class Room:
    """A running server with one created session and helpers to make clients."""

    base: str
    created: dict[str, Any]
    lot_json: dict[str, Any]
    clients: list[Client] = field(default_factory=list)

    @property
    def session(self) -> str:
        return str(self.created["session"])

    @property
    def lot(self) -> Lot:
        return parse_lot(self.lot_json)

    def client(self, token: str) -> Client:
        client = Client(self.base, self.session, token)
        self.clients.append(client)
        return client

    async def supervisor(self, n: int = 0) -> Client:
        client = self.client(self.created["supervisor"][n])
        await client.connect()
        return client

    async def seat(self, seat: str, *, connect: bool = True) -> SeatClient:
        client = SeatClient(self.base, self.session, seat)
        self.clients.append(client)
        await client.enrol(self.created["codes"][seat])
        if connect:
            await client.connect()
        return client

    async def close(self) -> None:
        for client in self.clients:
            if client.sio.connected:
                await client.disconnect()


async def advance(supervisor: Client, to: str) -> dict[str, Any]:
    """Move the phase forward as a supervisor."""
    return await supervisor.command({"id": f"phase-{to}", "type": "phase.advance", "to": to})


async def head_of(supervisor: Client) -> int:
    """The committed head as the supervisor's state view says."""
    answer = await supervisor.sio.call("state", {}, timeout=30)
    assert answer["ok"], answer
    return int(answer["state"]["seq"])


@asynccontextmanager
async def running_node(
    data_dir: Path, env: dict[str, str] | None = None, sndbuf: int = 0, gate: Gate = "loop"
) -> AsyncIterator[str]:
    """A real node on loopback, served as ``evalroom serve`` serves it; yields its base URL.

    ``env``: more ``EVALROOM_*`` settings; ``sndbuf``: the accepted connections' send buffer
    (0: the kernel's), for a test that needs a slow peer's buffers to fill fast; ``gate``: where
    connections wait for their head (``evalroom serve``: in the gate's process; here by default
    in the node's loop, which saves each test a process).
    """
    async with running_app(data_dir, env, sndbuf, gate) as (base, _app):
        yield base


@asynccontextmanager
async def running_app(
    data_dir: Path, env: dict[str, str] | None = None, sndbuf: int = 0, gate: Gate = "loop"
) -> AsyncIterator[tuple[str, web.Application]]:
    """:func:`running_node`, with its application (for a test that drives the node's timers)."""
    port = free_port()
    config = Config.from_env(
        env or {},
        EVALROOM_DATA_DIR=str(data_dir),
        EVALROOM_HOST="127.0.0.1",
        EVALROOM_PORT=str(port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
    )
    app = make_app(config)
    runner = web.AppRunner(app, **config.limits.handler_args())
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sndbuf:  # accepted connections inherit it
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    await start_site(runner, config.limits, [listener], gate=gate)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """A real server on loopback; yields its base URL."""
    async with running_node(tmp_path) as base:
        yield base


@pytest.fixture
async def room(server: str) -> AsyncIterator[Room]:
    """A created demo session on the running server; every client made is closed after."""
    lot = load_lot()
    created = await create_session(server, lot)
    made = Room(server, created, lot)
    try:
        yield made
    finally:
        await made.close()


RoomFactory = Callable[[], Awaitable[Room]]


async def signed_up_to(room: Room, seq: int, seconds: float = 30) -> None:
    """Wait until a checkpoint covers ``seq`` (the node signs one within a second or so)."""
    url = f"{room.base}/api/sessions/{room.session}/checkpoint"
    async with asyncio.timeout(seconds), aiohttp.ClientSession() as http:
        while True:
            async with http.get(url) as response:
                if (await response.json())["checkpoint"]["size"] >= seq:
                    return
            await asyncio.sleep(0.1)


async def healthz_runner() -> web.AppRunner:
    """A runner, set up, of an app that answers only ``GET /healthz`` (for serving tests)."""
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner
