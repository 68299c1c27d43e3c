"""Rejecting a bid (否决投标, 条例 Art. 51): proposal, the supervisor's review, the members' vote
(see :mod:`committee`)."""

from __future__ import annotations

from typing import Any

from server.domain.committee import DECISION_PHASES, check_member, majority, text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.scoring import actor_of
from server.domain.state import SessionState

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

OPEN_PROPOSAL = frozenset({"proposed", "approved"})


def check_propose_rejection(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``rejection.propose``: a member proposes to reject a bid on a ground of Art. 51."""
    check_member(state, seat)
    bidder = body.get("bidder")
    if not isinstance(bidder, str) or state.lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r} in this lot")
    ground = body.get("ground")
    if ground not in GROUNDS:
        raise CommandError(Code.UNKNOWN_GROUND, "ground must be one of " + ", ".join(GROUNDS))
    reason = text_of(body, "reason")
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
    text = text_of({"reason": reason}, "reason")
    return [Draft("rejection.declined", actor, {"proposal": proposal, "reason": text})]


def check_rejection_vote(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``rejection.vote``: a member's signed yes/no on an approved proposal."""
    check_member(state, seat)
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
