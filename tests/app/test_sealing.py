"""The fault rule through a real node: the node's timer seals a session whose fault outlived the
lot's time, after which every command is refused with ``sealed`` and the archive says so; the
tenderer's decision on a referred fault is the admin's, over the same command path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app.main import SEALER
from server.auditlog.archive import verify_archive
from server.client.seat import ClientError
from tests.app.conftest import ADMIN, Room, create_session, load_lot, running_app
from tests.app.test_bad_input import scoring_room

HOUR = 3600_000


async def archive_of(room: Room, tmp_path: Path) -> Path:
    url = f"{room.base}/api/sessions/{room.session}/archive"
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {room.created['auditor']}"}
        async with http.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            path = tmp_path / "archive.zip"
            path.write_bytes(await response.read())
    return path


async def test_a_fault_that_outlives_its_time_seals_the_session(tmp_path: Path) -> None:
    async with running_app(tmp_path / "node") as (base, app):
        lot = load_lot()
        room = Room(base, await create_session(base, lot), lot)
        try:
            sup, seat, _ = await scoring_room(room)
            fault = {"id": "f1", "type": "session.pause", "reason": "主场服务器故障", "fault": True}
            paused = await sup.command(fault)
            state = (await sup.sio.call("state", {}, timeout=30))["state"]
            assert state["paused"]["fault"] is True
            since = state["paused"]["since"]
            sealer = app[SEALER]
            await sealer.tick(since + 4 * HOUR - 1)  # not yet: nothing happens
            assert (await sup.sio.call("state", {}, timeout=30))["state"]["sealed"] is None
            await sealer.tick(since + 4 * HOUR)
            state = (await sup.sio.call("state", {}, timeout=30))["state"]
            assert state["sealed"] == {
                "cause": "fault",
                "since": state["sealed"]["since"],
                "seq": paused["seq"] + 1,
            }
            for attempt in (
                lambda: sup.command({"id": "r1", "type": "session.resume"}),
                lambda: seat.score(seat.codes[0], "T1", "5"),
                lambda: sup.command({"id": "p2", "type": "phase.advance", "to": "review"}),
            ):
                with pytest.raises(ClientError) as caught:
                    await attempt()
                assert caught.value.code == "sealed"
            report = verify_archive(await archive_of(room, tmp_path))
            assert report.ok, report.problems
            assert report.statements[0].startswith(
                f"session sealed at seq {paused['seq'] + 1} (fault) before it closed"
            )
        finally:
            await room.close()


async def post_seal(room: Room, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = f"{room.base}/api/sessions/{room.session}/seal"
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(url, json=body, headers=headers) as response:
            return response.status, await response.json()


async def test_the_admin_records_the_tenderers_decision_on_a_referred_fault(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path / "node") as (base, app):
        lot = load_lot()
        room = Room(base, await create_session(base, lot), lot)
        try:
            sup = await room.supervisor(0)
            for seat in room.created["seats"]:
                await room.seat(seat)
            await sup.command({"id": "p1", "type": "phase.advance", "to": "sign_in"})
            decision = {"id": "t1", "reason": "招标人决定延期，另行组织评标"}
            status, early = await post_seal(room, ADMIN, decision)
            assert (status, early["error"]["code"]) == (409, "not_due")  # nothing was referred
            with pytest.raises(ClientError) as wrong:
                await sup.command({"id": "f0", "type": "session.pause", "reason": "x", "fault": 1})
            assert wrong.value.code == "malformed"
            fault = {"id": "f1", "type": "session.pause", "reason": "副场设备故障", "fault": True}
            paused = await sup.command(fault)
            with pytest.raises(ClientError) as supervisor:
                await sup.command({"id": "t2", "type": "session.seal", "reason": "越权"})
            assert supervisor.value.code == "forbidden"  # the tenderer's decision is the admin's
            status, _ = await post_seal(room, room.created["supervisor"][0], decision)
            assert status == 401  # a supervisor's token is no admin token
            since = (await sup.sio.call("state", {}, timeout=30))["state"]["paused"]["since"]
            await app[SEALER].tick(since + 2 * HOUR)  # the fault goes to the tenderer
            state = (await sup.sio.call("state", {}, timeout=30))["state"]
            assert state["paused"]["referred"] >= since
            assert state["sealed"] is None  # before the start the rule refers, it does not seal
            status, ack = await post_seal(room, ADMIN, decision)
            assert status == 200, ack
            assert ack["seq"] == paused["seq"] + 2
            status, again = await post_seal(room, ADMIN, decision)  # a resend: the same ack
            assert (status, again["seq"]) == (200, ack["seq"])
            report = verify_archive(await archive_of(room, tmp_path))
            assert report.ok, report.problems
            assert "(tenderer) before it closed" in report.statements[0]
        finally:
            await room.close()
