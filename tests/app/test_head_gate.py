"""The head gate (server/app/head_gate.py): a connection reaches aiohttp only with its whole
request head, waits at the cost of a small record, and is closed by a bounded sweep if the head
never comes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from server.app import head_gate
from server.app.head_gate import HeadGate
from tests.app.conftest import running_node

pytestmark = pytest.mark.skipif(not HeadGate.available(), reason="the head gate needs epoll")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def pair(made: list[tuple[socket.socket, socket.socket]]) -> tuple[socket.socket, socket.socket]:
    server_side, client_side = socket.socketpair()
    server_side.setblocking(False)
    made.append((server_side, client_side))
    return server_side, client_side


async def test_a_head_in_pieces_is_handed_over_whole_with_what_followed_it(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    handed: list[tuple[socket.socket, bytes]] = []
    left: list[str] = []
    gate = HeadGate(lambda s, head: handed.append((s, head)), 15.0, lambda h: left.append(h.source))
    server_side, client = pair(pairs)
    gate.admit(server_side, "192.0.2.1", tls=False)
    client.sendall(b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r")
    await asyncio.sleep(0)
    gate.read_ready()
    assert not handed
    assert len(gate.held) == 1
    client.sendall(b"\n\r\nbody")
    gate.read_ready()
    assert handed == [
        (server_side, b"POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody")
    ]
    assert not gate.held
    assert left == ["192.0.2.1"]
    gate.close()


async def test_heads_that_never_end_are_closed_oldest_first_a_bounded_number_per_sweep(
    pairs: list[tuple[socket.socket, socket.socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(head_gate, "SWEEP_MAX", 3)
    clock = Clock()
    left: list[str] = []
    gate = HeadGate(lambda s, h: None, 15.0, lambda h: left.append(h.source), clock)
    clients = []
    for n in range(5):
        server_side, client = pair(pairs)
        gate.admit(server_side, f"old{n}", tls=False)
        clients.append(client)
    clock.now += 10
    server_side, _young = pair(pairs)
    gate.admit(server_side, "young", tls=False)
    clock.now += 6  # the five are 16 s old, the young one 6 s
    assert gate.sweep() == 3
    assert left == ["old0", "old1", "old2"]
    assert gate.sweep() == 2
    assert left[3:] == ["old3", "old4"]
    assert gate.sweep() == 0
    assert [h.source for h in gate.held.values()] == ["young"]
    # each closed with a reset, here and now: each client sees its connection gone
    for client in clients:
        client.settimeout(2)
        assert client.recv(1) == b""
    gate.close()


async def test_a_client_that_gives_up_before_its_head_ends_is_dropped(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    left: list[str] = []
    gate = HeadGate(lambda s, h: None, 15.0, lambda h: left.append(h.source))
    server_side, client = pair(pairs)
    gate.admit(server_side, "quitter", tls=False)
    client.sendall(b"GET / HTTP/1.1\r\n")
    client.shutdown(socket.SHUT_WR)
    gate.read_ready()
    assert not gate.held
    assert left == ["quitter"]
    gate.close()


async def test_a_served_node_answers_a_head_sent_a_byte_at_a_time(tmp_path: Path) -> None:
    async with running_node(tmp_path) as base:
        port = int(base.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.001)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        async with (  # and an ordinary client, body and all
            aiohttp.ClientSession() as http,
            http.post(f"{base}/api/sessions", json={"x": 1}) as response,
        ):
            assert response.status == 401  # no admin token: refused, but parsed and answered
