"""The expert draw (专家抽取) through a real node: the admin opens it over a kept pool, every venue
and a supervisor commit and then reveal a share over socket.io, the node makes the draw by
itself; the admin's notice names the committee, the public screen never does; the session
leaves ``prepared`` only then; the archive carries the pool and ``verify`` recomputes the draw.
A node that stopped before it made the draw makes it on the admin's ``draw/make`` after a
restart."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import stat
import zipfile
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app.draw_desk import DrawDesk
from server.auditlog.archive import verify_archive
from server.auditlog.canonical import canonical_bytes
from server.client.expert_pool import sample_pool, sample_rules
from server.client.seat import Client, ClientError
from server.domain.draw import identity, parse_pool, share_commitment
from tests.app.conftest import (
    ADMIN,
    Room,
    advance,
    create_session,
    load_lot,
    running_app,
    signed_up_to,
)
from tests.app.test_sealing import archive_of

POOL = sample_pool(400)
POOL_HASH = hashlib.sha256(canonical_bytes(POOL)).hexdigest()


async def call(
    room: Room, method: str, path: str, token: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """``/api/sessions/<session>/<path>`` with ``token`` as bearer: status and JSON answer."""
    url = f"{room.base}/api/sessions/{room.session}/{path}"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def open_draw(room: Room) -> dict[str, Any]:
    status, answer = await call(
        room, "POST", "draw", ADMIN, {"pool": POOL, "rules": sample_rules()}
    )
    assert status == 201, answer
    assert (answer["pool"], answer["size"]) == (POOL_HASH, 400)
    return answer


async def holders(room: Room) -> dict[str, Client]:
    """A connected client per share of the sample lot: each venue's token, the first
    supervisor's for the supervisors' share."""
    clients = {venue: room.client(token) for venue, token in room.created["venues"].items()}
    assert set(clients) == {"host", "guest-1", "guest-2"}
    for client in clients.values():
        await client.connect()
    clients["supervisor"] = await room.supervisor(0)
    return clients


async def commit(room: Room, who: str, client: Client, share: str) -> dict[str, Any]:
    commitment = share_commitment(room.session, who, share)
    envelope = {"id": f"commit-{who}", "type": "draw.commit", "commitment": commitment}
    return await client.command(envelope)


async def reveal(who: str, client: Client, share: str, n: int = 0) -> dict[str, Any]:
    return await client.command({"id": f"reveal-{who}-{n}", "type": "draw.reveal", "share": share})


async def shares_in(room: Room, clients: dict[str, Client]) -> dict[str, Any]:
    """Every share committed, then revealed; the last reveal's ack."""
    shares = {who: secrets.token_hex(32) for who in clients}
    for who, client in clients.items():
        await commit(room, who, client, shares[who])
    for who, client in clients.items():
        ack = await reveal(who, client, shares[who])
    return ack


async def first_event(client: Client, kind: str, seconds: float = 30) -> dict[str, Any]:
    """The first event of ``kind`` the client holds, waiting for it at most ``seconds``."""
    async with asyncio.timeout(seconds):
        while True:
            found = [e for e in client.events.values() if e["type"] == kind]
            if found:
                return found[0]
            client.arrived.clear()
            await client.arrived.wait()


async def refused(send: Awaitable[Any]) -> str:
    """The error code ``send`` is refused with (it must be refused)."""
    with pytest.raises(ClientError) as caught:
        await send
    return caught.value.code


