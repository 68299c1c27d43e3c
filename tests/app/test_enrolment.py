"""Enrolment and login over HTTP against a real server."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp

from server.auditlog.canonical import canonical_bytes
from server.client.seat import SeatClient
from tests.app.conftest import Room


async def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        return response.status, await response.json()


def wrong(code: str) -> str:
    return ("0" if code[0] != "0" else "1") + code[1:]


REFUSED = {
    "code": "bad_enrolment_code",
    "message": "enrolment refused: the code is wrong, used already, or not for this seat",
}


async def post_from(
    source: str, url: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST from another loopback address (another source, as a second venue would be)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(url, json=body) as response,
    ):
        return response.status, await response.json(), dict(response.headers)


async def test_every_refused_enrolment_looks_the_same(room: Room) -> None:
    """Wrong code, unknown seat, unknown session, a used code: one answer, nothing learnt."""
    seat, other = room.created["seats"][:2]
    await room.seat(other, connect=False)  # enrolled: its code is used
    key = SeatClient(room.base, room.session, seat).public_key_b64
    base = f"{room.base}/api/sessions"
    code = room.created["codes"][seat]
    tries = [
        (f"{base}/{room.session}/enrol", {"seat": seat, "code": wrong(code)}),
        (f"{base}/{room.session}/enrol", {"seat": "nowhere-9", "code": code}),
        (f"{base}/s-000000000000/enrol", {"seat": seat, "code": code}),
        (f"{base}/{room.session}/enrol", {"seat": other, "code": room.created["codes"][other]}),
    ]
    for n, (url, body) in enumerate(tries):  # each from its own address: no back-off yet
        status, answer, _ = await post_from(f"127.0.0.{10 + n}", url, {**body, "public_key": key})
        assert (status, answer) == (403, {"ok": False, "error": REFUSED}), (url, body)


async def test_a_code_works_once(room: Room) -> None:
    """After enrolment, the code and even the enrolled public key yield no token."""
    seat = room.created["seats"][0]
    client = await room.seat(seat, connect=False)
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    body = {"seat": seat, "code": room.created["codes"][seat], "public_key": client.public_key_b64}
    status, answer = await post(url, body)
    assert (status, answer) == (403, {"ok": False, "error": REFUSED})
    other = SeatClient(room.base, room.session, seat)
    status, answer = await post(url, {**body, "public_key": other.public_key_b64})
    assert (status, answer) == (403, {"ok": False, "error": REFUSED})


async def test_wrong_codes_slow_their_source_but_never_lock_the_seat(room: Room) -> None:
    seat = room.created["seats"][0]
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][seat]
    key = SeatClient(room.base, room.session, seat).public_key_b64
    attacker = {"seat": seat, "code": wrong(code), "public_key": key}
    for _ in range(3):  # free tries, then the attacker's address waits
        status, answer, _ = await post_from("127.0.0.66", url, attacker)
        assert status == 403, answer
    status, answer, headers = await post_from("127.0.0.66", url, {**attacker, "code": code})
    assert status == 429, answer
    assert answer["error"]["code"] == "too_many_attempts"
    assert 0 < answer["error"]["details"]["retry_after_ms"] <= 1_000
    assert headers["Retry-After"] == "1"
    # the expert at another address enrols at once with the right code
    honest = SeatClient(room.base, room.session, seat)
    status, answer, _ = await post_from(
        "127.0.0.7", url, {"seat": seat, "code": code, "public_key": honest.public_key_b64}
    )
    assert status == 200, answer
    assert answer["token"]


async def test_a_supervisor_clears_a_seats_back_off_and_the_reset_is_logged(room: Room) -> None:
    seat = room.created["seats"][1]
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][seat]
    client = SeatClient(room.base, room.session, seat)
    body = {"seat": seat, "code": wrong(code), "public_key": client.public_key_b64}
    for _ in range(3):
        await post_from("127.0.0.9", url, body)
    status, _, _ = await post_from("127.0.0.9", url, {**body, "code": code})
    assert status == 429
    supervisor = await room.supervisor(0)
    ack = await supervisor.command({"id": "reset-1", "type": "enrolment.reset", "seat": seat})
    assert ack["ok"], ack
    events = (await supervisor.sio.call("sync", {"after": 0}, timeout=30))["events"]
    reset = [e for e in events if e["type"] == "enrolment.reset"]
    assert [(e["actor"], e["data"]) for e in reset] == [("supervisor:sup-1", {"seat": seat})]
    status, answer, _ = await post_from("127.0.0.9", url, {**body, "code": code})
    assert status == 200, answer


async def test_login_with_the_seat_key_gives_a_working_token(room: Room) -> None:
    seat = room.created["seats"][0]
    client = await room.seat(seat, connect=False)
    url = f"{room.base}/api/sessions/{room.session}/login"

    def login_body(**fields: Any) -> dict[str, Any]:
        payload = {
            "type": "seat.login",
            "session": room.session,
            "seat": seat,
            "t": int(time.time() * 1000),
            **fields,
        }
        raw = canonical_bytes(payload)
        sig = base64.b64encode(client.key.sign(raw)).decode()
        return {"seat": seat, "signed": raw.decode(), "sig": sig}

    status, answer = await post(url, login_body(t=int(time.time() * 1000) - 3_600_000))
    assert answer["error"]["code"] == "payload_mismatch", (status, answer)
    status, answer = await post(url, login_body(session="s-other"))
    assert answer["error"]["code"] == "payload_mismatch", (status, answer)
    stolen = SeatClient(room.base, room.session, seat)
    bad = login_body()
    bad["sig"] = base64.b64encode(stolen.key.sign(bad["signed"].encode())).decode()
    status, refused = await post(url, bad)
    assert (status, refused["error"]["code"]) == (401, "unauthenticated")

    good = login_body()
    status, answer = await post(url, good)
    assert status == 200, answer
    client.token = answer["token"]
    await client.connect()
    assert client.last_seq >= 2
    # a captured login is worth nothing: the same bytes again, and an older time, are refused
    assert await post(url, good) == (401, refused)
    assert await post(url, login_body(t=good_t(good) - 1)) == (401, refused)
    status, answer = await post(url, login_body(t=good_t(good) + 1))
    assert status == 200, answer


def good_t(body: dict[str, Any]) -> int:
    t: int = json.loads(body["signed"])["t"]
    return t


async def test_every_refused_login_looks_the_same(room: Room) -> None:
    """Unknown seat, a seat with no key, a bad signature: one answer."""
    enrolled, bare = room.created["seats"][:2]
    client = await room.seat(enrolled, connect=False)
    url = f"{room.base}/api/sessions/{room.session}/login"
    answers = []
    for seat, session in ((enrolled, room.session), (bare, room.session), ("x-9", room.session)):
        payload = {"type": "seat.login", "session": session, "seat": seat}
        raw = canonical_bytes({**payload, "t": int(time.time() * 1000)})
        signer = client.key if seat != enrolled else SeatClient(room.base, session, seat).key
        body = {
            "seat": seat,
            "signed": raw.decode(),
            "sig": base64.b64encode(signer.sign(raw)).decode(),
        }
        answers.append(await post(url, body))
    other = f"{room.base}/api/sessions/s-000000000000/login"
    raw = canonical_bytes(
        {"type": "seat.login", "session": "s-000000000000", "seat": enrolled, "t": 1}
    )
    answers.append(await post(other, {"seat": enrolled, "signed": raw.decode(), "sig": "AA=="}))
    assert answers[0][0] == 401
    assert answers[0][1]["error"]["code"] == "unauthenticated"
    assert all(a == answers[0] for a in answers), answers
