"""Archive checks that the log is whole: the phases in order and the session's close.

Why closure is required by default: every prefix of a signed log is itself a signed log, so an
archive cut back to an earlier checkpoint (later events removed, unsigned files rewritten to
match) checks out hash for hash. What no prefix of a closed session holds is its close. So a
closed session's archive must hold the ``phase.changed`` to ``closed`` under a signed checkpoint
of the whole archive, and only the node's media facts may follow it (members leaving, recordings
closing after the session: the domain accepts nothing else once closed). An archive without the
close fails unless the caller allows an open session, and then says what it proves.
Pure: no IO.
"""

from __future__ import annotations

import itertools
from typing import Any

from server.auditlog.verify import LogWalk, Report

PHASES = ("prepared", "sign_in", "scoring", "review", "closed")  # server.domain.state.Phase
MEDIA_ACTOR = "media:node"
ACCESS_EVENTS = frozenset({"tokens.revoked", "enrolment.reset"})  # server.domain.access


def may_follow_close(kind: Any, actor: Any) -> bool:
    """A media fact of the node's media service, or an access event: all a closed log takes."""
    media = isinstance(kind, str) and (kind.startswith("media.") or kind == "recording.closed")
    return (media and actor == MEDIA_ACTOR) or kind in ACCESS_EVENTS


def check_phases(phases: list[tuple[int, Any, Any]], report: Report) -> None:
    """Each ``phase.changed`` moves from the current phase to the next one, in order."""
    current = PHASES[0]
    for seq, old, new in phases:
        wanted = next((b for a, b in itertools.pairwise(PHASES) if a == current), None)
        if old != current or new != wanted:
            report.add("closure", f"seq {seq}", f"phase {old!r} -> {new!r}, but it was {current!r}")
        if new in PHASES:
            current = new


def check_closure(walk: LogWalk, signed_sizes: list[int], allow_open: bool, report: Report) -> None:
    """The close is in the log, nothing but media facts follows it, and a statement of what the
    archive proves; without the close it fails unless ``allow_open``.

    ``signed_sizes`` are the sizes of the checkpoints whose notes parsed (their signatures and
    roots are checked elsewhere): the archive proves the log up to the largest within the events.
    """
    check_phases(walk.phases, report)
    covered = max((s for s in signed_sizes if s <= walk.count), default=0)
    if walk.closed_at is None:
        said = f"session not closed: the archive proves the log up to checkpoint {covered} only"
        report.statements.append(said)
        if not allow_open:
            report.add("closure", "events.jsonl", f"{said} (no phase.changed to closed)")
        return
    report.count("closes")
    for seq, kind, actor in walk.after_close:
        if not may_follow_close(kind, actor):
            message = f"{kind} by {actor} after the session closed at seq {walk.closed_at}"
            report.add("closure", f"seq {seq}", message)
    tail = len(walk.after_close)
    after = f", then {tail} media or access events" if tail else ""
    report.statements.append(
        f"session closed at seq {walk.closed_at}{after}; checkpoint {covered} covers "
        f"{'all ' if covered == walk.count else ''}{covered} of {walk.count} events"
    )
