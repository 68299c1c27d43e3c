"""Every bad input gets a typed error, never a hang, a 500 or a failed batch (issue 10, item 5).

A real server on loopback, on SQLite and on PostgreSQL (where NUL in text is what the database
itself refuses), with real HTTP and socket.io clients sending what a careless or hostile client
could: integers past 64 bits, lone surrogates, NUL, deep nesting, bodies that are not JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.client.seat import Client, ClientError
from tests.app.conftest import ADMIN, Room, head_of, load_lot, running_node
from tests.app.test_bad_input import cell, scoring_room

BIG = 2**63  # one past the largest signed 64-bit integer
HUNDRED_DIGITS = int("9" * 100)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_room(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Room]:
    """A created demo session on a real server over SQLite, then over PostgreSQL."""
    env = {}
    if request.param == "postgres":
        env["EVALROOM_DATABASE_URL"] = request.getfixturevalue("pg_url")
    async with running_node(tmp_path, env) as base:
        room = Room(base, await _created(base), load_lot())
        try:
            yield room
        finally:
            await room.close()


async def _created(base: str) -> dict[str, Any]:
    status, answer = await http(base, "POST", "/api/sessions", json_body=load_lot(), token=ADMIN)
    assert status == 201, answer
    return answer


async def http(
    base: str,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    token: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """Status and JSON answer of one request (``data`` is sent as it is)."""
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        data = json.dumps(json_body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, data=data, headers=headers) as response,
    ):
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()


def refused(answer: tuple[int, dict[str, Any]], code: str, status: int = 400) -> None:
    assert answer[1]["ok"] is False, answer
    assert answer[1]["error"]["code"] == code, answer
    assert answer[0] == status, answer


async def call(client: Client, event: str, data: Any) -> dict[str, Any]:
    """A socket.io call that must be answered (a hang fails the test in 10 s)."""
    answer: dict[str, Any] = await client.sio.call(event, data, timeout=10)
    return answer


async def test_http_integers_out_of_range_are_malformed(db_room: Room) -> None:
    base, s = db_room.base, db_room.session
    sup = db_room.created["supervisor"][0]
    events = f"/api/sessions/{s}/events?after="
    for after in (str(BIG), str(HUNDRED_DIGITS), "+5", " 5", "1_0", "٥", "-1", "1e3", ""):
        refused(await http(base, "GET", events + after, token=sup), "malformed")
    status, answer = await http(base, "GET", events + str(BIG - 1), token=sup)
    assert status == 200
    assert answer["events"] == []
    for path in (
        f"/api/sessions/{s}/checkpoints?after={BIG}",
        f"/api/sessions/{s}/proof/inclusion?seq={HUNDRED_DIGITS}",
        f"/api/sessions/{s}/proof/consistency?from=1&to={BIG}",
    ):
        refused(await http(base, "GET", path), "malformed")
    line = {"line": "— witness x"}
    refused(
        await http(
            base, "POST", f"/api/sessions/{s}/checkpoints/{BIG}/cosignatures", json_body=line
        ),
        "malformed",
    )


async def test_http_text_with_nul_or_lone_surrogates_is_malformed(db_room: Room) -> None:
    base, s = db_room.base, db_room.session
    seat = db_room.created["seats"][0]
    for body in (
        {"seat": seat + "\x00", "code": "1", "public_key": "x"},
        {"seat": seat, "code": "\x00", "public_key": "x"},
        {"seat": "\ud800", "code": "1", "public_key": "x"},
        {"seat": seat, "code": "1", "public_key": "x", "\udfff": 1},
    ):
        refused(await http(base, "POST", f"/api/sessions/{s}/enrol", json_body=body), "malformed")
    # the same in the path and the query, before any handler reads them
    body = {"seat": seat, "code": "1", "public_key": "x"}
    refused(await http(base, "POST", "/api/sessions/s%00x/enrol", json_body=body), "malformed")
    refused(await http(base, "GET", f"/api/sessions/{s}/checkpoints?after=1%00"), "malformed")


async def test_http_bodies_that_are_not_bounded_json(db_room: Room) -> None:
    base, s = db_room.base, db_room.session
    enrol = f"/api/sessions/{s}/enrol"
    for data in (b"not json", b"{", b"\xff\xfe{}", b'{"seat": 1e}', b"[1, 2", b""):
        refused(await http(base, "POST", enrol, data=data), "malformed")
    refused(
        await http(base, "POST", enrol, data=b"{}", content_type="application/json; charset=nope"),
        "malformed",
    )
    refused(await http(base, "POST", enrol, data=b"[" * 100_000 + b"]" * 100_000), "too_large", 413)
    refused(await http(base, "POST", enrol, data=b"[" * 40 + b"]" * 40), "too_large", 413)
    refused(await http(base, "POST", enrol, data=b'{"seat": 1' + b"0" * 5000 + b"}"), "malformed")
    refused(await http(base, "POST", enrol, data=b'{"seat": NaN}'), "malformed")
    refused(await http(base, "POST", enrol, data=b'{"seat": 1e400}'), "malformed")
    lot = {**load_lot(), "about": HUNDRED_DIGITS}
    refused(await http(base, "POST", "/api/sessions", json_body=lot, token=ADMIN), "malformed")


async def test_socket_reads_with_out_of_range_integers_are_answered(db_room: Room) -> None:
    sup = await db_room.supervisor(0)
    for after in (BIG, HUNDRED_DIGITS, -1, 1.5, "3", None, True):
        answer = await call(sup, "sync", {"after": after})
        assert answer["ok"] is False, (after, answer)
        assert answer["error"]["code"] == "malformed", (after, answer)
    answer = await call(sup, "sync", {"after": BIG - 1})
    assert answer["ok"] is True
    assert answer["events"] == []
    # the audit trail's socket reads take the same bound (the database holds 64-bit integers)
    for proof in (
        {"kind": "inclusion", "seq": BIG},
        {"kind": "inclusion", "seq": 1, "size": HUNDRED_DIGITS},
        {"kind": "consistency", "from": 1, "to": BIG},
    ):
        answer = await call(sup, "proof", proof)
        assert answer["error"]["code"] == "malformed", (proof, answer)
    # the connection still works
    assert await head_of(sup) >= 1


async def expect_code(client: Client, envelope: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as caught:
        await client.command(envelope, seconds=10)
    assert caught.value.code == code, caught.value.error


async def test_socket_commands_with_unbounded_values_are_refused(db_room: Room) -> None:
    sup, a, _b = await scoring_room(db_room)
    before = await head_of(sup)
    nested: Any = "review"
    for _ in range(40):
        nested = [nested]
    bad: list[tuple[dict[str, Any], str]] = [
        (
            {"id": "d-1", "type": "rejection.decline", "proposal": "R1", "reason": "\ud800"},
            "malformed",
        ),
        (
            {"id": "d-2", "type": "rejection.decline", "proposal": "R1", "reason": "a\x00b"},
            "malformed",
        ),
        (
            {"id": "d-3", "type": "rejection.decline", "proposal": "R1", "reason": 2**64},
            "malformed",
        ),
        ({"id": "d-4", "type": "phase.advance", "to": nested}, "too_large"),
        ({"id": "d-5", "type": "phase.advance", "to": "review", "\ud800": 1}, "malformed"),
    ]
    for envelope, code in bad:
        await expect_code(sup, envelope, code)
    signed = a.signed("score.set", a.next_id(), **cell(a), criterion="T1", value="5")
    await expect_code(a, {**signed, "sig": "\udc00"}, "malformed")
    assert await head_of(sup) == before


async def test_a_bad_staff_command_does_not_fail_the_scores_sent_with_it(db_room: Room) -> None:
    """The supervisor's bad reason arrives with a burst of scores; only it is refused.

    It is refused at the boundary, before any batch (tests/store/test_command_isolation.py shows
    a command that fails inside the batch failing alone too)."""
    sup, a, b = await scoring_room(db_room)
    before = await head_of(sup)
    bad = {"id": "bad-1", "type": "rejection.decline", "proposal": "R1", "reason": "\ud800x"}
    scores = [
        seat.signed("score.set", seat.next_id(), **cell(seat), criterion="T1", value=value)
        for seat, value in ((a, "5"), (b, "6"))
    ]
    results = await asyncio.gather(
        a.command(scores[0]), sup.command(bad), b.command(scores[1]), return_exceptions=True
    )
    assert isinstance(results[1], ClientError)
    assert results[1].code == "malformed"
    acks = [r for r in (results[0], results[2]) if isinstance(r, dict)]
    assert sorted(ack["seq"] for ack in acks) == [before + 1, before + 2]


async def test_a_reused_command_id_with_other_content_is_refused(db_room: Room) -> None:
    sup, a, _b = await scoring_room(db_room)
    command_id = a.next_id()
    first = a.signed("score.set", command_id, **cell(a), criterion="T1", value="5")
    ack = await a.command(first)
    assert await a.command(dict(first)) == ack  # the same content: the same ack
    other = a.signed("score.set", command_id, **cell(a), criterion="T1", value="6")
    await expect_code(a, other, "id_reused")
    assert await head_of(sup) == ack["seq"]
