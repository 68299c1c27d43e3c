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
"""

from __future__ import annotations

from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.scoring import MAX_COMMENT_CHARS, actor_of
from server.domain.state import Phase, SessionState

# 条例 Art. 51, the seven grounds for rejecting a bid: stable code -> (zh-CN, English).
GROUNDS: dict[str, tuple[str, str]] = {
    "unsigned_unsealed": (
        "投标文件未经投标单位盖章和单位负责人签字",
        "The bid is not sealed by the bidder or not signed by its legal representative",
    ),
    "consortium_no_agreement": (
        "投标联合体没有提交共同投标协议",
        "A consortium bid without a joint bidding agreement",
    ),
    "unqualified": (
        "投标人不符合国家或者招标文件规定的资格条件",
        "The bidder does not meet the qualifications required by law or the tender documents",
    ),
    "multiple_bids_or_prices": (
        "同一投标人提交两个以上不同的投标文件或者投标报价，但招标文件要求提交备选投标的除外",
        "Two or more different bids or prices from one bidder (alternatives not requested)",
    ),
    "price_below_cost_or_above_cap": (
        "投标报价低于成本或者高于招标文件设定的最高投标限价",
        "The price is below cost or above the tender's maximum price",
    ),
    "not_responsive": (
        "投标文件没有对招标文件的实质性要求和条件作出响应",
        "The bid does not respond to the substantive requirements of the tender documents",
    ),
    "collusion_or_fraud": (
        "投标人有串通投标、弄虚作假、行贿等违法行为",
        "Collusion, fraud, bribery or other unlawful conduct by the bidder",
    ),
}

DECISION_PHASES = frozenset({Phase.SIGN_IN, Phase.SCORING, Phase.REVIEW})
OPEN_PROPOSAL = frozenset({"proposed", "approved"})


def majority(state: SessionState) -> int:
    """Votes needed for a majority of the members."""
    return len(state.seats) // 2 + 1


def _member(state: SessionState, seat: str) -> None:
    if state.phase not in DECISION_PHASES:
        raise CommandError(Code.WRONG_PHASE, f"no committee decisions in phase {state.phase}")
    if not state.seats[seat].signed_in:
        raise CommandError(Code.NOT_SIGNED_IN, f"seat {seat} has not signed in")


def _text(body: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_COMMENT_CHARS:
        raise CommandError(Code.REASON_REQUIRED, f"{key}: text of 1..{MAX_COMMENT_CHARS} chars")
    return value


def check_chair_vote(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``chair.vote``: one member's signed vote in the current round."""
    _member(state, seat)
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


def check_propose_rejection(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``rejection.propose``: a member proposes to reject a bid on a ground of Art. 51."""
    _member(state, seat)
    bidder = body.get("bidder")
    if not isinstance(bidder, str) or state.lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r} in this lot")
    ground = body.get("ground")
    if ground not in GROUNDS:
        raise CommandError(Code.UNKNOWN_GROUND, "ground must be one of " + ", ".join(GROUNDS))
    reason = _text(body, "reason")
    com = state.committee
    if bidder in com.rejected():
        raise CommandError(Code.ALREADY_REJECTED, f"{bidder} is already rejected")
    if any(p.bidder == bidder and p.status in OPEN_PROPOSAL for p in com.proposals.values()):
        raise CommandError(Code.ALREADY_REQUESTED, f"a proposal on {bidder} is already open")
    proposal = f"R{len(com.proposals) + 1}"
    data = {"proposal": proposal, "seat": seat, "bidder": bidder, "ground": ground}
    return [Draft("rejection.proposed", actor_of(seat), {**data, "reason": reason, **proof})]


def _proposal(state: SessionState, proposal: Any, status: str) -> None:
    found = state.committee.proposals.get(proposal) if isinstance(proposal, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_PROPOSAL, f"no proposal {proposal!r}")
    if found.status != status:
        code = Code.NOT_APPROVED if status == "approved" else Code.PROPOSAL_CLOSED
        raise CommandError(code, f"proposal {proposal} is {found.status}")


def check_review_rejection(
    state: SessionState, actor: str, proposal: Any, approve: bool, reason: Any
) -> list[Draft]:
    """The supervisor approves a proposal for the vote, or declines it with a reason."""
    if state.phase not in DECISION_PHASES:
        raise CommandError(Code.WRONG_PHASE, f"no committee decisions in phase {state.phase}")
    _proposal(state, proposal, "proposed")
    if approve:
        return [Draft("rejection.approved", actor, {"proposal": proposal})]
    text = _text({"reason": reason}, "reason")
    return [Draft("rejection.declined", actor, {"proposal": proposal, "reason": text})]


def check_rejection_vote(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``rejection.vote``: a member's signed yes/no on an approved proposal."""
    _member(state, seat)
    pid = str(body.get("proposal"))
    _proposal(state, pid, "approved")
    found = state.committee.proposals[pid]
    vote = body.get("vote")
    if vote not in ("yes", "no"):
        raise CommandError(Code.MALFORMED, "vote must be 'yes' or 'no'")
    if seat in found.votes:
        raise CommandError(Code.ALREADY_VOTED, f"{seat} already voted on {pid}")
    drafts = [
        Draft(
            "rejection.voted",
            actor_of(seat),
            {"proposal": pid, "seat": seat, "vote": vote, **proof},
        )
    ]
    votes = {**found.votes, seat: vote == "yes"}
    if len(votes) < len(state.seats):
        return drafts
    yes = sum(votes.values())
    outcome = "rejected" if yes >= majority(state) else "kept"
    data = {"proposal": pid, "bidder": found.bidder, "ground": found.ground, "outcome": outcome}
    drafts.append(
        Draft("rejection.decided", "system", {**data, "yes": yes, "no": len(votes) - yes})
    )
    return drafts


def check_time_request(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``time.request``: a member says the time is insufficient (条例 Art. 48)."""
    _member(state, seat)
    com = state.committee
    if seat in com.time_requests:
        raise CommandError(
            Code.ALREADY_REQUESTED, f"{seat} already asked in round {com.time_round}"
        )
    data: dict[str, Any] = {"seat": seat, "round": com.time_round, **proof}
    reason = _text(body, "reason", required=False)
    if reason is not None:
        data["reason"] = reason
    drafts = [Draft("time.requested", actor_of(seat), data)]
    requests = [*com.time_requests, seat]
    members = len(state.seats)
    if 3 * len(requests) > members:  # more than one third, exactly
        result = {"round": com.time_round, "requests": len(requests), "members": members}
        drafts.append(Draft("time.extended", "system", result))
    return drafts
