"""Committee decisions: chair election, rejection of a bid (否决投标), time extension.

Every proposal and vote of a member is a signed command checked like a score (see
:mod:`server.domain.commands`); the supervisor's approval of a rejection proposal is not signed
by an expert key (supervisors log in with tokens), like ``phase.advance``.

Decisions:

- **Members** are the committee's seats (``lot.committee_size``); a **majority** is more than
  half of the members, not of those who voted (条例 Art. 52: decided by majority of members).
- **Every member votes before a decision.** A round or a proposal is decided with the last
  member's vote, not as soon as the outcome is certain, so the record shows the whole
  committee's votes (the report lists them) and nobody is cut off mid-vote.
- **Chair** (组长): votes in rounds. When every member has voted, a candidate with a majority
  of the members is elected (``chair.elected``, with the tally); otherwise the round ends
  (``chair.round_ended`` with the tally) and a new round starts. A member votes once
  per round, for any seat including their own. The lot may name the chair instead
  (``committee.chair`` = a seat id); ``"elected"`` (the default) means vote rounds.
- **Rejection**: proposed by a member with one of the seven grounds of 条例 Art. 51
  (:data:`GROUNDS`) and a written reason; the supervisor approves it for a vote or declines it
  (with a reason); members vote yes/no once; when all have voted, more than half of the
  members voting yes rejects the bid (``rejection.decided``, outcome ``rejected``), otherwise
  it is ``kept``. One open proposal per bidder at a time.
- **Time**: each member may say once per round that the time is insufficient; when more than
  one third of the members have said so, the time is extended (条例 Art. 48) and a new round
  starts. How long the extension is stays with the host (not modelled here).

Each decision is its own module (:mod:`committee_chair`, :mod:`committee_rejection`,
:mod:`committee_time`); this one holds what they share: who is a member and when, and the
majority.
"""

from __future__ import annotations

from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.scoring import MAX_COMMENT_CHARS
from server.domain.state import Phase, SessionState

DECISION_PHASES = frozenset({Phase.SIGN_IN, Phase.SCORING, Phase.REVIEW})


def majority(state: SessionState) -> int:
    """Votes needed for a majority of the members."""
    return len(state.seats) // 2 + 1


def check_member(state: SessionState, seat: str) -> None:
    """A member may take part in a decision: in a decision phase, once signed in."""
    if state.phase not in DECISION_PHASES:
        raise CommandError(Code.WRONG_PHASE, f"no committee decisions in phase {state.phase}")
    if not state.seats[seat].signed_in:
        raise CommandError(Code.NOT_SIGNED_IN, f"seat {seat} has not signed in")


def text_of(
    body: dict[str, Any], key: str, required: bool = True, limit: int = MAX_COMMENT_CHARS
) -> str | None:
    """A reason or other text someone wrote: not blank, at most ``limit`` characters."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise CommandError(Code.REASON_REQUIRED, f"{key}: text of 1..{limit} chars")
    return value