async def test_a_whole_draw_through_the_node(room: Room, tmp_path: Path) -> None:
    clients = await holders(room)
    sup = clients["supervisor"]
    public = room.client(room.created["public"])
    await public.connect()
    opened = await open_draw(room)
    assert await refused(advance(sup, "sign_in")) == "phase_not_ready"
    last = await shares_in(room, clients)

    made = await first_event(sup, "draw.made")  # the node made it by itself
    assert made["seq"] == last["seq"] + 1
    assert made["actor"] == "node:timer", made
    await public.wait_for_seq(made["seq"])

    status, notice = await call(room, "GET", "draw/notice", ADMIN)
    assert status == 200, notice
    members, reserves = notice["members"], notice["reserves"]
    assert sorted(m["seat"] for m in members) == sorted(room.created["seats"])
    assert len(members) == 7
    assert sorted(m["specialty"] for m in members) == sorted(
        ["给排水"] * 3 + ["市政工程"] * 2 + ["工程造价"] * 2
    )
    assert [r["rank"] for r in reserves] == [1, 2, 3]
    experts = {e["id"]: e for e in POOL["experts"]}
    drawn = members + reserves
    assert len({d["expert"] for d in drawn}) == 10
    for d in drawn:
        assert d["name"] == experts[d["expert"]]["name"]
        assert d["organisation"] not in ("济宁市政建设集团有限公司", "山东鲁建水务工程有限公司")

    # The supervisor's view holds the committee as identity commitments that bind these experts.
    status, staff = await call(room, "GET", "state", room.created["supervisor"][0])
    assert status == 200, staff
    draw = staff["state"]["draw"]
    assert (draw["pool"], draw["made"]) == (opened["pool"], True)
    committee = draw["committee"]
    pool = {e.id: e for e in parse_pool(POOL).experts}
    logged = [m["identity"] for m in committee["members"] + committee["reserves"]]
    assert logged == [identity(pool[d["expert"]], committee["seed"]) for d in drawn]

    status, shown = await call(room, "GET", "state", room.created["public"])
    assert status == 200, shown
    assert set(shown["state"]["draw"]) == {"participants", "committed", "revealed", "made"}
    assert shown["state"]["draw"]["made"] is True
    told = [e["data"] for e in public.events.values() if e["type"].startswith("draw.")]
    assert len(told) == 1 + 4 + 4 + 1  # opened, committed and revealed by four, made
    assert all(set(data) <= {"participants", "participant"} for data in told), told
    seen = json.dumps([shown, list(public.events.values())], ensure_ascii=False)
    assert not [d["name"] for d in drawn if d["name"] in seen]
    assert opened["pool"] not in seen
    assert committee["seed"] not in seen

    moved = await advance(sup, "sign_in")
    assert moved["seq"] > made["seq"]

    # The kept pool: the canonical bytes the logged hash is of, readable by the node only.
    logged_hash = (await first_event(sup, "draw.opened"))["data"]["pool"]
    kept = tmp_path / "draw" / room.session / f"{logged_hash}.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_bytes() == canonical_bytes(POOL)
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == logged_hash == POOL_HASH

    await signed_up_to(room, moved["seq"])  # the archive ends at the newest checkpoint
    archive = await archive_of(room, tmp_path)
    report = verify_archive(archive, allow_open=True)
    assert not [p for p in report.problems if p.kind == "draw"], report.problems
    assert report.ok, report.problems
    assert report.counts["draws recomputed"] == 1
    with zipfile.ZipFile(archive) as zf:
        assert zf.read(f"draw/{logged_hash}.json") == canonical_bytes(POOL)


async def test_the_node_refuses_what_breaks_the_draw(room: Room, tmp_path: Path) -> None:
    clients = await holders(room)
    host, sup = clients["host"], clients["supervisor"]
    public = room.client(room.created["public"])
    await public.connect()

    body = {"pool": POOL, "rules": sample_rules()}
    status, wrong_role = await call(room, "POST", "draw", room.created["supervisor"][0], body)
    assert status in (401, 403), wrong_role
    assert wrong_role["error"]["code"] in ("unauthenticated", "forbidden")
    status, not_pool = await call(room, "POST", "draw", ADMIN, {"pool": [1], "rules": {}})
    assert (status, not_pool["error"]["code"]) == (400, "malformed")
    assert not (tmp_path / "draw").exists()  # neither kept a pool (the data dir is tmp_path)
    status, early = await call(room, "GET", "draw/notice", ADMIN)
    assert (status, early["error"]["code"]) == (409, "draw_not_ready")
    await open_draw(room)
    status, early = await call(room, "GET", "draw/notice", ADMIN)
    assert (status, early["error"]["code"]) == (409, "draw_not_ready")

    shares = {who: secrets.token_hex(32) for who in clients}
    await commit(room, "host", host, shares["host"])
    assert await refused(reveal("host", host, shares["host"])) == "draw_not_ready"
    assert await refused(commit(room, "public", public, shares["host"])) == "not_participant"
    for who in ("guest-1", "guest-2", "supervisor"):
        await commit(room, who, clients[who], shares[who])
    other = secrets.token_hex(32)
    assert await refused(reveal("guest-1", clients["guest-1"], other, 1)) == "bad_reveal"
    assert await refused(reveal("guest-1", clients["guest-1"], shares["host"], 2)) == "bad_reveal"
    status, unmade = await call(room, "POST", "draw/make", ADMIN)
    assert (status, unmade["error"]["code"]) == (409, "draw_not_ready")
    assert await refused(advance(sup, "sign_in")) == "phase_not_ready"
    assert (await sup.state())["draw"]["revealed"] == []


