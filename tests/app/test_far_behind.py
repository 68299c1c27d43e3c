"""A client far behind gets a snapshot of its view; oversized frames get a typed error."""

from __future__ import annotations

import aiohttp
import pytest

from server.app.handlers import reading as reading_module
from tests.app.conftest import Room, advance


async def test_far_behind_client_gets_its_view_as_a_snapshot(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading_module, "CATCH_UP_LIMIT", 5)
    sup = await room.supervisor(0)
    await advance(sup, "sign_in")
    seats = [await room.seat(s) for s in room.created["seats"]]  # 7 enrolments: > 5 behind
    late = room.client(room.created["supervisor"][1])
    await late.connect()  # joins with after=0
    assert late.snapshot is not None
    fresh = await late.sio.call("state", {}, timeout=10)
    assert late.snapshot == fresh["state"]
    assert late.last_seq == fresh["state"]["seq"]
    assert late.events == {}  # nothing folded twice: the snapshot replaces the history
    public = room.client(room.created["public"])
    await public.connect()
    assert public.snapshot is not None
    assert public.snapshot["seq"] == late.snapshot["seq"]
    assert public.snapshot != late.snapshot  # the public screen's own, reduced view
    # Live events continue right after the snapshot, without a gap or a duplicate.
    await seats[0].sign_in()
    await late.wait_for_seq(fresh["state"]["seq"] + 1)
    assert late.duplicates == 0
    assert sorted(late.events) == [fresh["state"]["seq"] + 1]


async def test_oversized_frame_gets_a_typed_error_and_the_connection_stays(room: Room) -> None:
    sup = await room.supervisor(0)
    huge = {"id": "big", "type": "phase.advance", "to": "x" * 200_000}
    answer = await sup.sio.call("command", huge, timeout=10)
    assert answer["ok"] is False
    assert answer["error"]["code"] == "too_large"
    ack = await advance(sup, "sign_in")  # the same connection still works
    assert ack["ok"] is True


async def test_http_events_page_through_a_long_log_instead_of_a_snapshot(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader of every event (the auditor's page) pages ``GET …/events``; it never gets a
    snapshot, however far behind it starts."""
    monkeypatch.setattr(reading_module, "CATCH_UP_LIMIT", 5)
    sup = await room.supervisor(0)
    await advance(sup, "sign_in")
    for seat in room.created["seats"]:
        await room.seat(seat)  # 7 enrolments
    head = (await sup.sio.call("state", {}, timeout=10))["state"]["seq"]
    headers = {"Authorization": f"Bearer {room.created['auditor']}"}
    seqs: list[int] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        while True:
            url = f"{room.base}/api/sessions/{room.session}/events?after={len(seqs)}"
            async with http.get(url) as response:
                answer = await response.json()
            assert "snapshot" not in answer
            assert len(answer["events"]) <= 5
            seqs += [e["seq"] for e in answer["events"]]
            if not answer["limited"]:
                break
    assert seqs == list(range(1, head + 1))
