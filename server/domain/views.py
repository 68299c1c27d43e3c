"""What each role may see: per-event views and per-role state views.

Every role receives every ``seq`` so that a gap always means a lost message, but an event it may
not see arrives as a stub (``{"seq", "type": "hidden"}``) or with its secret fields removed:

* supervisors, auditors and admins see every event in full, live;
* an expert sees their own seat's events in full and another expert's scores and signatures only
  once the results are revealed (phase ``review``); the ``phase.changed`` event that reveals them
  carries ``"resync": true`` so the expert's client refetches the now visible history;
* the public screen sees progress only: which seat filled which cell, never a value, a comment, a
  signature, a key or a name.

``apply_view`` folds viewed events into a client's view; for every role it must reproduce
``state_view`` (tests check this for every event type, Zulip ``verify_action`` style).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.blind_views import (
    apply_blind_view,
    blind_event_data,
    blind_state_view,
    resolve_code,
)
from server.domain.clarification import (
    CLARIFICATION_EVENTS,
    apply_clarification_view,
    clarifications_view,
)
from server.domain.committee_views import (
    COMMITTEE_EVENTS,
    COMMITTEE_SEAT_EVENTS,
    apply_committee_view,
    committee_state_view,
)
from server.domain.conduct import CONDUCT_EVENTS, apply_conduct_view, conduct_view
from server.domain.draw_session import (
    DRAW_EVENTS,
    apply_draw_view,
    draw_event_view,
    draw_state_view,
)
from server.domain.events import Event
from server.domain.inspection import INSPECTION_EVENTS, inspection_view
from server.domain.media import MEDIA_EVENTS, concerns_seat
from server.domain.pause import PAUSE_EVENTS
from server.domain.recusal import (
    RECUSAL_EVENTS,
    RECUSAL_PRIVATE,
    apply_recusal_view,
    recusal_state_view,
    replacements_view,
)
from server.domain.report_signing import apply_report_view, report_state_view
from server.domain.roles import FULL_VIEW_ROLES, PUBLIC_VIEW_ROLES, Principal, Role
from server.domain.rollback import ROLLBACK_EVENTS, ROLLBACK_SEAT_EVENTS
from server.domain.rollback_views import apply_rollback_view, rollback_state_view
from server.domain.state import REVEALED_PHASES, Phase, SessionState

# Events of one seat the public screen follows as progress (which seat did what, no content).
PROGRESS_EVENTS = frozenset(
    {"seat.enrolled", "seat.key_revoked", "expert.signed_in", "score.set", "sheet.submitted"}
)
# Events of one seat that another expert sees only once the results are revealed.
SEAT_EVENTS = PROGRESS_EVENTS | COMMITTEE_SEAT_EVENTS | ROLLBACK_SEAT_EVENTS


@dataclass(frozen=True, slots=True)
class Viewer:
    """The role (and seat, for an expert) whose view is computed."""

    role: Role
    seat: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        """The viewer a principal is."""
        return cls(principal.role, principal.seat)


def _public_lot(lot: dict[str, Any]) -> dict[str, Any]:
    project = lot.get("project", {})
    return {
        "project": {"code": project.get("code"), "name": project.get("name")},
        "bidders": [b["id"] for b in lot.get("bidders", [])],
        "criteria": [
            {"id": c["id"], "kind": c["kind"], "group": c.get("group", "")}
            for c in lot.get("criteria", [])
        ],
    }


def event_view(event: Event, viewer: Viewer, revealed: bool) -> dict[str, Any]:
    """The event as ``viewer`` may see it; ``revealed`` is the state's flag after the event."""
    if viewer.role in FULL_VIEW_ROLES:
        return event.to_json()
    base: dict[str, Any] = {"seq": event.seq, "t": event.time_ms, "type": event.type}
    data = event.data
    if viewer.role is Role.EXPERT:
        own = data.get("seat") == viewer.seat
        if event.type in SEAT_EVENTS and not own and not revealed:
            return {"seq": event.seq, "type": "hidden"}
        if event.type in MEDIA_EVENTS and not concerns_seat(event.type, data, viewer.seat):
            return {"seq": event.seq, "type": "hidden"}
        if event.type == "fees.computed":  # staff's and the archive's; a member gets its own
            return {"seq": event.seq, "type": "hidden"}  # statement from the admin
        if event.type in RECUSAL_PRIVATE and not own:  # a member's own conflict of interest
            return {"seq": event.seq, "type": "hidden"}
        if event.type in CONDUCT_EVENTS | INSPECTION_EVENTS | DRAW_EVENTS:  # staff, archive
            return {"seq": event.seq, "type": "hidden"}
        full = event.to_json()
        if event.type == "blind.assigned":
            full["data"] = blind_event_data(data, viewer.role, viewer.seat)
        reveals = event.type == "phase.changed" and Phase(data["to"]) in REVEALED_PHASES
        if reveals and Phase(data["from"]) not in REVEALED_PHASES:
            full["resync"] = True
        if event.type == "phase.rolled_back":  # back to scoring: others' scores hide again
            full["resync"] = True
        return full
    # public screen
    if event.type == "session.created":
        base["data"] = {"lot": _public_lot(data["lot"]), "seats": data["seats"]}
    elif event.type == "score.set":
        base["data"] = {k: data[k] for k in ("seat", "bidder", "code", "criterion") if k in data}
    elif event.type in PROGRESS_EVENTS:
        base["data"] = {"seat": data["seat"]}
    elif event.type in ("phase.changed", "phase.rolled_back"):
        base["data"] = {"from": data["from"], "to": data["to"]}
    elif event.type == "sheet.reopened":  # a sheet counts as not submitted again
        base["data"] = {"seat": data["seat"]}
    elif event.type == "blind.revealed":  # that it happened: not the mapping, not the signature
        base["data"] = {"seats": {}, "criteria": data["criteria"]}
    elif event.type == "blind.assigned":
        base["data"] = blind_event_data(data, viewer.role, None)
    elif event.type in PAUSE_EVENTS:  # that the evaluation stopped, not why
        base["data"] = {}
    elif event.type == "session.sealed":  # that it ended for good, and for which cause
        base["data"] = {"cause": data["cause"]}
    elif event.type == "seat.replaced":  # the seats change; not why, not who
        base["data"] = {k: data[k] for k in ("seat", "by", "venue")}
    elif event.type in DRAW_EVENTS:  # who took part in the draw, not whom it drew
        base["data"] = draw_event_view(data, event.type)
    else:
        return {"seq": event.seq, "type": "hidden"}
    return base


