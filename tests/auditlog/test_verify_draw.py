"""``evalroom verify`` recomputes the expert draw from the archive, and a tampered draw fails.

The session is driven through the pure core (a real draw: four participants commit and reveal,
the node makes it), written as an archive with the pool, and checked. The tampering is what a
host that controls its own node could do: rewrite the log coherently (every hash and checkpoint
signed again with its own key), so only the draw's own rules can catch it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from server.auditlog.archive import verify_archive
from server.auditlog.archive_write import write_archive
from server.auditlog.canonical import canonical_bytes
from server.auditlog.merkle import root_from_leaves
from server.auditlog.note import NoteSigner, checkpoint_body, sign_note
from server.client.expert_pool import sample_pool
from server.domain.draw import parse_pool
from server.domain.events import Draft, Event, seal
from server.domain.roles import Principal, Role
from tests.auditlog.test_archive_verify import fixed_key
from tests.domain.driver import S, Session, make_draw

NODE = Principal(Role.NODE, S, "timer")
POOL = parse_pool(sample_pool(300))


def _drawn_events(lot: dict[str, Any]) -> list[Event]:
    session = Session(lot)
    make_draw(session, POOL)
    return session.events


def _archive(tmp_path: Path, events: list[Event], pools: list[tuple[str, bytes]]) -> Path:
    """The archive a node would write, every checkpoint signed with the node's key."""
    node = NoteSigner("evalroom.example", fixed_key("node"))
    raws = [seal(Draft(e.type, e.actor, e.data), S, e.seq, e.time_ms).raw for e in events]
    leaves = [hashlib.sha256(b"\x00" + raw).digest() for raw in raws]
    note = sign_note(
        checkpoint_body(f"evalroom.example/{S}", len(raws), root_from_leaves(leaves)), node
    )
    out = io.BytesIO()
    write_archive(
        out,
        session=S,
        origin=f"evalroom.example/{S}",
        node_key=node.verifier_key(),
        witness_keys=[],
        events=raws,
        notes=[note],
        created_ms=events[-1].time_ms + 1,
        pool_files=pools,
    )
    path = tmp_path / "archive.zip"
    path.write_bytes(out.getvalue())
    return path


def _problems(path: Path) -> list[tuple[str, str, str]]:
    report = verify_archive(path, allow_open=True)
    return [(p.kind, p.item, p.message) for p in report.problems]


POOLS = [(f"{POOL.hash}.json", POOL.raw)]


def test_a_whole_draw_is_recomputed(tmp_path: Path, lot_json: dict[str, Any]) -> None:
    path = _archive(tmp_path, _drawn_events(lot_json), POOLS)
    report = verify_archive(path, allow_open=True)
    assert [p for p in report.problems if p.kind == "draw"] == []
    assert report.counts["draws recomputed"] == 1


def _rewritten(events: list[Event], kind: str, change: Any) -> list[Event]:
    changed = []
    for event in events:
        data = copy.deepcopy(event.data)
        if event.type == kind:
            change(data)
        changed.append(Event(S, event.seq, event.time_ms, event.type, event.actor, data, b"", b""))
    return changed


def _swap_seats(data: dict[str, Any]) -> None:
    members = data["members"]
    members[0]["identity"], members[1]["identity"] = members[1]["identity"], members[0]["identity"]


def _promote_reserve(data: dict[str, Any]) -> None:
    data["members"][0]["identity"] = data["reserves"][0]["identity"]


def _other_seed(data: dict[str, Any]) -> None:
    data["seed"] = "00" * 32


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_swap_seats, "the committee is not the one"),
        (_promote_reserve, "the committee is not the one"),
        (_other_seed, "the seed is not the one"),
    ],
)
def test_a_rewritten_committee_fails(
    tmp_path: Path, lot_json: dict[str, Any], change: Any, words: str
) -> None:
    events = _rewritten(_drawn_events(lot_json), "draw.made", change)
    problems = _problems(_archive(tmp_path, events, POOLS))
    assert any(kind == "draw" and words in message for kind, _, message in problems), problems


def test_a_withheld_share_cannot_be_hidden(tmp_path: Path, lot_json: dict[str, Any]) -> None:
    """A host that drops a reveal from its log (to draw without that participant) is caught."""
    events = _drawn_events(lot_json)
    dropped = next(e for e in events if e.type == "draw.revealed")
    kept = [e for e in events if e is not dropped]
    renumbered = [
        Event(S, n, e.time_ms, e.type, e.actor, e.data, b"", b"") for n, e in enumerate(kept, 1)
    ]
    problems = _problems(_archive(tmp_path, renumbered, POOLS))
    participant = dropped.data["participant"]
    assert ("draw", f"seq {len(kept)}", f"made without the shares of {participant}") in problems


def test_a_missing_or_changed_pool_fails(tmp_path: Path, lot_json: dict[str, Any]) -> None:
    events = _drawn_events(lot_json)
    problems = _problems(_archive(tmp_path, events, []))
    assert (
        "draw",
        f"draw/{POOL.hash}.json",
        "the pool is missing: the draw is not recomputed",
    ) in (problems)
    document = json.loads(POOL.raw)
    document["experts"][0]["city"] = "北京市"  # a city no pool expert is from
    changed = [(f"{POOL.hash}.json", canonical_bytes(document))]
    problems = _problems(_archive(tmp_path, events, changed))
    assert any(kind == "draw" and "SHA-256" in message for kind, _, message in problems), problems


def test_a_pool_no_draw_names_is_unbound(tmp_path: Path, lot_json: dict[str, Any]) -> None:
    other = parse_pool(sample_pool(301))
    events = _drawn_events(lot_json)
    path = _archive(tmp_path, events, [*POOLS, (f"{other.hash}.json", other.raw)])
    assert not any(other.hash in item for _, item, _ in _problems(path))  # the writer left it out
