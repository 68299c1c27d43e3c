"""Pause and resume over socket.io: the seat's score is refused while paused and goes through
after the resume; every role's view says so, the public screen without the reason."""

from __future__ import annotations

import pytest

from server.client.seat import ClientError
from tests.app.conftest import Room
from tests.app.test_bad_input import scoring_room


async def test_a_paused_session_refuses_scores_until_it_resumes(room: Room) -> None:
    sup, a, _ = await scoring_room(room)
    public = room.client(room.created["public"])
    await public.connect()
    with pytest.raises(ClientError) as blank:
        await sup.command({"id": "pause-0", "type": "session.pause", "reason": " "})
    assert blank.value.code == "reason_required"
    ack = await sup.command({"id": "pause-1", "type": "session.pause", "reason": "副场网络中断"})
    assert ack["ok"], ack
    with pytest.raises(ClientError) as caught:
        await a.score(a.codes[0], "T1", "5")
    assert caught.value.code == "paused"
    views = {
        "supervisor": (await sup.sio.call("state", {}, timeout=30))["state"],
        "public": (await public.sio.call("state", {}, timeout=30))["state"],
    }
    assert views["supervisor"]["paused"]["reason"] == "副场网络中断"
    assert views["supervisor"]["paused"]["seq"] == ack["seq"]
    assert set(views["public"]["paused"]) == {"since", "seq"}  # that it stopped, not why
    resumed = await sup.command({"id": "resume-1", "type": "session.resume"})
    assert resumed["ok"], resumed
    done = await a.score(a.codes[0], "T1", "5")
    assert done["seq"] == resumed["seq"] + 1
    assert (await sup.sio.call("state", {}, timeout=30))["state"]["paused"] is None
