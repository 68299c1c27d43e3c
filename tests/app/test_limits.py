"""Resource limits (issue 10, deliverable 4): each a number in config, each tested here against a
real server on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app.acceptor import Gate
from server.app.limits import Limits
from server.app.main import MAX_FRAME
from server.app.rate import Bucket
from tests.app.conftest import Room, create_session, load_lot, running_node
from tests.app.test_resume import start_scoring


async def _serve(
    tmp_path: Path, sndbuf: int = 0, gate: Gate = "loop", **limits: str
) -> AsyncIterator[str]:
    env = {f"EVALROOM_LIMIT_{k.upper()}": v for k, v in limits.items()}
    async with running_node(tmp_path, env, sndbuf, gate) as base:
        yield base


@pytest.fixture(params=["process", "loop"])
async def tight(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A server with small limits, so that each is reached in a test's time; its head gate in a
    process of its own (as ``evalroom serve`` runs it) and in the node's loop."""
    async for base in _serve(
        tmp_path,
        gate=request.param,
        header_timeout_s="1",
        body_timeout_s="1",
        connections_per_source="20",
        max_connections="30",
        sockets_per_token="2",  # noqa: S106 - a count, not a password
        send_queue_packets="20",
        commands_per_s="5",
        commands_burst="10",
        reads_per_s="2",
        reads_burst="5",
    ):
        yield base


def test_limits_come_from_the_environment_and_refuse_nonsense() -> None:
    limits = Limits.from_env(
        {"EVALROOM_LIMIT_COMMANDS_PER_S": "7.5", "EVALROOM_LIMIT_READS_BURST": "9"}
    )
    assert (limits.commands_per_s, limits.reads_burst) == (7.5, 9)
    assert limits.header_timeout_s == Limits().header_timeout_s
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="EVALROOM_LIMIT_SOCKETS_PER_TOKEN"):
            Limits.from_env({"EVALROOM_LIMIT_SOCKETS_PER_TOKEN": bad})


async def _open(
    port: int, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(4096):
                pass
        return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def test_a_request_head_trickled_byte_by_byte_is_cut_off(tight: str) -> None:
    port = int(tight.rsplit(":", 1)[1])
    reader, writer = await _open(port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    closed = False
    for _ in range(30):  # one header byte every 0.2 s: never a whole head
        try:
            writer.write(b"X")
            await writer.drain()
        except ConnectionError:  # closed with a reset (head_gate.Reaper)
            closed = True
            break
        if await _closed_within(reader, 0.2):
            closed = True
            break
    assert closed, "a slowloris head was still open after 6 s"
    assert time.monotonic() - started < 3.0
    writer.close()


async def test_a_body_that_never_finishes_is_cut_off(tight: str) -> None:
    port = int(tight.rsplit(":", 1)[1])
    reader, writer = await _open(port)
    writer.write(
        b"POST /api/sessions/s-1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    await writer.drain()
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(4096), 5)
    assert time.monotonic() - started < 3.0
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    writer.close()


async def test_connections_per_source_are_capped_and_others_still_served(tight: str) -> None:
    port = int(tight.rsplit(":", 1)[1])
    held = [await _open(port, "127.0.0.5") for _ in range(20)]
    await asyncio.sleep(0.1)  # all 20 accepted
    try:
        extra_reader, extra_writer = await _open(port, "127.0.0.5")
    except ConnectionError:
        pass  # reset at once (head_gate.Reaper), before the connect call even returned
    else:
        assert await _closed_within(extra_reader, 2.0), "the 21st connection of a source stayed"
        extra_writer.close()
    # another address is served while the first holds its 20
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.6", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"{tight}/healthz") as r,
    ):
        assert r.status == 200
    for _, writer in held:
        writer.close()


async def test_a_full_node_sheds_the_busiest_address_not_a_newcomer(tight: str) -> None:
    port = int(tight.rsplit(":", 1)[1])
    attacker = [await _open(port, "127.0.0.5") for _ in range(20)]
    other = [await _open(port, "127.0.0.7") for _ in range(10)]  # 30: the node is full
    await asyncio.sleep(0.1)
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.6", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"{tight}/healthz") as response,
    ):
        assert response.status == 200  # the newcomer got in
    # the room was made by closing the oldest connection of the busiest address
    assert await _closed_within(attacker[0][0], 2.0)
    for reader, _ in other:
        assert not await _closed_within(reader, 0.05)
    for _, writer in attacker + other:
        writer.close()


