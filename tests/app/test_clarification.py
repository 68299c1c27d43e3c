"""Clarification (澄清) through a real node: a member drafts, a supervisor approves and gets the
bidder's token; the bidder reads its question and answers once over HTTP; its token opens no
socket and no other read; members see the answer live."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from tests.app.conftest import Room, advance, create_session, load_lot
from tests.app.test_draw import call


@pytest.fixture
async def plain_room(server: str) -> AsyncIterator[Room]:
    """The sample lot without blind criteria (a question names its bidder, so none is asked
    while codes are open), in scoring."""
    lot = copy.deepcopy(load_lot())
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    made = Room(server, await create_session(server, lot), lot)
    try:
        yield made
    finally:
        await made.close()


async def test_a_bidder_answers_its_one_question(plain_room: Room) -> None:
    room = plain_room
    sup = await room.supervisor(0)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    await advance(sup, "sign_in")
    for seat in seats:
        await seat.sign_in()
    await advance(sup, "scoring")
    asker, other = seats[0], seats[1]
    drafted = await asker.send(
        "clarification.draft", bidder="B3", question="请说明项目经理社保证明"
    )
    approve = {"id": "cl-ok", "type": "clarification.approve", "clarification": "CL1"}
    approved = await sup.command(approve)
    assert approved["seq"] > drafted["seq"]
    assert approved["bidder"] == "B3"
    token = approved["token"]

    status, read = await call(room, "GET", "clarification", token)
    assert status == 200, read
    assert (read["question"], read["status"], read["bidder"]["id"]) == (
        "请说明项目经理社保证明",
        "approved",
        "B3",
    )
    for path in ("state", "events", "results", "report"):  # nothing else opens
        status, refused = await call(room, "GET", path, token)
        assert (status, refused["error"]["code"]) == (403, "forbidden"), path
    client = socketio.AsyncClient(reconnection=False)
    why: list[Any] = []
    client.on("connect_error", why.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(room.base, auth={"token": token}, transports=["websocket"])
    await client.disconnect()
    assert why, "the refusal carried no data"
    assert "forbidden" in str(why[0]), why

    answer = {"id": "answer-CL1", "answer": "项目经理社保证明见投标文件第 87 页"}
    status, ack = await call(room, "POST", "clarification/answer", token, answer)
    assert status == 200, ack
    status, again = await call(room, "POST", "clarification/answer", token, answer)
    assert again["seq"] == ack["seq"]  # the same id: the same answer, not a second one
    status, twice = await call(room, "POST", "clarification/answer", token, {"answer": "改"})
    assert twice["error"]["code"] == "already_answered"
    view = (await other.sio.call("state", {}, timeout=30))["state"]
    assert view["clarifications"]["CL1"]["answer"] == answer["answer"]
    public = room.client(room.created["public"])
    await public.connect()
    public_view = (await public.sio.call("state", {}, timeout=30))["state"]
    assert "clarifications" not in public_view


async def test_a_supervisors_token_is_not_a_bidders(plain_room: Room) -> None:
    status, refused = await call(plain_room, "GET", "clarification", plain_room.created["public"])
    assert (status, refused["error"]["code"]) == (403, "forbidden")
