"""Recusal through a real node: a seat declares it at the pledge, a supervisor approves, the
answer carries the new seat and its one-time code; the recused seat's socket loses its rights,
the new seat enrols with the code, signs in and the session goes on; the archive verifies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from server.auditlog.archive import verify_archive
from server.client.seat import ClientError, SeatClient
from tests.app.conftest import Room, advance
from tests.app.test_sealing import archive_of


async def test_a_recused_seat_is_replaced_by_a_new_one(room: Room, tmp_path: Path) -> None:
    sup = await room.supervisor(0)
    seats = {seat: await room.seat(seat) for seat in room.created["seats"]}
    await advance(sup, "sign_in")
    recused = seats.pop("guest-1-2")
    lost: list[object] = []
    recused.sio.on("auth_error", lost.append)
    declared = await recused.send("recusal.declare", reason="两年前曾为投标人 B3 提供咨询")
    with pytest.raises(ClientError) as own:
        await recused.command({"id": "self-approve", "type": "recusal.approve", "recusal": "RC1"})
    assert own.value.code == "forbidden"
    approve = {"id": "rc-1", "type": "recusal.approve", "recusal": "RC1", "venue": "guest-2"}
    answer = await sup.command(approve)
    assert answer["seq"] > declared["seq"]
    assert answer["seat"] == "guest-2-2"
    again = await sup.command(approve)  # a resend: the same ack and seat, a fresh code
    assert (again["seq"], again["seat"]) == (answer["seq"], "guest-2-2")
    other_tab = await room.supervisor(1)  # another supervisor, another id: a fresh code too
    fresh = await other_tab.command({**approve, "id": "rc-from-another-tab"})
    assert (fresh["seq"], fresh["seat"]) == (answer["seq"], "guest-2-2")
    code = fresh["code"]  # the latest code is the one that works
    assert code not in (answer["code"], again["code"])
    for _ in range(50):  # the recused seat's socket loses its token within about a second
        if lost:
            break
        await asyncio.sleep(0.1)
    assert lost, "the recused seat's socket kept its rights"
    url = f"{room.base}/api/sessions/{room.session}/state"
    headers = {"Authorization": f"Bearer {recused.token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        refused = await response.json()
    assert (response.status, refused["error"]["code"]) == (401, "token_revoked")

    new = SeatClient(room.base, room.session, "guest-2-2")
    room.clients.append(new)
    for stale in (answer["code"], again["code"]):  # superseded: neither opens it
        with pytest.raises(ClientError) as wrong:
            await SeatClient(room.base, room.session, "guest-2-2").enrol(stale)
        assert wrong.value.code == "bad_enrolment_code"
    await new.enrol(code)
    await new.connect()
    seats["guest-2-2"] = new
    for seat in seats.values():
        await seat.sign_in()
    await advance(sup, "scoring")  # every seat now seated has signed in
    state = await sup.sio.call("state", {}, timeout=30)
    view = state["state"]
    assert "guest-1-2" not in view["seats"]
    assert view["seats"]["guest-2-2"]["signed_in"] is True
    assert view["replacements"][0]["by"] == "guest-2-2"

    report = verify_archive(await archive_of(room, tmp_path), allow_open=True)
    assert report.ok, report.problems