async def test_sockets_per_token_are_capped(tight: str) -> None:
    import socketio

    room = Room(tight, await create_session(tight, load_lot()), load_lot())
    token = room.created["auditor"]
    clients = [socketio.AsyncClient(reconnection=False) for _ in range(3)]
    try:
        for client in clients[:2]:
            await client.connect(tight, auth={"token": token}, transports=["websocket"])
        refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        clients[2].on("connect_error", lambda data: refused.set_result(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await clients[2].connect(tight, auth={"token": token}, transports=["websocket"])
        assert (await asyncio.wait_for(refused, 5))["data"]["code"] == "too_many_connections"
        await clients[0].disconnect()
        await asyncio.sleep(0.2)
        await clients[2].connect(tight, auth={"token": token}, transports=["websocket"])
    finally:
        for client in clients:
            await client.disconnect()


async def test_reads_and_commands_are_rate_limited_per_socket(tight: str) -> None:
    room = Room(tight, await create_session(tight, load_lot()), load_lot())
    sup = await room.supervisor(0)
    other = await room.supervisor(1)
    try:
        # all at once: one after another, a loaded machine can be slow enough to refill the bucket
        answers = await asyncio.gather(*(sup.sio.call("state", {}) for _ in range(8)))
        limited = [a for a in answers if not a["ok"]]
        assert limited, "8 reads in a row on a burst of 5 were all served"
        assert limited[0]["error"]["code"] == "rate_limited"
        assert limited[0]["error"]["details"]["retry_after_ms"] > 0
        assert (await other.sio.call("state", {}))["ok"]  # another socket is not slowed
        wait_ms = max(a["error"]["details"]["retry_after_ms"] for a in limited)  # the latest
        await asyncio.sleep(wait_ms / 1000 + 0.1)
        assert (await sup.sio.call("state", {}))["ok"]  # and this one recovers
        bad = {"id": "x", "type": "phase.advance", "to": "nowhere"}
        codes = [
            (await sup.sio.call("command", {**bad, "id": f"c{n}"}))["error"]["code"]
            for n in range(14)
        ]
        assert "rate_limited" in codes
    finally:
        await room.close()


def _ws_frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455)."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    else:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + masked


async def test_a_socket_that_never_reads_is_dropped_not_buffered(tmp_path: Path) -> None:
    async for base in _serve(tmp_path, sndbuf=32768, send_queue_packets="20"):
        room = Room(base, await create_session(base, load_lot()), load_lot())
        port = int(base.rsplit(":", 1)[1])
        loop = asyncio.get_running_loop()  # the server runs on this loop: no blocking calls
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny window, no reading
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(
            sock,
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode(),
        )
        await loop.sock_recv(sock, 4096)  # the upgrade and engine.io's open: the last read
        await loop.sock_sendall(
            sock, _ws_frame("40" + json.dumps({"token": room.created["auditor"]}))
        )
        await loop.sock_sendall(sock, _ws_frame('421["join",{"after":0}]'))
        try:
            _sup, seats = await start_scoring(room)
            comment = "评审意见" * 250  # each score event is about 7 KiB
            for n in range(100):  # 7 seats: 700 events (5 MB) for the socket that never reads
                await asyncio.gather(
                    *(s.score("B1", "T1", str(1 + n % 4), comment=comment) for s in seats)
                )
            await asyncio.sleep(0.5)
            assert _was_cut(sock), "the non-reading socket was still connected"
        finally:
            sock.close()
            await room.close()


def _was_cut(sock: socket.socket) -> bool:
    """Read what is buffered: a cut connection then ends (EOF or reset), a live one has more."""
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False  # nothing more for now, and not closed: the server still holds it
    except ConnectionError:
        return True


def test_a_bucket_takes_a_cost_up_front_and_a_full_one_affords_anything() -> None:
    bucket = Bucket(rate=10.0, burst=40)
    assert bucket.take(100.0, 30) == 0.0
    assert bucket.take(100.0, 30) == pytest.approx((30 - 10) / 10.0)  # 10 left: wait for 20
    assert bucket.take(110.0, 1000) == 0.0  # refilled to 40: more than the burst costs the burst
    assert bucket.take(110.0, 1) > 0


async def test_a_whole_history_catch_up_asked_32_times_at_once_is_made_once(
    tmp_path: Path,
) -> None:
    """Each catch-up is paid for before it is made: one token answers a few, not 32."""
    async for base in _serve(tmp_path, reads_burst="40", reads_per_s="0.5", events_per_read="1"):
        room = Room(base, await create_session(base, load_lot()), load_lot())
        try:
            sup, _seats = await start_scoring(room)  # the seats' key and sign-in events
            head = (await sup.sio.call("sync", {"after": 0}))["head"]  # costs 1 + head
            assert 5 < head < 20, head
            answers = await asyncio.gather(*(sup.sio.call("sync", {"after": 0}) for _ in range(32)))
            served = [a for a in answers if a["ok"]]
            refused = [a["error"]["code"] for a in answers if not a["ok"]]
            affordable = (40 - 2 * (1 + head)) // (1 + head) + 1  # what is left, plus refill
            assert len(served) <= max(affordable, 1), (len(served), head)
            assert refused == ["rate_limited"] * (32 - len(served))
            async with aiohttp.ClientSession() as http:  # HTTP reads spend the same budget
                url = f"{base}/api/sessions/{room.session}/events?after=0"
                headers = {"Authorization": f"Bearer {room.created['supervisor'][0]}"}
                async with http.get(url, headers=headers) as response:
                    assert response.status == 429
                    assert int(response.headers["Retry-After"]) >= 1
            other = await room.supervisor(1)  # another principal's budget is its own
            assert (await other.sio.call("sync", {"after": 0}))["ok"]
        finally:
            await room.close()


async def test_a_frame_over_the_limit_is_answered_by_closing_as_message_too_big(
    server: str,
) -> None:
    """What the fuzzer counts as the server's answer to a frame over ``MAX_FRAME``."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            server.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        )
        assert (await ws.receive()).data.startswith("0")  # engine.io OPEN
        await ws.send_str('42["sync",{"after":0,"x":"' + "x" * MAX_FRAME + '"}]')
        closing = await asyncio.wait_for(ws.receive(), 5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == 1009
        await ws.close()
