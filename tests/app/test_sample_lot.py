"""The sample lot's day end to end through the server, over real socket.io (issue 4).

``tests.domain.driver.sample_day()`` is the scenario as plain steps; here every step goes through
the running server: supervisors send staff commands, seven seat clients sign theirs. The server
draws the blind codes with the move to scoring; the harness reads the whole draw as a supervisor
and hands it to the seat clients, which then sign T1..T5 with their own codes. At the end the
supervisor fetches the results over HTTP and they must equal the totals computed by hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from server.client.seat import Client, SeatClient
from tests.app.conftest import Room, walk
from tests.app.harness import give_draw, send_step
from tests.domain.driver import EXPECTED_RANKING, EXPECTED_TOTALS, SEATS, sample_day

SECRET_KEYS = {"value", "comment", "sig", "signed", "key", "score", "mean", "text", "reason"}
BLIND = {"T1", "T2", "T3", "T4", "T5"}
BIDDERS = {"B1", "B2", "B3", "B4", "B5"}


async def http_results(room: Room, token: str) -> tuple[int, dict[str, Any]]:
    url = f"{room.base}/api/sessions/{room.session}/results"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


def blind_leaks(document: Any) -> list[Any]:
    """Objects that name a bidder for a blind cell, or a cell key ``<bidder>/<blind criterion>``."""
    found: list[Any] = []
    if isinstance(document, dict):
        if document.get("criterion") in BLIND and document.get("bidder") is not None:
            found.append(document)
        for key, item in document.items():
            head, _, criterion = str(key).partition("/")
            if criterion in BLIND and head in BIDDERS:
                found.append(key)
            found.extend(blind_leaks(item))
    elif isinstance(document, list):
        for item in document:
            found.extend(blind_leaks(item))
    return found


async def assert_expert_sees_codes_only(seat: SeatClient) -> None:
    """Before the reveal: nothing the seat holds or can ask for names a bidder on a blind cell."""
    state = await seat.state()
    assert blind_leaks(state) == [], seat.seat
    assert state["blind"]["revealed"] is False
    assert state["blind"]["seats"] == {seat.seat: [[c, None] for c in seat.codes]}
    mine = state["cells"][seat.seat]
    assert {k.split("/")[0] for k in mine if k.split("/")[1] in BLIND} == set(seat.codes)
    assert blind_leaks(list(seat.events.values())) == [], seat.seat
    for view in seat.events.values():
        if view["type"] == "blind.assigned":
            assert all(b is None for pairs in view["data"]["seats"].values() for _, b in pairs)
            assert list(view["data"]["seats"]) == [seat.seat]
    answer = await seat.results()
    assert answer["results"] is None  # experts see results from review on
    assert blind_leaks(answer["flags"]) == [], answer["flags"]


def assert_public_sees_no_scores_or_names(document: Any, names: set[str]) -> None:
    for kind, item in walk(document):
        if kind == "key":
            assert item not in SECRET_KEYS, item
        elif isinstance(item, str):
            assert not any(name in item for name in names), item


async def test_the_sample_day_through_the_server(room: Room) -> None:
    sup = await room.supervisor(0)
    public = room.client(room.created["public"])
    await public.connect()
    assert room.created["seats"] == SEATS
    seats = {seat: await room.seat(seat) for seat in SEATS}
    names = {b["name"] for b in room.lot_json["bidders"]}

    draw: dict[str, Any] | None = None
    revealed = False
    for n, step in enumerate(sample_day()):
        if step[0] == "staff":
            envelope = step[1]
            ack = await sup.command({"id": f"staff-{n}", **envelope})
            assert ack["ok"] is True
            if envelope.get("to") == "scoring":
                draw = await give_draw(sup, seats.values())
                assert draw["criteria"] == sorted(BLIND)
            continue
        _, name, kind, fields = step
        seat = seats[name]
        if kind == "blind.close":
            # The moment before the reveal: every blind cell is scored, the flag explained.
            for each in seats.values():
                await assert_expert_sees_codes_only(each)
            assert blind_leaks(await sup.state())  # the check has teeth: supervisors see bidders
            assert_public_sees_no_scores_or_names(await public.results(), names)
            revealed = True
        ack = await send_step(seat, kind, fields, draw, not revealed)
        assert ack["ok"] is True

    head = (await sup.state())["seq"]
    everyone: list[Client] = [sup, public, *seats.values()]
    for client in everyone:
        await client.wait_for_seq(head)
    log = [sup.events[seq] for seq in range(1, head + 1)]
    kinds = [e["type"] for e in log]

    # Chair: round 1 split 3/3/1, round 2 elects host-1 with 5 of 7.
    (round_1,) = [e["data"] for e in log if e["type"] == "chair.round_ended"]
    assert round_1["tally"] == {"host-1": 3, "host-2": 3, "guest-2-1": 1}
    (elected,) = [e["data"] for e in log if e["type"] == "chair.elected"]
    assert (elected["seat"], elected["round"], elected["tally"]["host-1"]) == ("host-1", 2, 5)

    # Blind: the server drew it with the move to scoring; every T score was signed by code.
    assert kinds[kinds.index("blind.assigned") - 1] == "phase.changed"
    assert draw is not None
    (reveal,) = [e for e in log if e["type"] == "blind.revealed"]
    assert reveal["actor"] == "expert:host-1"  # the chair closed it
    assert reveal["data"]["seats"] == draw["seats"]
    for event in log:
        data = event["data"]
        if event["type"] == "score.set" and data["criterion"] in BLIND:
            assert "bidder" not in data
            assert f'"code":"{data["code"]}"' in data["signed"]
            assert '"bidder"' not in data["signed"]
            assert event["seq"] < reveal["seq"]
    for name, seat in seats.items():  # each seat its own codes, in its own order
        assert seat.codes == [c for c, _ in draw["seats"][name]]
        assert seat.revealed
    assert len({tuple(s.codes) for s in seats.values()}) == len(seats)

    # Time: three of seven asked, more than a third: extended.
    (extended,) = [e["data"] for e in log if e["type"] == "time.extended"]
    assert (extended["requests"], extended["members"]) == (3, 7)

    # The flag on host-1's 2.5 for B5/T1 and its explanation (signed by code, before the reveal).
    (explained,) = [e for e in log if e["type"] == "flag.explained"]
    assert explained["data"]["seat"] == "host-1"
    assert explained["data"]["code"] == {b: c for c, b in draw["seats"]["host-1"]}["B5"]

    # B4 rejected: proposed by a member, approved by a supervisor, 5 of 7 yes.
    (proposed,) = [e for e in log if e["type"] == "rejection.proposed"]
    assert (proposed["actor"], proposed["data"]["bidder"]) == ("expert:guest-1-1", "B4")
    (approved,) = [e for e in log if e["type"] == "rejection.approved"]
    assert approved["actor"].startswith("supervisor:")
    (decided,) = [e["data"] for e in log if e["type"] == "rejection.decided"]
    assert (decided["bidder"], decided["outcome"], decided["yes"], decided["no"]) == (
        "B4",
        "rejected",
        5,
        2,
    )
    assert kinds[-2:] == ["phase.changed", "session.sealed"]
    assert (log[-2]["data"]["to"], log[-1]["data"]["cause"]) == ("closed", "closed")

    # Results over HTTP as a supervisor: exactly the totals and the ranking computed by hand.
    status, answer = await http_results(room, room.created["supervisor"][1])
    assert status == 200
    assert answer["ok"] is True
    assert answer["seq"] == head
    results = answer["results"]
    assert results["complete"] is True
    totals = {b: Decimal(r["total"]) for b, r in results["bidders"].items() if r["total"]}
    assert totals == EXPECTED_TOTALS
    assert results["bidders"]["B4"]["rejected"] is True
    assert results["bidders"]["B4"]["total"] is None
    assert results["rejected"]["B4"]["ground"] == "unsigned_unsealed"
    ranking = [(r["bidder"], r["rank"], r["recommended"]) for r in results["ranking"]]
    assert ranking == EXPECTED_RANKING
    assert [r["bidder"] for r in results["ranking"] if r["recommended"]] == ["B1", "B2", "B5"]
    flags = answer["flags"]
    deviation = [f for f in flags if f["kind"] == "deviation" and f["seat"] == "host-1"]
    assert {"bidder": "B5", "criterion": "T1", "score": "2.5", "explained": True}.items() <= (
        deviation[0].items()
    )
    # the socket.io handler gives the same answer
    assert await sup.results() == answer

    # Experts see the results now (closed); the public screen never does, over HTTP or socket.io.
    assert (await seats["host-2"].results())["results"] == results
    assert await public.results() == {"ok": True, "seq": head, "results": None, "flags": None}
    status, public_answer = await http_results(room, room.created["public"])
    assert (status, public_answer["results"], public_answer["flags"]) == (200, None, None)

    # The public screen saw progress only: no score, comment, signature, vote or bidder name.
    assert_public_sees_no_scores_or_names(list(public.events.values()), names)
    assert_public_sees_no_scores_or_names(await public.state(), names)
    committee = {"chair.voted", "rejection.proposed", "rejection.voted", "flag.explained"}
    assert not committee & {e["type"] for e in public.events.values()}