def state_view(state: SessionState, viewer: Viewer) -> dict[str, Any]:
    """The whole state as ``viewer`` may see it: what a client holds after folding its events."""
    full = viewer.role in FULL_VIEW_ROLES
    public = viewer.role in PUBLIC_VIEW_ROLES
    seats: dict[str, Any] = {}
    cells: dict[str, Any] = {}
    for seat_id, seat in state.seats.items():
        visible = full or state.revealed or seat_id == viewer.seat
        if public:
            visible = True
        seats[seat_id] = {
            "venue": seat.venue,
            "enrolled": seat.key is not None if visible else None,
            "signed_in": seat.signed_in if visible else None,
            "submitted": seat.submitted if visible else None,
        }
        if full or public or visible:
            # Until the reveal, whoever does not hold the mapping files blind cells by code.
            # The public screen never learns the mapping, so it keeps blind cells by code.
            by_code = (not full and state.blind_open) or public
            cells[seat_id] = {
                (f"{c.code}/{key.split('/', 1)[1]}" if by_code and c.code else key): (
                    {"seq": c.seq} if public else _cell_json(c)
                )
                for key, c in state.cells[seat_id].items()
            }
    lot = dict(state.lot.raw)
    view = {
        "session": state.session,
        "seq": state.seq,
        "phase": str(state.phase),
        "lot": _public_lot(lot) if public else lot,
        "seats": seats,
        "cells": cells,
        "blind": blind_state_view(state, viewer.role, viewer.seat),
        "phase_times": dict(state.phase_times),
        "paused": _pause_json(state, public),
        "sealed": _seal_json(state),
        "draw": draw_state_view(state, viewer.role),
        "replacements": replacements_view(state),
    }
    if not public:
        view["committee"] = committee_state_view(state, viewer.role, viewer.seat)
        view["report"] = report_state_view(state)
        view["rollbacks"] = rollback_state_view(state, viewer.role, viewer.seat)
        view["recusals"] = recusal_state_view(state, viewer.role, viewer.seat)
        view["clarifications"] = clarifications_view(state)
        if viewer.role in FULL_VIEW_ROLES:
            view["conduct"] = conduct_view(state, viewer.role)
            view["inspection"] = inspection_view(state)
            view["fees"] = state.fees
    return view


def _pause_json(state: SessionState, public: bool) -> dict[str, Any] | None:
    if state.paused is None:
        return None
    pause: dict[str, Any] = {"since": state.paused.since_ms, "seq": state.paused.seq}
    if public:  # that it stopped, never why
        return pause
    pause["reason"] = state.paused.reason
    if state.paused.fault:
        pause["fault"] = True
    if state.paused.referred_ms is not None:
        pause["referred"] = state.paused.referred_ms
    return pause


def _seal_json(state: SessionState) -> dict[str, Any] | None:
    if state.sealed is None:
        return None
    return {"cause": state.sealed.cause, "since": state.sealed.since_ms, "seq": state.sealed.seq}


def _cell_json(cell: Any) -> dict[str, Any]:
    result = {"seq": cell.seq, "value": cell.value}
    if cell.comment is not None:
        result["comment"] = cell.comment
    return result


