"""Archive checks that the log is whole: the phases in order, the close and the seal.

Why the seal is required by default: every prefix of a signed log is itself a signed log, so an
archive cut back to an earlier checkpoint (later events removed, unsigned files rewritten to
match) checks out hash for hash. What no prefix holds is the seal (``session.sealed``): the
event after which the domain takes nothing, written by the node once the session closed and
its media ended (or by the fault rule, or for the tenderer's decision). So a whole archive ends
with its one seal, under a signed checkpoint of the whole archive; a closed session's seal
follows its close with only the node's media facts and access events between them (members
leaving, recordings closing). An archive without the seal fails unless the caller allows an
unfinished session, and then says what it proves. Pure: no IO.
"""

from __future__ import annotations

import itertools
from typing import Any

from server.auditlog.verify import LogWalk, Report

PHASES = ("prepared", "sign_in", "scoring", "review", "closed")  # server.domain.state.Phase
MEDIA_ACTOR = "media:node"
NODE_ACTOR = "node:timer"  # server.app.sealer: the node's own principal
ACCESS_EVENTS = frozenset({"tokens.revoked", "enrolment.reset"})  # server.domain.access
# server.domain.sealing: who seals for which cause (the admin records the tenderer's decision)
SEALERS = {"closed": NODE_ACTOR, "fault": NODE_ACTOR, "tenderer": "admin:"}


def may_follow_close(kind: Any, actor: Any) -> bool:
    """A media fact of the node's media service, an access event, or the fees the node settles
    with the seal (server.domain.fees): all a closed log takes."""
    media = isinstance(kind, str) and (kind.startswith("media.") or kind == "recording.closed")
    fees = kind == "fees.computed" and actor == NODE_ACTOR
    return (media and actor == MEDIA_ACTOR) or kind in ACCESS_EVENTS or fees


# server.domain.rollback: the one step back, with a supervisor's request and another's approval
ROLL_BACKS = frozenset({("review", "scoring")})


def check_phases(phases: list[tuple[int, Any, Any, bool]], report: Report) -> None:
    """Each ``phase.changed`` moves from the current phase to the next one, in order; a
    ``phase.rolled_back`` moves back by a step the domain allows."""
    current = PHASES[0]
    for seq, old, new, back in phases:
        wanted = next((b for a, b in itertools.pairwise(PHASES) if a == current), None)
        if back:
            if old != current or (old, new) not in ROLL_BACKS:
                report.add("closure", f"seq {seq}", f"phase rolled back {old!r} -> {new!r}")
        elif old != current or new != wanted:
            report.add("closure", f"seq {seq}", f"phase {old!r} -> {new!r}, but it was {current!r}")
        if new in PHASES:
            current = new


def check_closure(walk: LogWalk, signed_sizes: list[int], allow_open: bool, report: Report) -> None:
    """The seal ends the log, nothing but media facts lies between the close and the seal, and a
    statement of what the archive proves; without the seal it fails unless ``allow_open``.

    ``signed_sizes`` are the sizes of the checkpoints whose notes parsed (their signatures and
    roots are checked elsewhere): the archive proves the log up to the largest within the events.
    """
    check_phases(walk.phases, report)
    covered = max((s for s in signed_sizes if s <= walk.count), default=0)
    if walk.closed_at is not None:
        report.count("closes")
    _check_after_close(walk, report)
    if not walk.seals:
        if walk.closed_at is None:
            said = f"session not closed: the archive proves the log up to checkpoint {covered} only"
        else:
            said = (
                f"session closed at seq {walk.closed_at} but not sealed: the archive proves the "
                f"log up to checkpoint {covered} only, not what followed the close"
            )
        report.statements.append(said)
        if not allow_open:
            report.add("closure", "events.jsonl", f"{said} (no session.sealed)")
        return
    report.count("seals")
    seq, cause, actor = walk.seals[0]
    for later, _, _ in walk.seals[1:]:
        report.add("closure", f"seq {later}", f"a second seal after the seal at seq {seq}")
    if seq != walk.count:
        report.add("closure", f"seq {seq}", f"{walk.count - seq} events follow the seal")
    sealer = SEALERS.get(cause) if isinstance(cause, str) else None
    if sealer is None or not (isinstance(actor, str) and actor.startswith(sealer)):
        report.add("closure", f"seq {seq}", f"a seal with cause {cause!r} by {actor!r}")
    if (cause == "closed") != (walk.closed_at is not None):
        closed = "closed" if walk.closed_at is not None else "not closed"
        report.add("closure", f"seq {seq}", f"sealed as {cause!r}, but the session was {closed}")
    if walk.closed_at is None:
        said = f"session sealed at seq {seq} ({cause}) before it closed: the evaluation ended there"
    else:
        tail = len(walk.after_close) - 1
        between = f", then {tail} media or access events" if tail else ""
        said = f"session closed at seq {walk.closed_at}{between}, sealed at seq {seq}"
    whole = "all " if covered == walk.count else ""
    report.statements.append(
        f"{said}; checkpoint {covered} covers {whole}{covered} of {walk.count}"
    )


def _check_after_close(walk: LogWalk, report: Report) -> None:
    """Between the close and the seal: only media facts and access events."""
    sealed_at = {seq for seq, _, _ in walk.seals}
    for seq, kind, actor in walk.after_close:
        if seq not in sealed_at and not may_follow_close(kind, actor):
            message = f"{kind} by {actor} after the session closed at seq {walk.closed_at}"
            report.add("closure", f"seq {seq}", message)
