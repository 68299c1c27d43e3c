"""Seat recovery through a real node: the supervisor's `seat.recover` answers with a new one-time
code; the failed device's key and token lose their rights; a new device enrols during scoring
with the new code (the old one is worth nothing) and goes on; the archive verifies both keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.auditlog.archive import verify_archive
from server.client.seat import ClientError, SeatClient
from tests.app.conftest import Room, signed_up_to
from tests.app.test_bad_input import scoring_room
from tests.app.test_sealing import archive_of


async def test_a_failed_device_is_replaced_with_a_supervisors_approval(
    room: Room, tmp_path: Path
) -> None:
    sup, old, _ = await scoring_room(room)
    before = await old.score(old.codes[0], "T1", "5")
    lost: list[object] = []
    old.sio.on("auth_error", lost.append)
    recover = {"id": "rec-1", "type": "seat.recover", "seat": old.seat, "reason": "电脑故障"}
    with pytest.raises(ClientError) as expert:
        await old.command({**recover, "id": "rec-0"})
    assert expert.value.code == "forbidden"
    answer = await sup.command(recover)
    code = answer["code"]
    assert len(code.replace("-", "")) == 12
    with pytest.raises(ClientError) as revoked:
        await old.score(old.codes[0], "T1", "6")
    assert revoked.value.code in ("not_enrolled", "token_revoked")
    for _ in range(50):  # the old device's socket loses its token within about a second
        if lost:
            break
        await asyncio.sleep(0.1)
    assert lost, "the revoked seat's socket kept its rights"

    stale = SeatClient(room.base, room.session, old.seat)
    with pytest.raises(ClientError) as used:
        await stale.enrol(room.created["codes"][old.seat])  # the first code is worth nothing
    assert used.value.code == "bad_enrolment_code"
    new = SeatClient(room.base, room.session, old.seat)
    room.clients.append(new)
    await new.enrol(code)
    await new.connect()
    await new.state()
    after = await new.score(new.codes[0], "T1", "6")
    assert after["seq"] > answer["seq"] > before["seq"]
    with pytest.raises(ClientError) as twice:
        await SeatClient(room.base, room.session, old.seat).enrol(code)
    assert twice.value.code == "bad_enrolment_code"

    await signed_up_to(room, after["seq"])  # the archive ends at the newest checkpoint
    report = verify_archive(await archive_of(room, tmp_path), allow_open=True)
    assert report.ok, report.problems
    assert report.counts["keys"] == len(room.created["seats"]) + 1
