"""Per-role views of the committee's decisions (see :mod:`views`; the blind draw's are in
:mod:`blind_views`).

What each role sees:

* supervisors, auditors, admins: everything, live;
* an expert: their own votes, requests and explanations in full and another seat's only once the
  results are revealed (phase ``review``), like scores; the chair, tallies, proposals and
  outcomes at once;
* the public screen: never a committee decision.

``*_state_view`` build the part of ``state_view``; ``apply_*`` fold a viewed event into it.
"""

from __future__ import annotations

from typing import Any

from server.domain.blind_views import resolve_code
from server.domain.roles import FULL_VIEW_ROLES, Role
from server.domain.state import Committee, SessionState

# Seat events of the committee: hidden from other experts until the results are revealed.
COMMITTEE_SEAT_EVENTS = frozenset(
    {"chair.voted", "rejection.voted", "time.requested", "flag.explained"}
)
COMMITTEE_EVENTS = COMMITTEE_SEAT_EVENTS | frozenset(
    {
        "chair.round_ended",
        "chair.elected",
        "rejection.proposed",
        "rejection.approved",
        "rejection.declined",
        "rejection.decided",
        "time.extended",
    }
)


def _sees(state: SessionState, role: Role, viewer_seat: str | None, seat: str) -> bool:
    return role in FULL_VIEW_ROLES or state.revealed or seat == viewer_seat


def committee_state_view(state: SessionState, role: Role, seat: str | None) -> dict[str, Any]:
    """The committee's decisions as ``role`` may see them (not shown to the public screen)."""
    com: Committee = state.committee

    def sees(other: str) -> bool:
        return _sees(state, role, seat, other)

    blind = state.blind
    hide_codes = blind is not None and not blind.revealed and role not in FULL_VIEW_ROLES
    return {
        "chair": com.chair,
        "chair_round": com.chair_round,
        "chair_votes": {s: c for s, c in com.chair_votes.items() if sees(s)},
        "proposals": {
            p.id: {
                "seat": p.seat,
                "bidder": p.bidder,
                "ground": p.ground,
                "reason": p.reason,
                "seq": p.seq,
                "status": p.status,
                "votes": {s: "yes" if v else "no" for s, v in p.votes.items() if sees(s)},
            }
            for p in com.proposals.values()
        },
        "time": {
            "round": com.time_round,
            "requests": [s for s in com.time_requests if sees(s)],
            "extensions": com.extensions,
        },
        "explanations": [
            {
                "seat": e.seat,
                "bidder": None if e.code is not None and hide_codes else e.bidder,
                "code": e.code,
                "criterion": e.criterion,
                "text": e.text,
                "seq": e.seq,
            }
            for e in com.explanations
            if sees(e.seat)
        ],
    }


def apply_committee_view(view: dict[str, Any], event: dict[str, Any]) -> None:
    """Fold one committee event (as the viewer saw it) into a client's view."""
    com = view.get("committee")
    if com is None:
        return
    kind, data = event["type"], event["data"]
    if kind == "chair.voted":
        com["chair_votes"][data["seat"]] = data["candidate"]
    elif kind in ("chair.round_ended", "chair.elected"):
        com["chair_votes"] = {}
        if kind == "chair.elected":
            com["chair"] = data["seat"]
        else:
            com["chair_round"] = data["round"] + 1
    elif kind == "rejection.proposed":
        fields = {k: data[k] for k in ("seat", "bidder", "ground", "reason")}
        com["proposals"][data["proposal"]] = {
            **fields,
            "seq": event["seq"],
            "status": "proposed",
            "votes": {},
        }
    elif kind in ("rejection.approved", "rejection.declined"):
        com["proposals"][data["proposal"]]["status"] = kind.split(".")[1]
    elif kind == "rejection.voted":
        com["proposals"][data["proposal"]]["votes"][data["seat"]] = data["vote"]
    elif kind == "rejection.decided":
        com["proposals"][data["proposal"]]["status"] = data["outcome"]
    elif kind == "time.requested":
        com["time"]["requests"].append(data["seat"])
    elif kind == "time.extended":
        com["time"].update(
            round=data["round"] + 1, requests=[], extensions=com["time"]["extensions"] + 1
        )
    elif kind == "flag.explained":
        code = data.get("code")
        bidder = data.get("bidder") or (code and resolve_code(view, data["seat"], code))
        com["explanations"].append(
            {
                "seat": data["seat"],
                "bidder": bidder or None,
                "code": code,
                "criterion": data["criterion"],
                "text": data["text"],
                "seq": event["seq"],
            }
        )
