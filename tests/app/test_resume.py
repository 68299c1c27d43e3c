"""Reconnecting, resending and catching up far behind, over real socket.io."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio

from server.client.seat import Client, SeatClient
from tests.app.conftest import Room, advance, head_of
from tests.app.harness import give_draw


async def start_scoring(room: Room) -> tuple[Client, list[SeatClient]]:
    sup = await room.supervisor(0)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    await advance(sup, "sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    await advance(sup, "scoring")
    await give_draw(sup, seats)  # the seats score T1..T5 by their codes
    return sup, seats


async def reconnect(client: Client) -> None:
    """A new connection for the same client, keeping its token and last seq."""
    client.sio = socketio.AsyncClient(reconnection=False)
    client.sio.on("events", client._on_events)
    await client.connect()


def assert_exactly_once(client: Client, head: int) -> None:
    assert client.last_seq == head
    assert sorted(client.events) == list(range(1, head + 1))


async def test_disconnected_expert_resumes_without_gaps_or_repeats(room: Room) -> None:
    sup, seats = await start_scoring(room)
    cells = room.lot.typed_cells()
    away, others = seats[0], seats[1:]
    half = len(cells) // 2
    for bidder, criterion in cells[:half]:
        await away.score(bidder, criterion, "1")
    await away.disconnect()
    left_at = away.last_seq

    async def sheet(seat: SeatClient) -> None:
        for bidder, criterion in cells:
            await seat.score(bidder, criterion, "2")
        await seat.submit()

    await asyncio.gather(*(sheet(seat) for seat in others))
    missed_head = await head_of(sup)
    assert missed_head - left_at >= len(others) * (len(cells) + 1)
    assert away.last_seq == left_at  # nothing arrived while away

    await reconnect(away)
    assert away.last_seq == missed_head
    for bidder, criterion in cells[half:]:
        await away.score(bidder, criterion, "1")
    await away.submit()
    await advance(sup, "review")
    head = await head_of(sup)
    for client in (sup, *seats):
        await client.wait_for_seq(head)
        assert_exactly_once(client, head)
    # the seat's own scores are all there, in full
    own = [
        e
        for e in away.events.values()
        if e["type"] == "score.set" and e["data"]["seat"] == away.seat
    ]
    assert len(own) == len(cells)
    assert all(e["data"]["value"] == "1" for e in own)


async def test_resend_returns_the_same_ack_and_stores_nothing(room: Room) -> None:
    sup, seats = await start_scoring(room)
    seat = seats[0]
    envelope = seat.signed(
        "score.set", seat.next_id(), **(await seat.target("B1", "T1")), criterion="T1", value="5"
    )
    first = await seat.command(envelope)
    head = await head_of(sup)
    assert head == first["seq"]
    again = await seat.command(dict(envelope))
    assert again == first
    # a resend after reconnecting is also answered from the stored ack
    await seat.disconnect()
    await reconnect(seat)
    third = await seat.command(dict(envelope))
    assert third == first
    assert await head_of(sup) == head
    scores = [e for e in sup.events.values() if e["type"] == "score.set"]
    assert len(scores) == 1


async def test_far_behind_client_catches_up_in_one_round_trip(room: Room) -> None:
    sup, seats = await start_scoring(room)
    await sup.disconnect()
    total = 1100
    values = ["1", "2", "3", "4.5"]
    # spread over the seats: one socket sending 1,100 commands at once would be rate limited
    for start in range(0, total, 100):
        await asyncio.gather(
            *(
                seats[n % len(seats)].score("B1", "T1", values[n % len(values)])
                for n in range(start, start + 100)
            )
        )
    probe = room.client(room.created["supervisor"][1])
    head = await head_of_via_http(room)
    assert head >= total
    calls: list[tuple[str, Any]] = []
    answers: list[dict[str, Any]] = []
    real_call = probe.sio.call

    async def counting_call(event: str, data: Any = None, **kwargs: Any) -> Any:
        calls.append((event, data))
        answer = await real_call(event, data, **kwargs)
        answers.append(answer)
        return answer

    probe.sio.call = counting_call  # type: ignore[method-assign]
    await probe.connect()
    assert [c[0] for c in calls] == ["join"]
    assert calls[0][1] == {"after": 0}
    join = answers[0]
    assert join["ok"] is True
    assert join.get("limited") is False
    assert len(join["events"]) == head
    assert "snapshot" not in join
    assert probe.last_seq == head
    assert sorted(probe.events) == list(range(1, head + 1))


async def head_of_via_http(room: Room) -> int:
    headers = {"Authorization": f"Bearer {room.created['auditor']}"}
    url = f"{room.base}/api/sessions/{room.session}/state"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        answer = await response.json()
    assert answer["ok"], answer
    return int(answer["state"]["seq"])
