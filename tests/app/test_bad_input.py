"""Refused commands: the right typed error code, and nothing stored."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import socketio

from server.client.seat import Client, ClientError, SeatClient
from server.domain.commands import PLEDGE_ID
from tests.app.conftest import Room, advance, flip_sig, head_of


def sign_text(
    seat: SeatClient, text: str, command_id: str, kind: str = "score.set"
) -> dict[str, Any]:
    """An envelope whose signed text is exactly ``text``, signed with the seat's key."""
    sig = base64.b64encode(seat.key.sign(text.encode("utf-8"))).decode()
    return {"id": command_id, "type": kind, "signed": text, "sig": sig}


def cell(client: SeatClient, criterion: str = "T1") -> dict[str, Any]:
    """How the seat names its first bidder on ``criterion``: its own code while T1..T5 are blind."""
    if client.codes and criterion in client.blind_criteria:
        return {"code": client.codes[0]}
    return {"bidder": "B1"}


def payload(client: SeatClient, command_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "score.set",
        "session": client.session,
        "seat": client.seat,
        "cmd": command_id,
        "t": int(time.time() * 1000),
        **cell(client),
        "criterion": "T1",
        "value": "5",
        **fields,
    }


def compact(obj: dict[str, Any], **kwargs: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), **kwargs)


async def expect_refused(
    client: Client, sup: Client, envelope: dict[str, Any], code: str
) -> dict[str, Any]:
    before = await head_of(sup)
    with pytest.raises(ClientError) as caught:
        await client.command(envelope)
    assert caught.value.code == code, caught.value.error
    assert await head_of(sup) == before
    return caught.value.error


async def scoring_room(room: Room) -> tuple[Client, SeatClient, SeatClient]:
    sup = await room.supervisor(0)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    await advance(sup, "sign_in")
    for seat in seats:
        await seat.sign_in()
    await advance(sup, "scoring")
    for seat in seats[:2]:
        await seat.state()  # the seat's blind codes (the server drew them with the move to scoring)
    assert seats[0].codes
    return sup, seats[0], seats[1]


