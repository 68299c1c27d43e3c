"""What each role sees of roll-backs (server/domain/rollback.py), and the client fold of them.

Supervisors, auditors and the admin see every request. An expert sees the phase roll-backs and
its own sheet's requests, and every request once the results are revealed (as with scores:
another seat's request says that seat submitted and wants to change something). The public
screen sees no request, only their effects: the phase going back and a sheet no longer counted
as submitted.
"""

from __future__ import annotations

from typing import Any

from server.domain.roles import FULL_VIEW_ROLES, Role
from server.domain.state import Rollback, SessionState


def _entry(found: Rollback) -> dict[str, Any]:
    return {
        "kind": found.kind,
        "seats": list(found.seats),
        "reason": found.reason,
        "by": found.by,
        "seq": found.seq,
        "status": found.status,
    }


def rollback_state_view(state: SessionState, role: Role, seat: str | None) -> dict[str, Any]:
    """The roll-backs ``role`` (and ``seat``, for an expert) may see, by id."""
    everything = role in FULL_VIEW_ROLES or state.revealed
    return {
        found.id: _entry(found)
        for found in state.rollbacks.values()
        if everything or found.kind == "phase" or seat in found.seats
    }


def apply_rollback_view(view: dict[str, Any], event: dict[str, Any]) -> None:
    """Fold one viewed roll-back event into a client's view (the public screen's events carry
    no roll-back id, and its view has no roll-backs)."""
    kind, data = event["type"], event["data"]
    rollbacks = view.get("rollbacks")
    found = rollbacks.get(data.get("rollback")) if rollbacks is not None else None
    if kind == "rollback.requested" and rollbacks is not None:
        seats = data["seats"] if data["kind"] == "phase" else [data["seat"]]
        entry = {"kind": data["kind"], "seats": seats, "reason": data["reason"]}
        rollbacks[data["rollback"]] = {**entry, "by": event["actor"], "seq": event["seq"]}
        rollbacks[data["rollback"]]["status"] = "requested"
    elif kind == "rollback.declined" and found is not None:
        found["status"] = "declined"
    elif kind == "sheet.reopened":
        view["seats"][data["seat"]]["submitted"] = False
        if found is not None:
            found["status"] = "approved"
    elif kind == "phase.rolled_back":
        view["phase"] = data["to"]
        view["phase_times"].pop(data["from"], None)
        view["phase_times"][data["to"]] = event["t"]
        if found is not None:
            found["status"] = "approved"
