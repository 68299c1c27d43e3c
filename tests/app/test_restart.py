"""SIGKILL the server mid-scoring, restart it on the same data dir: every ack survives."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
import socketio

from server.client.seat import Client, ClientError, SeatClient
from tests.app.conftest import Room, advance, create_session, free_port, load_lot
from tests.app.harness import give_draw
from tests.app.processes import kill, start_server

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


async def reconnect(client: Client) -> None:
    with contextlib.suppress(Exception):
        await client.sio.disconnect()
    client.sio = socketio.AsyncClient(reconnection=False)
    client.sio.on("events", client._on_events)
    await client.connect()


async def test_acknowledged_scores_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    process = await start_server(data_dir, port, log)
    clients: list[Client] = []
    try:
        lot = load_lot()
        created = await create_session(base, lot)
        room = Room(base, created, lot, clients)
        sup = await room.supervisor(0)
        seats: list[SeatClient] = [await room.seat(s) for s in created["seats"]]
        await advance(sup, "sign_in")
        await asyncio.gather(*(seat.sign_in() for seat in seats))
        await advance(sup, "scoring")
        await give_draw(sup, seats)  # the seats score T1..T5 by their codes

        cells = room.lot.typed_cells()
        acked: dict[int, str] = {}
        enough = asyncio.Event()

        async def scoring(seat: SeatClient) -> None:
            for bidder, criterion in cells * 3:
                try:
                    ack = await seat.score(bidder, criterion, "3")
                except (ClientError, TimeoutError, socketio.exceptions.SocketIOError):
                    return
                acked[ack["seq"]] = ack["hash"]
                if len(acked) >= 150:
                    enough.set()

        tasks = [asyncio.create_task(scoring(seat)) for seat in seats]
        await asyncio.wait_for(enough.wait(), 60)
        await kill(process)  # mid-scoring: the tasks are still sending
        await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert len(acked) >= 150
        assert not all(task.done() and not task.cancelled() for task in tasks)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.sio.disconnect()

        process = await start_server(data_dir, port, log)
        for client in clients:
            await reconnect(client)
        events = dict(sup.events)
        # every acknowledged score is in the log, with the hash its ack carried
        for seq, digest in acked.items():
            assert events[seq]["hash"] == digest
            assert events[seq]["type"] == "score.set"
        assert sorted(events) == list(range(1, sup.last_seq + 1))

        # the session can be completed after the restart
        async def finish(seat: SeatClient) -> None:
            for bidder, criterion in cells:
                await seat.score(bidder, criterion, "4")
            await seat.submit()

        await asyncio.gather(*(finish(seat) for seat in seats))
        await advance(sup, "review")
        closed = await advance(sup, "closed")
        await sup.wait_for_seq(closed["seq"])
        state: dict[str, Any] = (await sup.sio.call("state", {}, timeout=30))["state"]
        assert state["phase"] == "closed"
        assert state["seq"] == closed["seq"]
        for seat in seats:
            assert state["seats"][seat.seat]["submitted"] is True
            assert len(state["cells"][seat.seat]) == len(cells)
        # a fresh full-view client sees the same log, hashes included
        auditor = room.client(created["auditor"])
        await auditor.connect()
        assert auditor.last_seq == closed["seq"]
        for seq, digest in acked.items():
            assert auditor.events[seq]["hash"] == digest
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.sio.disconnect()
        await kill(process)
