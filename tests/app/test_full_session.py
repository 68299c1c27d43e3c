"""A whole session over real socket.io: 7 experts, 2 supervisors and the public screen."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

from server.client.seat import Client, SeatClient
from tests.app.conftest import Room, advance, head_of, walk
from tests.app.harness import give_draw

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SECRET_KEYS = {"value", "comment", "sig", "signed", "key"}


def value_for(room: Room, criterion_id: str, index: int) -> str:
    criterion = room.lot.criterion(criterion_id)
    assert criterion is not None
    assert criterion.step is not None
    steps = int((criterion.max - criterion.min) / criterion.step)
    value = criterion.min + criterion.step * (index % (steps + 1))
    return format(Decimal(value).normalize(), "f")


def assert_ack(ack: dict[str, Any]) -> None:
    assert ack["ok"] is True
    assert isinstance(ack["seq"], int)
    assert ack["seq"] > 0
    assert HEX64.match(ack["hash"]), ack


def assert_complete(client: Client, head: int) -> None:
    assert client.last_seq == head
    assert sorted(client.events) == list(range(1, head + 1))
    for seq, view in client.events.items():
        assert view["seq"] == seq


async def test_full_session_every_role_sees_what_it_may(room: Room) -> None:
    sup1 = await room.supervisor(0)
    sup2 = await room.supervisor(1)
    public = room.client(room.created["public"])
    await public.connect()
    seats: list[SeatClient] = [await room.seat(seat) for seat in room.created["seats"]]
    assert len(seats) == 7

    acks: list[dict[str, Any]] = []
    acks.append(await advance(sup1, "sign_in"))
    acks.extend(await asyncio.gather(*(seat.sign_in() for seat in seats)))
    acks.append(await advance(sup1, "scoring"))
    # The server drew the blind codes with the move to scoring. Only the harness, reading the
    # whole draw as a supervisor, can tell the seats which code is which bidder.
    draw = await give_draw(sup1, seats)
    assert draw["criteria"] == ["T1", "T2", "T3", "T4", "T5"]
    bidder_of = {s: dict(pairs) for s, pairs in draw["seats"].items()}

    def bidder_in(data: dict[str, Any]) -> str:
        return str(data.get("bidder") or bidder_of[data["seat"]][data["code"]])

    cells = room.lot.typed_cells()
    scored: dict[tuple[str, str, str], str] = {}

    async def score_sheet(n: int, seat: SeatClient) -> list[dict[str, Any]]:
        mine = []
        for i, (bidder, criterion) in enumerate(cells):
            value = value_for(room, criterion, i + n)
            scored[(seat.seat, bidder, criterion)] = value
            mine.append(await seat.score(bidder, criterion, value))
        mine.append(await seat.submit())
        return mine

    for sheet in await asyncio.gather(*(score_sheet(n, s) for n, s in enumerate(seats))):
        acks.extend(sheet)
    review_ack = await advance(sup1, "review")
    acks.append(review_ack)
    acks.append(await advance(sup1, "closed"))
    for ack in acks:
        assert_ack(ack)
    seqs = [ack["seq"] for ack in acks]
    assert len(set(seqs)) == len(seqs)  # every command its own event

    head = await head_of(sup2)
    # created, 7 enrolled, sign_in, 7 signed in, scoring + blind.assigned, every score,
    # 7 submitted, blind.revealed + review, closed, and the seal the close waited for
    assert head == 1 + 7 + 1 + 7 + 2 + 7 * len(cells) + 7 + 3 + 1
    assert acks[-1]["sealed"] == head
    everyone: list[Client] = [sup1, sup2, public, *seats]
    await asyncio.gather(*(c.wait_for_seq(head) for c in everyone))
    for client in everyone:
        assert_complete(client, head)

    # Supervisors: every event in full, scores carry value and signature, hashes match the acks.
    by_seq = {ack["seq"]: ack["hash"] for ack in acks}
    for sup in (sup1, sup2):
        for seq, event in sup.events.items():
            assert event["type"] != "hidden"
            assert HEX64.match(event["hash"])
            if seq in by_seq:
                assert event["hash"] == by_seq[seq]
            if event["type"] == "score.set":
                data = event["data"]
                assert data["value"] == scored[(data["seat"], bidder_in(data), data["criterion"])]
                assert ("code" in data) == (data["criterion"] in draw["criteria"])
                assert data["sig"]
                assert data["signed"]
        assert sup.events == sup1.events

    # Experts: before review, another seat's seat events are stubs without values.
    review_seq = review_ack["seq"]
    for seat in seats:
        own_scores = 0
        for seq, event in seat.events.items():
            if seq >= review_seq:
                continue
            if event["type"] == "hidden":
                assert event == {"seq": seq, "type": "hidden"}
                continue
            data = event.get("data", {})
            if event["type"] in ("score.set", "expert.signed_in", "sheet.submitted"):
                assert data["seat"] == seat.seat
            if event["type"] == "score.set":
                own_scores += 1
                assert data["value"] == scored[(seat.seat, bidder_in(data), data["criterion"])]
                if data["criterion"] in draw["criteria"]:  # signed by code: no bidder in sight
                    assert "bidder" not in data
                    assert data["code"] in seat.codes
            if event["type"] == "blind.assigned":
                assert data["seats"] == {seat.seat: [[c, None] for c in seat.codes]}
        assert own_scores == len(cells)
        hidden = [e for s, e in seat.events.items() if s < review_seq and e["type"] == "hidden"]
        # the other six seats' enrolment, sign-in, every score and submission
        assert len(hidden) == 6 * (1 + 1 + len(cells) + 1)
        assert seat.events[review_seq].get("resync") is True

    # The public screen: progress only, never a value, comment, signature, key or a name.
    names = {b["name"] for b in room.lot_json["bidders"]}
    public_scores = 0
    for event in public.events.values():
        for kind, item in walk(event):
            if kind == "key":
                assert item not in SECRET_KEYS, event
            else:
                assert item not in names, event
                if isinstance(item, str):
                    assert not any(name in item for name in names)
        if event["type"] == "score.set":
            public_scores += 1
            assert set(event["data"]) in (
                {"seat", "bidder", "criterion"},
                {"seat", "code", "criterion"},
            )
        if event["type"] == "blind.assigned":
            assert event["data"]["seats"] == {}
    assert public_scores == 7 * len(cells)
    state = await public.sio.call("state", {}, timeout=30)
    for kind, item in walk(state):
        assert not (kind == "key" and item in SECRET_KEYS), item
        assert item not in names