def apply_view(view: dict[str, Any], event: dict[str, Any], viewer: Viewer) -> None:
    """Fold one viewed event into a client's view (what clients do; tests check it)."""
    view["seq"] = event["seq"]
    kind = event["type"]
    data = event.get("data")
    if kind == "hidden" or data is None:
        return
    if kind == "session.created":
        lot = data["lot"]
        venues = {s: s.rsplit("-", 1)[0] for s in data["seats"]}
        view.update(session=event.get("session", view.get("session")), phase="prepared", lot=lot)
        view["seats"] = {
            s: {"venue": v, "enrolled": False, "signed_in": False, "submitted": False}
            for s, v in venues.items()
        }
        view["cells"] = {s: {} for s in data["seats"]}
        view["blind"] = None
        view["phase_times"] = {"prepared": event["t"]}
        view["paused"] = None
        view["sealed"] = None
        view["draw"] = None
        view["replacements"] = []
        if viewer.role not in PUBLIC_VIEW_ROLES:
            chair = lot.get("committee", {}).get("chair")
            view["committee"] = {
                "chair": chair if chair in data["seats"] else None,
                "chair_round": 1,
                "chair_votes": {},
                "proposals": {},
                "time": {"round": 1, "requests": [], "extensions": 0},
                "explanations": [],
            }
            view["report"] = None
            view["rollbacks"] = {}
            view["recusals"] = {}
            view["clarifications"] = {}
            if viewer.role in FULL_VIEW_ROLES:
                view["conduct"] = {"records": {}, "ratings": {}}
                view["inspection"] = []
                view["fees"] = None
        if viewer.role is Role.EXPERT:
            for s in data["seats"]:
                if s != viewer.seat:
                    view["seats"][s].update(enrolled=None, signed_in=None, submitted=None)
                    view["cells"].pop(s)
        return
    seat = data.get("seat")
    flags = {
        "seat.enrolled": "enrolled",
        "expert.signed_in": "signed_in",
        "sheet.submitted": "submitted",
    }
    if kind in flags:
        view["seats"][seat][flags[kind]] = True
    elif kind == "seat.key_revoked":  # enrolled again once the seat enrols a new key
        view["seats"][seat]["enrolled"] = False
    elif kind == "phase.changed":
        view["phase"] = data["to"]
        view["phase_times"][data["to"]] = event["t"]
    elif kind == "session.paused":
        view["paused"] = {"since": event["t"], "seq": event["seq"]}
        for key in ("reason", "fault"):
            if key in data:
                view["paused"][key] = data[key]
    elif kind == "session.resumed":
        view["paused"] = None
    elif kind == "fault.referred":
        if view["paused"] is not None:
            view["paused"]["referred"] = event["t"]
    elif kind == "session.sealed":
        view["sealed"] = {"cause": data["cause"], "since": event["t"], "seq": event["seq"]}
    elif kind in ("blind.assigned", "blind.revealed"):
        apply_blind_view(view, kind, data, viewer.role in FULL_VIEW_ROLES)
    elif kind in CONDUCT_EVENTS:
        apply_conduct_view(view, event)
    elif kind in DRAW_EVENTS:
        apply_draw_view(view, event, viewer.role)
    elif kind == "fees.computed" and "fees" in view:
        view["fees"] = {**data, "seq": event["seq"]}
    elif kind in CLARIFICATION_EVENTS:
        apply_clarification_view(view, event)
    elif kind in RECUSAL_EVENTS:
        sees_all = viewer.role in FULL_VIEW_ROLES | PUBLIC_VIEW_ROLES
        own = data["by"] == viewer.seat if kind == "seat.replaced" else False
        apply_recusal_view(view, event, sees_all or own or view["phase"] in REVEALED_PHASES)
    elif kind in INSPECTION_EVENTS and "inspection" in view:
        flag = {k: data[k] for k in ("rule", "seat", "subject")}
        view["inspection"].append({**flag, "detail": dict(data["detail"]), "seq": event["seq"]})
    elif kind in ROLLBACK_EVENTS:
        apply_rollback_view(view, event)
    elif kind in COMMITTEE_EVENTS:
        apply_committee_view(view, event)
    elif kind in ("report.issued", "report.signed"):
        apply_report_view(view, kind, event["seq"], data)
    elif kind == "score.set":
        head = data.get("bidder") or data["code"]
        if "code" in data and viewer.role in FULL_VIEW_ROLES:
            head = resolve_code(view, seat, data["code"]) or head
        key = f"{head}/{data['criterion']}"
        cell: dict[str, Any] = {"seq": event["seq"]}
        if "value" in data:
            cell["value"] = data["value"]
            if data.get("comment") is not None:
                cell["comment"] = data["comment"]
        view["cells"].setdefault(seat, {})[key] = cell
