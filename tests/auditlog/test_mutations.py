"""Random mutations of a closed session's archive all fail, and each verdict names what changed.

A CI-sized run of ``bench/archive_mutations.py`` (which runs a thousand, on a real node's archive
too), and the attack the outside auditor found, deterministically: the log cut back to every
earlier checkpoint with every unsigned file rewritten by the project's own writer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from server.auditlog.archive import verify_archive
from server.auditlog.verify import Report
from tests.auditlog.mutations import checkpoint_sizes, mutate, rezip, truncated
from tests.auditlog.test_archive_verify import build_session

BUILT = build_session(report=True)


def verdict(members: dict[str, bytes], tmp_path: Path, allow_open: bool = False) -> Report:
    path = tmp_path / "mutated.zip"
    path.write_bytes(rezip(members))
    report = verify_archive(path, BUILT.node_key, allow_open=allow_open)
    assert not any("internal error" in p.message for p in report.problems), report.problems
    return report


def test_sixty_random_mutations_fail_and_are_named(tmp_path: Path) -> None:
    rng = random.Random(2026)
    kinds = set()
    for _ in range(60):
        mutation = mutate(rng, BUILT.members)
        kinds.add(mutation.kind.split(" ")[0])
        report = verdict(mutation.members, tmp_path)
        assert not report.ok, mutation.kind
        said = [f"{p.item} {p.message}" for p in report.problems]
        assert any(name in text for name in mutation.names for text in said), (mutation, said)
    assert {"flip", "delete", "truncate", "swap"} <= kinds


def test_a_cut_between_the_close_and_the_seal_is_among_them() -> None:
    sizes = checkpoint_sizes(BUILT.members)
    close = next(n for n, e in enumerate(BUILT.events, 1) if b'"to":"closed"' in e)
    assert any(close <= size < len(BUILT.events) for size in sizes), (close, sizes)


@pytest.mark.parametrize("size", checkpoint_sizes(BUILT.members)[:-1])
def test_cut_back_to_any_earlier_checkpoint_fails(size: int, tmp_path: Path) -> None:
    members = truncated(BUILT.members, size)
    assert len(members["events.jsonl"].splitlines()) == size
    report = verdict(members, tmp_path)
    said = f"session not closed: the archive proves the log up to checkpoint {size} only"
    close = next((n for n, e in enumerate(BUILT.events, 1) if b'"to":"closed"' in e), 0)
    if close <= size:  # cut between the close and the seal: the close alone proves nothing
        said = (
            f"session closed at seq {close} but not sealed: the archive proves the log up to "
            f"checkpoint {size} only, not what followed the close"
        )
    assert [(p.kind, p.item, p.message) for p in report.problems] == [
        ("closure", "events.jsonl", f"{said} (no session.sealed)")
    ]
    # Everything else about the cut archive holds: it is a true prefix, stated as one.
    allowed = verdict(members, tmp_path, allow_open=True)
    assert allowed.ok, allowed.problems
    assert allowed.statements == [said]


def test_the_rewriting_attacker_reproduces_the_whole_archive() -> None:
    """The attacker's writer is faithful: cut at the final size, it rebuilds the same files
    (so what fails above is the cut, not the rewrite)."""
    final = checkpoint_sizes(BUILT.members)[-1]
    rebuilt = truncated(BUILT.members, final)
    assert rebuilt == BUILT.members
