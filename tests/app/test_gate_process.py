"""The head gate in its own process (server/app/gate_process.py, gate_link.py): what the node's
loop sees, and the process's life: started with the node, replaced if it dies, gone with it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import ssl
import time
from pathlib import Path

import aiohttp
import pytest

from server.app.acceptor import listening_sockets, start_site
from server.app.head_gate import HeadGate
from server.app.limits import Limits
from server.app.tls_init import write_tls
from tests.app.conftest import free_port, healthz_runner, running_node

pytestmark = pytest.mark.skipif(not HeadGate.available(), reason="the head gate needs epoll")


def gate_processes() -> list[int]:
    """This process's children that run the gate."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == os.getpid() and b"server.app.gate_process" in command:
            found.append(int(entry.name))
    return found


async def healthz(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
        return response.status


async def until(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_gate_runs_apart_serves_heads_and_resets_the_ones_that_never_end(
    tmp_path: Path,
) -> None:
    env = {"EVALROOM_LIMIT_HEADER_TIMEOUT_S": "1"}
    async with running_node(tmp_path, env, gate="process") as base:
        assert len(gate_processes()) == 1
        assert await healthz(base) == 200
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):  # reset by the gate, not answered 408
            await asyncio.wait_for(reader.read(100), 5)
        assert 0.9 < time.monotonic() - started < 3.0
        writer.close()
    assert await until(lambda: not gate_processes(), 10), "the gate outlived its node"


async def test_a_gate_process_that_dies_is_replaced(tmp_path: Path) -> None:
    async with running_node(tmp_path, gate="process") as base:
        (first,) = gate_processes()
        os.kill(first, signal.SIGKILL)
        assert await until(lambda: gate_processes() not in ([], [first]), 10)
        for _ in range(100):  # the new one takes the listening socket over
            try:
                if await healthz(base) == 200:
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        assert await healthz(base) == 200


async def test_tls_passes_through_the_gate_process(tmp_path: Path) -> None:
    """A TLS connection waits in the gate only for its first bytes; the node does the handshake."""
    files = write_tls(tmp_path / "tls", "venue.test", ["127.0.0.1"], dt.datetime.now(dt.UTC))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    runner = await healthz_runner()
    sockets = listening_sockets("127.0.0.1", free_port(), 128)
    port = sockets[0].getsockname()[1]
    await start_site(runner, Limits(), sockets, context, gate="process")
    try:
        assert len(gate_processes()) == 1
        trusting = ssl.create_default_context(cafile=str(files.ca))
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"https://127.0.0.1:{port}/healthz", ssl=trusting) as response,
        ):
            assert await response.json() == {"ok": True}
    finally:
        await runner.cleanup()
    assert await until(lambda: not gate_processes(), 10)
