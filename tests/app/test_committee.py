"""Committee commands over real socket.io (issue 4): chair election, the blind close, rejection of
a bid, time extension and flag explanations, with the typed error of every misuse; a refused
command stores nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from server.client.seat import Client, ClientError, SeatClient
from server.client.simulate import run_session
from tests.app.conftest import Room, advance, create_session, head_of, load_lot
from tests.app.harness import give_draw


async def refused(client: Client, sup: Client, envelope: dict[str, Any], code: str) -> None:
    """``envelope`` is refused with ``code`` and the log does not move."""
    before = await head_of(sup)
    with pytest.raises(ClientError) as caught:
        await client.command(envelope)
    assert caught.value.code == code, caught.value.error
    assert await head_of(sup) == before


async def signed_in(room: Room) -> tuple[Client, list[SeatClient]]:
    sup = await room.supervisor(0)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    await advance(sup, "sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    return sup, seats


async def elect(seats: list[SeatClient], chair: str) -> None:
    await asyncio.gather(*(seat.vote_chair(1, chair) for seat in seats))


async def scoring(room: Room) -> tuple[Client, list[SeatClient]]:
    sup, seats = await signed_in(room)
    await elect(seats, seats[0].seat)
    await advance(sup, "scoring")
    await give_draw(sup, seats)
    return sup, seats


async def score_blind(room: Room, seats: list[SeatClient], value: str = "3") -> None:
    blind = [cell for cell in room.lot.typed_cells() if cell[1].startswith("T")]

    async def sheet(seat: SeatClient) -> None:
        for bidder, criterion in blind:
            await seat.score(bidder, criterion, value)

    await asyncio.gather(*(sheet(seat) for seat in seats))


def events_of(client: Client, kind: str) -> list[dict[str, Any]]:
    return [e for e in client.events.values() if e["type"] == kind]


async def test_chair_election_misuse(room: Room) -> None:
    sup = await room.supervisor(0)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    a, b = seats[0], seats[1]
    public = room.client(room.created["public"])
    await public.connect()
    vote = a.signed("chair.vote", a.next_id(), round=1, candidate=b.seat)
    await refused(a, sup, vote, "wrong_phase")  # prepared: no committee yet
    await advance(sup, "sign_in")
    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=1, candidate=b.seat), "not_signed_in"
    )
    await asyncio.gather(*(seat.sign_in() for seat in seats))

    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=2, candidate=b.seat), "payload_mismatch"
    )
    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=1, candidate="host-9"), "unknown_seat"
    )
    envelope = a.signed("chair.vote", a.next_id(), round=1, candidate=b.seat)
    await refused(sup, sup, envelope, "forbidden")  # staff have no seat to vote from
    await refused(public, sup, envelope, "forbidden")
    first = await a.command(envelope)
    assert await a.command(dict(envelope)) == first  # a resend is the same ack, not a second vote
    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=1, candidate=a.seat), "already_voted"
    )

    # Round 1 splits 3/3/1 (no majority of 7), round 2 elects b with 4.
    firsts = [b.seat, a.seat, b.seat, a.seat, a.seat, seats[6].seat]
    await asyncio.gather(*(s.vote_chair(1, c) for s, c in zip(seats[1:], firsts, strict=True)))
    head = await head_of(sup)
    await sup.wait_for_seq(head)
    (ended,) = events_of(sup, "chair.round_ended")
    assert ended["data"] == {"round": 1, "tally": {a.seat: 3, b.seat: 3, seats[6].seat: 1}}
    assert ended["actor"] == "system"
    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=1, candidate=b.seat), "payload_mismatch"
    )
    seconds = [b.seat] * 4 + [a.seat] * 3
    await asyncio.gather(*(s.vote_chair(2, c) for s, c in zip(seats, seconds, strict=True)))
    await sup.wait_for_seq(await head_of(sup))
    (elected,) = events_of(sup, "chair.elected")
    assert elected["data"]["seat"] == b.seat
    assert (await sup.state())["committee"]["chair"] == b.seat
    await refused(
        a, sup, a.signed("chair.vote", a.next_id(), round=3, candidate=a.seat), "chair_elected"
    )

    # another seat's votes stay hidden from an expert until review; the public screen sees none
    await a.wait_for_seq(await head_of(sup))
    votes = [e for e in a.events.values() if e["type"] == "chair.voted"]
    assert votes
    assert {e["data"]["seat"] for e in votes} == {a.seat}
    assert not events_of(public, "chair.voted")
    assert not events_of(public, "chair.elected")


async def test_blind_close_misuse(room: Room) -> None:
    sup, seats = await signed_in(room)
    chair, other = seats[0], seats[1]
    await elect(seats, chair.seat)
    await refused(chair, sup, chair.signed("blind.close", chair.next_id()), "wrong_phase")
    await advance(sup, "scoring")
    await give_draw(sup, seats)
    auditor = room.client(room.created["auditor"])
    await auditor.connect()
    public = room.client(room.created["public"])
    await public.connect()

    await refused(other, sup, other.signed("blind.close", other.next_id()), "not_chair")
    await refused(chair, sup, chair.signed("blind.close", chair.next_id()), "phase_not_ready")
    await refused(sup, sup, {"id": "close-1", "type": "blind.close"}, "phase_not_ready")
    await refused(auditor, sup, {"id": "close-2", "type": "blind.close"}, "forbidden")
    await refused(public, sup, {"id": "close-3", "type": "blind.close"}, "forbidden")
    # a bidder id on a blind cell, and a code of another seat, are refused
    await refused(
        chair,
        sup,
        chair.signed("score.set", chair.next_id(), bidder="B1", criterion="T1", value="3"),
        "blind_code_required",
    )
    foreign = next(c for c in other.codes if c not in chair.codes)
    await refused(
        chair,
        sup,
        chair.signed("score.set", chair.next_id(), code=foreign, criterion="T1", value="3"),
        "unknown_bidder",
    )

    await score_blind(room, seats)
    ack = await chair.close_blind()
    head = await head_of(sup)
    assert ack["seq"] == head
    await sup.wait_for_seq(head)
    (revealed,) = events_of(sup, "blind.revealed")
    assert revealed["actor"] == f"expert:{chair.seat}"
    await refused(chair, sup, chair.signed("blind.close", chair.next_id()), "blind_closed")
    await refused(sup, sup, {"id": "close-4", "type": "blind.close"}, "blind_closed")
    code = chair.codes[0]
    await refused(
        chair,
        sup,
        chair.signed("score.set", chair.next_id(), code=code, criterion="T1", value="4"),
        "blind_closed",
    )
    await refused(
        chair,
        sup,
        chair.signed("score.set", chair.next_id(), bidder="B1", criterion="T1", value="4"),
        "blind_closed",
    )
    # the seats learn which bidder each of their codes was from the reveal
    await chair.wait_for_seq(head)
    assert chair.revealed
    assert chair.bidder_of == dict(revealed["data"]["seats"][chair.seat])


async def test_blind_close_without_a_draw(server: str) -> None:
    lot = load_lot()
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    room = Room(server, await create_session(server, lot), lot)
    try:
        sup, seats = await signed_in(room)
        await advance(sup, "scoring")
        await refused(sup, sup, {"id": "close-1", "type": "blind.close"}, "blind_not_assigned")
        assert (await sup.state())["blind"] is None
        # with no blind criteria every cell is named by bidder
        ack = await seats[0].score("B1", "T1", "5")
        assert ack["ok"] is True
    finally:
        await room.close()


async def test_rejection_misuse(room: Room) -> None:
    sup, seats = await signed_in(room)
    a, b = seats[0], seats[1]
    auditor = room.client(room.created["auditor"])
    await auditor.connect()

    def propose(seat: SeatClient, **fields: Any) -> dict[str, Any]:
        body = {"bidder": "B4", "ground": "unsigned_unsealed", "reason": "未签字", **fields}
        return seat.signed("rejection.propose", seat.next_id(), **body)

    await refused(a, sup, propose(a, bidder="B9"), "unknown_bidder")
    await refused(a, sup, propose(a, ground="too_expensive"), "unknown_ground")
    await refused(a, sup, propose(a, reason="  "), "reason_required")
    await a.propose_rejection("B4", "unsigned_unsealed", "投标保证金凭证未经法定代表人签字")
    await refused(b, sup, propose(b), "already_requested")
    vote = b.signed("rejection.vote", b.next_id(), proposal="R1", vote="yes")
    await refused(b, sup, vote, "not_approved")

    approve = {"id": "approve-1", "type": "rejection.approve", "proposal": "R1"}
    await refused(a, sup, approve, "forbidden")  # a member does not approve
    await refused(auditor, sup, approve, "forbidden")
    await refused(sup, sup, {**approve, "proposal": "R9"}, "unknown_proposal")
    decline = {"id": "decline-1", "type": "rejection.decline", "proposal": "R1"}
    await refused(sup, sup, decline, "reason_required")
    await sup.command(approve)
    await refused(sup, sup, {**approve, "id": "approve-2"}, "proposal_closed")

    await refused(
        b, sup, b.signed("rejection.vote", b.next_id(), proposal="R1", vote="maybe"), "malformed"
    )
    await refused(
        b,
        sup,
        b.signed("rejection.vote", b.next_id(), proposal="R7", vote="yes"),
        "unknown_proposal",
    )
    await b.vote_rejection("R1", "yes")
    await refused(
        b, sup, b.signed("rejection.vote", b.next_id(), proposal="R1", vote="no"), "already_voted"
    )
    votes = ["yes", "yes", "no", "no", "no"]  # 3 yes of 7: not a majority of the members
    await asyncio.gather(
        *(s.vote_rejection("R1", v) for s, v in zip(seats[2:], votes, strict=True))
    )
    # a's missing vote keeps it open: every member votes before a decision
    head = await head_of(sup)
    await sup.wait_for_seq(head)
    assert not events_of(sup, "rejection.decided")
    await a.vote_rejection("R1", "no")
    await sup.wait_for_seq(await head_of(sup))
    (decided,) = events_of(sup, "rejection.decided")
    assert decided["data"] == {
        "proposal": "R1",
        "bidder": "B4",
        "ground": "unsigned_unsealed",
        "outcome": "kept",
        "yes": 3,
        "no": 4,
    }

    # declined with a reason: no vote on it
    await a.propose_rejection("B3", "not_responsive", "工期不满足")
    await sup.command({**decline, "id": "decline-2", "proposal": "R2", "reason": "材料齐全"})
    await refused(
        b, sup, b.signed("rejection.vote", b.next_id(), proposal="R2", vote="yes"), "not_approved"
    )
    # a bid the committee rejected cannot be proposed again
    await b.propose_rejection("B5", "collusion_or_fraud", "与B2报价雷同")
    await sup.command({**approve, "id": "approve-3", "proposal": "R3"})
    await asyncio.gather(*(s.vote_rejection("R3", "yes") for s in seats))
    await refused(a, sup, propose(a, bidder="B5"), "already_rejected")
    com = (await sup.state())["committee"]
    assert {p: v["status"] for p, v in com["proposals"].items()} == {
        "R1": "kept",
        "R2": "declined",
        "R3": "rejected",
    }


async def test_time_request_and_flag_explanation_misuse(room: Room) -> None:
    sup, seats = await scoring(room)
    a = seats[0]
    await refused(a, sup, a.signed("time.request", a.next_id(), reason=""), "reason_required")
    await a.request_time("技术标内容多")
    await refused(a, sup, a.signed("time.request", a.next_id()), "already_requested")
    await seats[1].request_time()
    assert not events_of(sup, "time.extended")
    await seats[2].request_time()  # 3 of 7: more than a third
    await sup.wait_for_seq(await head_of(sup))
    (extended,) = events_of(sup, "time.extended")
    assert extended["data"] == {"round": 1, "requests": 3, "members": 7}
    assert extended["actor"] == "system"

    # explanations: only of a flagged score, with text, by code while the blind part is open
    await score_blind(room, seats[1:], "4")
    await a.score("B1", "T1", "1")  # far from the committee mean (about 3.6)
    explain = a.signed("flag.explain", a.next_id(), bidder="B1", criterion="T1", text="理由")
    await refused(a, sup, explain, "blind_code_required")
    await refused(
        a,
        sup,
        a.signed(
            "flag.explain", a.next_id(), **(await a.target("B1", "T1")), criterion="T1", text=" "
        ),
        "reason_required",
    )
    await a.score("B2", "T1", "4")
    await refused(
        a,
        sup,
        a.signed(
            "flag.explain", a.next_id(), **(await a.target("B2", "T1")), criterion="T1", text="理由"
        ),
        "not_flagged",
    )
    flags = (await a.results())["flags"]
    (mine,) = [f for f in flags if f["seat"] == a.seat and f["criterion"] == "T1"]
    assert mine["bidder"] is None  # named by a's code before the reveal
    assert mine["code"] == (await a.target("B1", "T1"))["code"]
    ack = await a.explain("B1", "T1", "施工方案缺少关键措施")
    assert ack["ok"] is True
    flags = (await sup.results())["flags"]
    (flag,) = [f for f in flags if f["seat"] == a.seat and f["criterion"] == "T1"]
    assert (flag["bidder"], flag["score"], flag["explained"]) == ("B1", "1", True)


async def test_results_over_http_are_filtered_by_role(room: Room) -> None:
    sup, seats = await scoring(room)
    url = f"{room.base}/api/sessions/{room.session}/results"

    async def get(token: str | None, path: str = url) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as http, http.get(path, headers=headers) as response:
            return response.status, await response.json()

    status, answer = await get(room.created["supervisor"][0])
    assert status == 200
    assert answer == await sup.results()
    assert answer["results"]["complete"] is False
    status, answer = await get(seats[0].token)
    assert (status, answer["results"]) == (200, None)  # experts: from review on
    assert answer["flags"] == []
    status, answer = await get(room.created["public"])
    assert (status, answer["results"], answer["flags"]) == (200, None, None)
    status, answer = await get(None)
    assert (status, answer["error"]["code"]) == (401, "unauthenticated")
    other = await create_session(room.base, load_lot())
    status, answer = await get(other["auditor"])
    assert (status, answer["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("elect_chair", [True, False])
async def test_simulation_closes_the_blind_part(room: Room, elect_chair: bool) -> None:
    summary = await run_session(room.base, room.created, room.lot_json, elect_chair=elect_chair)
    auditor = room.client(room.created["auditor"])
    await auditor.connect()
    assert auditor.last_seq == summary["head"]
    log = list(auditor.events.values())
    (revealed,) = [e for e in log if e["type"] == "blind.revealed"]
    elected = [e["data"]["seat"] for e in log if e["type"] == "chair.elected"]
    if elect_chair:  # the chair closes it, signed
        assert revealed["actor"] == f"expert:{elected[0]}"
    else:
        assert elected == []
        assert revealed["actor"].startswith("supervisor:")
    blind = [e for e in log if e["type"] == "score.set" and e["data"]["criterion"].startswith("T")]
    assert len(blind) == 7 * 5 * 5
    assert all("code" in e["data"] and e["seq"] < revealed["seq"] for e in blind)
    assert (await auditor.state())["phase"] == "closed"


async def test_the_draw_is_made_once_and_a_resent_advance_keeps_it(room: Room) -> None:
    sup, seats = await signed_in(room)
    envelope = {"id": "go-scoring", "type": "phase.advance", "to": "scoring"}
    first = await sup.command(envelope)
    assert first["count"] == 2  # phase.changed and blind.assigned, one transaction
    draw = await give_draw(sup, seats)
    assert await sup.command(dict(envelope)) == first  # the stored ack: no second draw
    other = await room.supervisor(1)
    await refused(other, sup, {**envelope, "id": "go-again"}, "wrong_phase")
    await sup.wait_for_seq(await head_of(sup))
    assert len(events_of(sup, "blind.assigned")) == 1
    assert (await sup.state())["blind"]["seats"] == draw["seats"]
    for seat in seats:  # each seat holds its own codes, all different, no bidder ids among them
        view = await seat.state()
        assert view["blind"]["seats"] == {
            seat.seat: [[c, None] for c, _ in draw["seats"][seat.seat]]
        }
        assert not set(seat.codes) & {"B1", "B2", "B3", "B4", "B5"}
    assert len({tuple(s.codes) for s in seats}) == len(seats)