async def _no_make(_desk: DrawDesk, _session: str, _committed: list[Any]) -> None:
    """The desk's observer of a node that stopped before it made the draw."""


async def test_a_restarted_node_makes_the_draw_for_the_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lot = load_lot()
    monkeypatch.setattr(DrawDesk, "observe", _no_make)  # bound as the app starts
    async with running_app(tmp_path / "node") as (base, _app):
        room = Room(base, await create_session(base, lot), lot)
        try:
            await open_draw(room)
            clients = await holders(room)
            last = await shares_in(room, clients)
            state = await clients["supervisor"].state()
            assert state["seq"] == last["seq"]
            assert (len(state["draw"]["revealed"]), state["draw"]["made"]) == (4, False)
        finally:
            await room.close()
    monkeypatch.undo()

    async with running_app(tmp_path / "node") as (base, _app):
        room = Room(base, room.created, lot)
        try:
            sup = await room.supervisor(1)
            status, ack = await call(room, "POST", "draw/make", ADMIN)
            assert status == 200, ack
            assert ack["seq"] == last["seq"] + 1
            made = await first_event(sup, "draw.made")
            assert (made["seq"], made["actor"]) == (ack["seq"], "node:timer")
            status, again = await call(room, "POST", "draw/make", ADMIN)  # a resend: no new draw
            assert (status, again["seq"]) == (200, ack["seq"])
            status, notice = await call(room, "GET", "draw/notice", ADMIN)
            assert (status, len(notice["members"]), len(notice["reserves"])) == (200, 7, 3)
            assert (await advance(sup, "sign_in"))["seq"] == ack["seq"] + 1
        finally:
            await room.close()


async def test_a_leaked_venue_token_is_revoked_and_the_draw_opened_again(room: Room) -> None:
    """guest-1's token leaked and committed in its place: the admin revokes it (the old token
    commits nothing more), hands guest-1 the new one and opens the draw again; the round goes
    through with the new token."""
    clients = await holders(room)
    await open_draw(room)
    await commit(room, "guest-1", clients["guest-1"], secrets.token_hex(32))  # the leak's share
    status, revoked = await call(
        room,
        "POST",
        "tokens/revoke",
        ADMIN,
        {"role": "venue", "subject": "guest-1", "reason": "副场抽取链接外泄"},
    )
    assert status == 200, revoked
    assert revoked["generation"] == 1
    status, stale = await call(room, "GET", "state", room.created["venues"]["guest-1"])
    assert (status, stale["error"]["code"]) == (401, "token_revoked")
    fresh = room.client(revoked["token"])
    await fresh.connect()
    clients["guest-1"] = fresh
    await open_draw(room)  # a share is withheld: a new round, with new command ids
    shares = {who: secrets.token_hex(32) for who in clients}
    for who, client in clients.items():
        commitment = share_commitment(room.session, who, shares[who])
        await client.command(
            {"id": f"r2-commit-{who}", "type": "draw.commit", "commitment": commitment}
        )
    for who, client in clients.items():
        last = await reveal(who, client, shares[who], n=2)
    made = await first_event(clients["supervisor"], "draw.made")
    assert made["seq"] == last["seq"] + 1
