"""Witness co-signing with two server processes on loopback: a host and a guest venue's node.

The guest cosigns the host's checkpoints after checking each extends the last one it signed.
Then the host's database is rewritten (an attacker with file access: triggers dropped, an event
changed, the tree recomputed) and the host keeps signing: the witness must refuse.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app.notary import Notary, load_or_create_key
from server.auditlog.merkle import CompactRange, leaf_hash
from server.auditlog.note import open_note, parse_verifier_key, verify_cosignature, verify_note
from server.client.seat import Client, SeatClient
from tests.app.conftest import Room, advance, create_session, free_port, head_of, load_lot
from tests.app.processes import kill, start_server

pytestmark = pytest.mark.slow


async def _get(url: str, **params: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        answer: dict[str, Any] = await response.json()
    return answer


async def _until(check: Any, seconds: float = 30) -> Any:
    for _ in range(int(seconds / 0.1)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {check.__name__}")


def _rewrite_history(db: Path, session: str) -> None:
    """What a dishonest host would do: change event 3 and recompute every hash it feeds."""
    con = sqlite3.connect(db)
    with con:
        for trigger in ("events_no_update", "tree_nodes_no_delete"):
            con.execute(f"DROP TRIGGER {trigger}")
        (body,) = con.execute(
            "SELECT body FROM events WHERE session_id = ? AND seq = 3", (session,)
        ).fetchone()
        forged = bytes(body).replace(b'"t":', b'"t":1', 1)  # a different time, still canonical
        con.execute(
            "UPDATE events SET body = ?, hash = ? WHERE session_id = ? AND seq = 3",
            (forged, leaf_hash(forged), session),
        )
        con.execute("DELETE FROM tree_nodes WHERE session_id = ?", (session,))
        tree = CompactRange()
        for (digest,) in con.execute(
            "SELECT hash FROM events WHERE session_id = ? ORDER BY seq", (session,)
        ).fetchall():
            for level, idx, node in tree.append_nodes(bytes(digest)):
                if level < 3:
                    continue
                con.execute(
                    "INSERT INTO tree_nodes VALUES (?, ?, ?, ?)", (session, level, idx, node)
                )
    con.close()


async def test_witness_cosigns_and_refuses_a_rewritten_history(tmp_path: Path) -> None:
    host_dir, guest_dir = tmp_path / "host", tmp_path / "guest"
    host_notary = Notary("host.test", load_or_create_key(host_dir / "node.key"))
    guest_notary = Notary("guest.test", load_or_create_key(guest_dir / "node.key"))
    host_port, guest_port = free_port(), free_port()
    host, guest = f"http://127.0.0.1:{host_port}", f"http://127.0.0.1:{guest_port}"
    host_env = {
        "EVALROOM_NODE_NAME": "host.test",
        "EVALROOM_WITNESS_KEYS": guest_notary.witness_key,
    }
    guest_env = {
        "EVALROOM_NODE_NAME": "guest.test",
        "EVALROOM_WITNESS_OF": host,
        "EVALROOM_WITNESS_HOST_KEY": host_notary.verifier_key,
    }
    host_proc = await start_server(host_dir, host_port, tmp_path / "host.log", host_env)
    guest_proc = await start_server(guest_dir, guest_port, tmp_path / "guest.log", guest_env)
    clients: list[Client] = []
    try:
        node = await _get(f"{host}/api/node")
        assert node["verifier_key"] == host_notary.verifier_key
        lot = load_lot()
        created = await create_session(host, lot)
        session = created["session"]
        room = Room(host, created, lot, clients)
        sup = await room.supervisor(0)
        seats: list[SeatClient] = [await room.seat(s) for s in created["seats"][:5]]
        await advance(sup, "sign_in")

        origin = f"host.test/{session}"

        async def cosigned_head() -> dict[str, Any] | None:
            answer = await _get(f"{host}/api/sessions/{session}/checkpoint")
            checkpoint: dict[str, Any] = answer["checkpoint"]
            state = await _get(f"{guest}/api/witness")
            if checkpoint["witnesses"] and state["cosigned"].get(origin) == checkpoint["size"]:
                return checkpoint
            return None

        first = await _until(cosigned_head)
        body = verify_note(first["note"], parse_verifier_key(host_notary.verifier_key))
        _, lines = open_note(first["note"])
        witness_key = parse_verifier_key(guest_notary.witness_key)
        cosigned = [line for line in lines if line.name == "guest.test"]
        assert len(cosigned) == 1
        verify_cosignature(body, cosigned[0], witness_key)

        for seat in seats:  # more events: the witness checks consistency from its last size
            await seat.sign_in()
        head = await head_of(sup)

        async def whole() -> dict[str, Any] | None:
            # The cosigned checkpoint of the whole log: an earlier one may be cosigned first and
            # the witness then moves on to the head before the host is stopped.
            found = await cosigned_head()
            return found if found and found["size"] == head else None

        second = await _until(whole)
        assert second["size"] >= first["size"] + len(seats)

        # The host's operator rewrites history and restarts; new events get signed checkpoints.
        await kill(host_proc)
        _rewrite_history(host_dir / "evalroom.db", session)
        host_proc = await start_server(host_dir, host_port, tmp_path / "host.log", host_env)
        for client in clients:
            await client.disconnect()
        for seat_id in created["seats"][5:]:  # enrolments are events the host signs into the tree
            await room.seat(seat_id, connect=False)

        async def refused() -> list[dict[str, Any]]:
            state = await _get(f"{guest}/api/witness")
            return [r for r in state["refusals"] if r["origin"] == origin]

        refusals = await _until(refused)
        assert "not consistent" in refusals[0]["reason"]
        assert refusals[0]["size"] > second["size"]
        latest = (await _get(f"{host}/api/sessions/{session}/checkpoint"))["checkpoint"]
        assert latest["size"] > second["size"]
        assert latest["witnesses"] == 0  # the forged checkpoint stays without a cosignature
        state = await _get(f"{guest}/api/witness")
        assert state["cosigned"][origin] == second["size"]
        assert base64.b64decode(latest["root"]) != base64.b64decode(second["root"])
    finally:
        for client in clients:
            if client.sio.connected:
                await client.disconnect()
        await kill(host_proc)
        await kill(guest_proc)
