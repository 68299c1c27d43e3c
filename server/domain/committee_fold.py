"""Folding the committee's decisions: chair election, rejections, time, flag explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.domain.events import Event
from server.domain.state import Explanation, Proposal, SessionState

CommitteeFold = Callable[[SessionState, dict[str, Any], Event], None]


def _chair_voted(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.chair_votes[data["seat"]] = data["candidate"]


def _chair_round_ended(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.chair_round = data["round"] + 1
    state.committee.chair_votes = {}


def _chair_elected(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.chair = data["seat"]
    state.committee.chair_votes = {}


def _rejection_proposed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    fields = {k: data[k] for k in ("seat", "bidder", "ground", "reason")}
    proposal = Proposal(data["proposal"], seq=event.seq, **fields)
    state.committee.proposals[data["proposal"]] = proposal


def _status(status: str) -> CommitteeFold:
    def fold(state: SessionState, data: dict[str, Any], event: Event) -> None:
        state.committee.proposals[data["proposal"]].status = status

    return fold


def _rejection_voted(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.proposals[data["proposal"]].votes[data["seat"]] = data["vote"] == "yes"


def _rejection_decided(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.proposals[data["proposal"]].status = data["outcome"]


def _time_requested(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.committee.time_requests.append(data["seat"])


def _time_extended(state: SessionState, data: dict[str, Any], event: Event) -> None:
    com = state.committee
    com.extensions += 1
    com.time_round = data["round"] + 1
    com.time_requests = []


def _flag_explained(state: SessionState, data: dict[str, Any], event: Event) -> None:
    code = data.get("code")
    bidder = data.get("bidder") or state.blind_bidder(data["seat"], code)
    state.committee.explanations.append(
        Explanation(data["seat"], bidder, code, data["criterion"], data["text"], event.seq)
    )


COMMITTEE_FOLDS: dict[str, CommitteeFold] = {
    "chair.voted": _chair_voted,
    "chair.round_ended": _chair_round_ended,
    "chair.elected": _chair_elected,
    "rejection.proposed": _rejection_proposed,
    "rejection.approved": _status("approved"),
    "rejection.declined": _status("declined"),
    "rejection.voted": _rejection_voted,
    "rejection.decided": _rejection_decided,
    "time.requested": _time_requested,
    "time.extended": _time_extended,
    "flag.explained": _flag_explained,
}
