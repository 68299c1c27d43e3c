"""Enrolment and login over HTTP against a real server."""

from __future__ import annotations

import base64
import time
from typing import Any

import aiohttp

from server.app.tokens import MAX_CODE_ATTEMPTS
from server.auditlog.canonical import canonical_bytes
from server.client.seat import SeatClient
from tests.app.conftest import Room


async def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        return response.status, await response.json()


def wrong(code: str) -> str:
    return ("0" if code[0] != "0" else "1") + code[1:]


async def test_code_locks_after_too_many_wrong_tries(room: Room) -> None:
    seat = room.created["seats"][0]
    client = SeatClient(room.base, room.session, seat)
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][seat]
    body = {"seat": seat, "public_key": client.public_key_b64}
    for _ in range(MAX_CODE_ATTEMPTS):
        status, answer = await post(url, {**body, "code": wrong(code)})
        assert status == 403
        assert answer["error"]["code"] == "bad_enrolment_code"
    status, answer = await post(url, {**body, "code": code})
    assert status == 403, answer
    assert answer["error"]["code"] == "bad_enrolment_code"


async def test_unknown_seat_is_404(room: Room) -> None:
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][room.created["seats"][0]]
    status, answer = await post(url, {"seat": "nowhere-9", "code": code, "public_key": "x"})
    assert status == 404
    assert answer["error"]["code"] == "unknown_seat"


async def test_enrol_again_with_another_key_is_409(room: Room) -> None:
    seat = room.created["seats"][0]
    first = await room.seat(seat, connect=False)
    assert first.token
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    code = room.created["codes"][seat]
    other = SeatClient(room.base, room.session, seat)
    body = {"seat": seat, "code": code, "public_key": other.public_key_b64}
    status, answer = await post(url, body)
    assert status == 409, answer
    assert answer["error"]["code"] == "already_enrolled"


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
    status, answer = await post(url, bad)
    assert answer["error"]["code"] == "bad_signature", (status, answer)

    status, answer = await post(url, login_body())
    assert status == 200, answer
    client.token = answer["token"]
    await client.connect()
    assert client.last_seq >= 2
