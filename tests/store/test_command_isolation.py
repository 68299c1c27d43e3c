"""One bad command fails alone, and a command id answers only for the content it was used with.

Issue 10, deliverable 5, on SQLite and PostgreSQL: a command whose check or sealing raises is
refused with a typed error while the commands batched with it commit; a resend under a committed
id gets the stored ack only when its content is the same (``id_reused`` otherwise).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.commands import AdvancePhase, command_digest
from server.domain.errors import Code, CommandError
from server.domain.media import MediaRecord
from server.domain.roles import Principal, Role
from server.store import log
from server.store.tables import command_acks
from tests.helpers import signed
from tests.store.harness import SESSION, Harness

MEDIA = Principal(Role.MEDIA, SESSION, "node")


async def head(harness: Harness) -> int:
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    return state.seq


async def outcome(call: Any) -> dict[str, Any] | str:
    """The ack of a submitted command, or the code of its refusal."""
    try:
        answer: dict[str, Any] = await call
    except CommandError as error:
        return str(error.code)
    return answer


async def test_a_command_that_cannot_be_sealed_fails_alone(
    harness: Harness, lot_json: dict[str, Any]
) -> None:
    seats = await harness.scoring_session(lot_json)
    before, batches = await head(harness), harness.committer.batches
    # Both pass their checks and fail only when their event is sealed: a lone surrogate, and an
    # integer past what canonical JSON carries. Queued together with five good scores.
    surrogate = MediaRecord("media.left", {"member": f"expert:{seats[0]}", "reason": "\ud800"})
    results = await asyncio.gather(
        *(outcome(harness.score(seat, "ok-1")) for seat in seats[:3]),
        outcome(harness.committer.submit(MEDIA, "m-1", surrogate)),
        outcome(harness.committer.submit(MEDIA, "m-2", MediaRecord("media.left", {}))),
        *(outcome(harness.score(seat, "ok-1")) for seat in seats[3:5]),
    )
    assert harness.committer.batches == batches + 1  # one transaction for all of them
    assert results[3] == "malformed"
    assert results[4] == "malformed"  # refused by its check, as before
    acks = [r for r in results[:3] + results[5:] if isinstance(r, dict)]
    assert len(acks) == 5
    assert sorted(a["seq"] for a in acks) == list(range(before + 1, before + 6))
    assert await head(harness) == before + 5
    # the refused command stored nothing: a corrected resend under its id is new
    fixed = MediaRecord("media.left", {"member": f"expert:{seats[0]}", "reason": "closed"})
    ack = await harness.committer.submit(MEDIA, "m-1", fixed)
    assert ack["seq"] == before + 6


async def test_an_integer_past_canonical_json_fails_alone(
    harness: Harness, lot_json: dict[str, Any]
) -> None:
    seats = await harness.scoring_session(lot_json)
    before = await head(harness)
    alert = MediaRecord(
        "media.alert", {"member": f"expert:{seats[0]}", "kind": "video", "dark_ms": 2**60}
    )
    results = await asyncio.gather(
        outcome(harness.committer.submit(MEDIA, "dark-1", alert)),
        outcome(harness.score(seats[1], "ok-2")),
    )
    assert results[0] == "malformed"
    assert isinstance(results[1], dict)
    assert results[1]["seq"] == before + 1


async def test_same_id_same_content_gets_the_ack_other_content_is_refused(
    harness: Harness, lot_json: dict[str, Any]
) -> None:
    seats = await harness.scoring_session(lot_json)
    first = await harness.score(seats[0], "same", "7.5")
    assert await harness.score(seats[0], "same", "7.5") == first
    with pytest.raises(CommandError) as caught:
        await harness.score(seats[0], "same", "9")  # accepted by decide: the key refuses it
    assert caught.value.code is Code.ID_REUSED
    assert caught.value.details["seq"] == first["seq"]
    assert await head(harness) == first["seq"]
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    assert state.cells[seats[0]]["B1/T1"].value == "7.5"


async def test_other_content_under_one_id_in_one_batch(
    harness: Harness, lot_json: dict[str, Any]
) -> None:
    seats = await harness.scoring_session(lot_json)
    before = await head(harness)
    results = await asyncio.gather(
        outcome(harness.score(seats[0], "twice", "6")),
        outcome(harness.score(seats[0], "twice", "6")),
        outcome(harness.score(seats[0], "twice", "8")),
    )
    assert isinstance(results[0], dict)
    assert results[1] == results[0]
    assert results[2] == "id_reused"
    assert await head(harness) == before + 1


async def test_a_refusable_resend_with_other_content_is_id_reused(
    harness: Harness, lot_json: dict[str, Any]
) -> None:
    """A second sign-in under the first one's id: refused by decide, then found as a reuse."""
    seats = await harness.scoring_session(lot_json)
    expert = Principal(Role.EXPERT, SESSION, seats[0])
    other = signed(harness.keys[seats[0]], SESSION, seats[0], "expert.sign_in", "si", pledge="p")
    with pytest.raises(CommandError) as caught:
        await harness.committer.submit(expert, "si", other)
    assert caught.value.code is Code.ID_REUSED


async def test_an_ack_stored_without_a_digest_still_answers(
    harness: Harness, engine: AsyncEngine, lot_json: dict[str, Any]
) -> None:
    """Acks written before migration 0004 have no digest: a resend gets them, as before."""
    seats = await harness.scoring_session(lot_json)
    old = {"ok": True, "seq": 2, "hash": "00" * 32, "count": 1}
    async with engine.begin() as conn:
        row = log.ack_row(SESSION, f"expert:{seats[0]}", "legacy", log.StoredAck(old, None))
        await conn.execute(command_acks.insert().values(**row))
    before = await head(harness)
    assert await harness.score(seats[0], "legacy", "3") == old
    assert await head(harness) == before


def test_the_digest_leaves_out_what_the_shell_adds() -> None:
    assert command_digest(AdvancePhase("scoring", "aa" * 16)) == command_digest(
        AdvancePhase("scoring", "bb" * 16)
    )
    assert command_digest(AdvancePhase("scoring")) != command_digest(AdvancePhase("review"))
    a = MediaRecord("media.left", {"member": "expert:host-1", "reason": "\ud800"})
    b = MediaRecord("media.left", {"member": "expert:host-1", "reason": "\udc00"})
    assert command_digest(a) != command_digest(b)  # any string hashes, even a broken one
