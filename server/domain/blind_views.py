"""Per-role views of the blind draw (暗标): see :mod:`views`.

What each role sees:

* supervisors, auditors, admins: the whole mapping, live;
* an expert: their own codes in their own order, without bidders, until ``blind.revealed``;
* the public screen: that a blind draw exists and that it was revealed, never the mapping (with
  the times of the cells it would tell who scored which bidder when).

``blind_state_view`` builds the part of ``state_view``; ``apply_blind_view`` folds a viewed event
into it (moving blind cells from their codes to their bidders at the reveal).
"""

from __future__ import annotations

from typing import Any

from server.domain.roles import FULL_VIEW_ROLES, PUBLIC_VIEW_ROLES, Role
from server.domain.state import SessionState


def blind_event_data(data: dict[str, Any], role: Role, seat: str | None) -> dict[str, Any]:
    """``blind.assigned`` as ``role`` sees it: an expert gets their own codes, without bidders."""
    if role in FULL_VIEW_ROLES:
        return data
    if seat not in data["seats"]:  # no seat, or one that is no member (replaced): no codes
        return {"seats": {}, "criteria": data["criteria"]}
    mine = {seat: [[code, None] for code, _ in data["seats"][seat]]}
    return {"seats": mine, "criteria": data["criteria"]}


def blind_state_view(state: SessionState, role: Role, seat: str | None) -> dict[str, Any] | None:
    """The blind draw as ``role`` may see it (None when the session has none)."""
    blind = state.blind
    if blind is None:
        return None
    seats: dict[str, list[list[str | None]]] = {
        s: [[c, b] for c, b in pairs] for s, pairs in blind.seats.items()
    }
    if role in PUBLIC_VIEW_ROLES:
        seats = {}  # which code was which bidder is of no use to a waiting room, and it would
        # tell, with the times of the cells, who scored which bidder when
    elif not blind.revealed and role not in FULL_VIEW_ROLES:
        seats = {seat: [[c, None] for c, _ in seats[seat]]} if seat in seats else {}
    return {"revealed": blind.revealed, "seats": seats}


def resolve_code(view: dict[str, Any], seat: str, code: str) -> str | None:
    """The bidder behind ``seat``'s ``code`` in a client's view (None if it cannot know)."""
    pairs = (view.get("blind") or {}).get("seats", {}).get(seat, [])
    return next((b for c, b in pairs if c == code), None)


def apply_blind_view(view: dict[str, Any], kind: str, data: dict[str, Any], full: bool) -> None:
    """Fold ``blind.assigned``/``blind.revealed`` into a client's view."""
    view["blind"] = {"revealed": kind == "blind.revealed", "seats": data["seats"]}
    if kind != "blind.revealed" or full:
        return
    # A client that held blind cells under its codes now files them under the bidders.
    for seat, cells in view.get("cells", {}).items():
        mapping = dict(data["seats"].get(seat, []))
        for key in list(cells):
            head, criterion = key.split("/", 1)
            if head in mapping:
                cells[f"{mapping[head]}/{criterion}"] = cells.pop(key)
    for item in (view.get("committee") or {}).get("explanations", []):
        if item["code"] is not None and item["bidder"] is None:
            pairs = data["seats"].get(item["seat"], [])
            item["bidder"] = next((b for c, b in pairs if c == item["code"]), None)
