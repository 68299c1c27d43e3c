"""The chair (组长) elected in rounds by a majority of the members (see :mod:`committee`)."""

from __future__ import annotations

from typing import Any

from server.domain.committee import check_member, majority
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.scoring import actor_of
from server.domain.state import SessionState


def check_chair_vote(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``chair.vote``: one member's signed vote in the current round."""
    check_member(state, seat)
    com = state.committee
    if com.chair is not None:
        raise CommandError(Code.CHAIR_ELECTED, f"{com.chair} is already the chair")
    if body.get("round") != com.chair_round:
        raise CommandError(Code.PAYLOAD_MISMATCH, f"the current round is {com.chair_round}")
    candidate = body.get("candidate")
    if not isinstance(candidate, str) or candidate not in state.seats:
        raise CommandError(Code.UNKNOWN_SEAT, f"no seat {candidate!r} to vote for")
    if seat in com.chair_votes:
        raise CommandError(Code.ALREADY_VOTED, f"{seat} already voted in round {com.chair_round}")
    data = {"seat": seat, "round": com.chair_round, "candidate": candidate, **proof}
    drafts = [Draft("chair.voted", actor_of(seat), data)]
    votes = {**com.chair_votes, seat: candidate}
    if len(votes) < len(state.seats):
        return drafts
    tally = {c: sum(1 for v in votes.values() if v == c) for c in sorted(set(votes.values()))}
    winner = next((c for c, n in tally.items() if n >= majority(state)), None)
    if winner is not None:
        result = {"seat": winner, "round": com.chair_round, "tally": tally}
        drafts.append(Draft("chair.elected", "system", result))
    else:
        ended = {"round": com.chair_round, "tally": tally}
        drafts.append(Draft("chair.round_ended", "system", ended))
    return drafts