def _missing_sig(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    env = a.signed("score.set", a.next_id(), **cell(a), criterion="T1", value="5")
    return {**env, "sig": None}


def _flipped_sig(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    env = a.signed("score.set", a.next_id(), **cell(a), criterion="T1", value="5")
    return {**env, "sig": flip_sig(env["sig"])}


def _other_session(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    cid = a.next_id()
    return sign_text(a, compact(payload(a, cid, session="S-other")), cid)


def _other_seat(a: SeatClient, b: SeatClient) -> dict[str, Any]:
    cid = a.next_id()
    return sign_text(a, compact(payload(a, cid, seat=b.seat)), cid)


def _id_differs(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    env = a.signed("score.set", a.next_id(), **cell(a), criterion="T1", value="5")
    return {**env, "id": a.next_id()}


def _score(**fields: Any) -> Callable[[SeatClient, SeatClient], dict[str, Any]]:
    def build(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
        named = cell(a, str(fields.get("criterion", "T1")))
        if "bidder" in fields or "code" in fields:
            named = {}
        values = {**named, "criterion": "T1", "value": "5", **fields}
        return a.signed("score.set", a.next_id(), **values)

    return build


def _spaces(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    cid = a.next_id()
    text = json.dumps(payload(a, cid), sort_keys=True, ensure_ascii=False)
    assert " " in text
    return sign_text(a, text, cid)


def _float_value(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    cid = a.next_id()
    return sign_text(a, compact(payload(a, cid, value=7.5)), cid)


def _envelope_kind_differs(a: SeatClient, _b: SeatClient) -> dict[str, Any]:
    env = a.signed("sheet.submit", a.next_id())
    return {**env, "type": "score.set"}


CASES: list[tuple[str, Callable[[SeatClient, SeatClient], dict[str, Any]], str]] = [
    ("missing signature", _missing_sig, "bad_signature"),
    ("flipped signature", _flipped_sig, "bad_signature"),
    ("another session", _other_session, "payload_mismatch"),
    ("another seat, own key", _other_seat, "payload_mismatch"),
    ("envelope id differs", _id_differs, "payload_mismatch"),
    ("envelope type differs", _envelope_kind_differs, "payload_mismatch"),
    ("out of range", _score(value="11"), "out_of_range"),
    ("over T2 max", _score(criterion="T2", value="6.5"), "out_of_range"),
    ("off step", _score(value="7.3"), "off_step"),
    ("unknown bidder", _score(bidder="B9", criterion="C1"), "unknown_bidder"),
    ("not one of the seat's codes", _score(code="ZZZZ"), "unknown_bidder"),
    ("a bidder id on a blind criterion", _score(bidder="B1"), "blind_code_required"),
    ("a code on a criterion that is not blind", _score(code="ZZZZ", criterion="C1"), "malformed"),
    ("unknown criterion", _score(criterion="T9"), "unknown_criterion"),
    ("credit criterion", _score(criterion="C3"), "not_scorable"),
    ("price criterion", _score(criterion="P1"), "not_scorable"),
    ("non-canonical JSON", _spaces, "malformed"),
    ("oversized signed", _score(comment="x" * 5000), "too_large"),
    ("comment over 2000", _score(comment="x" * 2500), "malformed"),
    ("float value", _float_value, "malformed"),
    ("value with exponent", _score(value="7e0"), "malformed"),
]


async def test_bad_score_commands_are_refused_with_typed_codes(room: Room) -> None:
    sup, a, b = await scoring_room(room)
    seen = []
    for name, build, code in CASES:
        error = await expect_refused(a, sup, build(a, b), code)
        seen.append((name, error["code"]))
    assert [c for _, c in seen] == [c for _, _, c in CASES]
    # the seat still works after all of that, and only that score is stored
    ack = await a.score(a.codes[0], "T1", "5")
    assert ack["seq"] == await head_of(sup)
    state = await sup.sio.call("state", {}, timeout=30)
    bidder = dict(state["state"]["blind"]["seats"][a.seat])[a.codes[0]]  # supervisors see it
    assert state["state"]["cells"][a.seat] == {f"{bidder}/T1": {"seq": ack["seq"], "value": "5"}}
    assert state["state"]["cells"][b.seat] == {}


async def test_another_seats_envelope_does_not_verify(room: Room) -> None:
    sup, a, b = await scoring_room(room)
    stolen = b.signed("score.set", b.next_id(), **cell(b), criterion="T1", value="5")
    await expect_refused(a, sup, stolen, "bad_signature")


async def test_score_in_the_wrong_phase(room: Room) -> None:
    sup = await room.supervisor(0)
    a = await room.seat(room.created["seats"][0])
    await advance(sup, "sign_in")
    await expect_refused(a, sup, _score()(a, a), "wrong_phase")
    await a.sign_in()
    await expect_refused(a, sup, _score()(a, a), "wrong_phase")
    with pytest.raises(ClientError) as caught:
        await a.sign_in()
    assert caught.value.code == "already_signed_in"


async def test_wrong_enrolment_code_is_403(room: Room) -> None:
    seat = room.created["seats"][0]
    client = SeatClient(room.base, room.session, seat)
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][seat]
    wrong = ("0" if code[0] != "0" else "1") + code[1:]
    body = {"seat": seat, "code": wrong, "public_key": client.public_key_b64}
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        assert response.status == 403
        answer = await response.json()
    assert answer["error"]["code"] == "bad_enrolment_code"
    assert client.token is None
    # the right code still works afterwards
    await client.enrol(code)
    assert client.token


async def test_socket_connect_with_a_bad_token_is_refused(room: Room) -> None:
    for token in ("not-a-token", room.created["public"] + "x", None):
        client = room.client(token)  # type: ignore[arg-type]
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect()
        assert not client.sio.connected


async def test_public_screen_and_supervisor_cannot_score(room: Room) -> None:
    sup, a, _b = await scoring_room(room)
    public = room.client(room.created["public"])
    await public.connect()
    envelope = a.signed("score.set", a.next_id(), **cell(a), criterion="T1", value="5")
    await expect_refused(public, sup, envelope, "forbidden")
    await expect_refused(sup, sup, dict(envelope), "forbidden")
    sign_in = a.signed("expert.sign_in", a.next_id(), pledge=PLEDGE_ID)
    await expect_refused(public, sup, sign_in, "forbidden")
    await expect_refused(
        public, sup, {"id": "p-1", "type": "phase.advance", "to": "review"}, "forbidden"
    )
    # the envelope itself was fine: the seat may send it
    ack = await a.command(envelope)
    assert ack["seq"] == await head_of(sup)
