"""Automated inspection (网上巡检): pure rules over the session state, each finding a flag event
that supervisors see.

A lot with an ``"inspection"`` object is inspected (thresholds in
:class:`server.domain.lot.InspectionRules`; ``{}`` takes the defaults). Rules, per seat and
bidder, once all the cells a rule looks at are filled:

- ``fast_scoring``: every typed cell of a bidder first filled within less than
  ``min_seconds_per_bidder`` (at least two cells);
- ``identical_scores``: two seats gave the same value on every subjective cell of a bidder
  (at least ``identical_min_cells``), flagged on the first seat with the other as subject;
- ``extreme_scores``: every subjective cell of a bidder at its maximum, or every one at its
  minimum (at least ``extreme_min_cells``);
- ``changed_after_flag``: after a flag on a seat and bidder, that seat changed a cell of the
  bidder without a comment saying why (the comment of ``score.set`` is the explanation);
- ``dark_seat``: the media service's ``media.alert`` for an expert seat dark or silent for at
  least ``dark_seconds``;
- ``two_connections``: one seat's token on sockets from two devices at once. Connections are not
  in the log, so this one is the shell's report (:class:`ConnectionsSeen`, the distinct
  fingerprints of the seat's live sockets); the domain checks its shape and logs it once per set.

The node's inspector asks :func:`findings` after scores come in and submits
:class:`InspectionFlag`; the domain finds the same finding again before it logs
``inspection.flagged``, so a flag is never an opinion of the shell, and each finding is logged
once. A flag is a pointer for a supervisor, not a verdict. Pure.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event
from server.domain.lot import CriterionKind, InspectionRules
from server.domain.roles import Principal, Role, require
from server.domain.state import SessionState, cell_key

RULES = (
    "fast_scoring",
    "identical_scores",
    "extreme_scores",
    "changed_after_flag",
    "dark_seat",
    "two_connections",
)
SCORE_RULES = frozenset({"fast_scoring", "identical_scores", "extreme_scores"})
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
INSPECTION_EVENTS = frozenset({"inspection.flagged"})


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    seat: str
    subject: str  # a bidder, or "<bidder>/<other seat>" for identical scores
    detail: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.seat}|{self.subject}"


@dataclass(frozen=True, slots=True)
class ConnectionsSeen:
    """The node saw ``seat``'s token on sockets with these distinct device fingerprints."""

    seat: Any
    fingerprints: Any


@dataclass(frozen=True, slots=True)
class InspectionFlag:
    """The node's inspector: a finding of :func:`findings` to log."""

    rule: str
    seat: str
    subject: str


def _filled(state: SessionState, seat: str, bidder: str, criteria: list[str]) -> list[Any] | None:
    cells = state.cells.get(seat, {})
    found = [cells.get(cell_key(bidder, c)) for c in criteria]
    return found if all(cell is not None for cell in found) else None


def findings(state: SessionState) -> list[Finding]:
    """Every finding the state shows now that is not flagged yet (empty without rules)."""
    rules = state.lot.inspection
    if rules is None:
        return []
    typed = [c.id for c in state.lot.criteria if c.typed]
    subjective = [c for c in state.lot.criteria if c.kind is CriterionKind.SUBJECTIVE]
    found: list[Finding] = []
    for bidder in (b.id for b in state.lot.bidders):
        found += _fast(state, rules, bidder, typed)
        found += _identical(state, rules, bidder, [c.id for c in subjective])
        found += _extreme(state, rules, bidder, subjective)
    found += _changed_after_flag(state)
    found += _dark(state, rules)
    return [f for f in found if f.key not in state.inspection]


def _changed_after_flag(state: SessionState) -> list[Finding]:
    out: dict[str, Finding] = {}
    for flag in sorted(state.inspection.values(), key=lambda f: f["seq"]):
        seat, bidder = flag["seat"], flag["subject"].split("/", 1)[0]
        if flag["rule"] not in SCORE_RULES or seat not in state.cells:
            continue
        changed = [
            c
            for key, c in state.cells[seat].items()
            if key.startswith(f"{bidder}/")
            and c.seq > flag["seq"]
            and not (c.comment or "").strip()
        ]
        if changed:
            detail = {"flag": flag["seq"], "cells": len(changed)}
            found = Finding("changed_after_flag", seat, bidder, detail)
            out.setdefault(found.key, found)
    return list(out.values())


def _dark(state: SessionState, rules: InspectionRules) -> list[Finding]:
    return [
        Finding(
            "dark_seat",
            a["seat"],
            f"{a['kind']}.{a['seq']}",
            {"kind": a["kind"], "dark_ms": a["dark_ms"], "alert": a["seq"]},
        )
        for a in state.media_alerts
        if a["dark_ms"] >= rules.dark_seconds * 1000 and a["seat"] in state.seats
    ]


def _fast(
    state: SessionState, rules: InspectionRules, bidder: str, typed: list[str]
) -> list[Finding]:
    if len(typed) < 2:
        return []
    out = []
    for seat in state.seats:
        cells = _filled(state, seat, bidder, typed)
        if cells is None:
            continue
        seconds = (max(c.first_ms for c in cells) - min(c.first_ms for c in cells)) / 1000
        if seconds < rules.min_seconds_per_bidder:
            detail = {"cells": len(cells), "seconds": int(seconds)}
            out.append(Finding("fast_scoring", seat, bidder, detail))
    return out


def _identical(
    state: SessionState, rules: InspectionRules, bidder: str, criteria: list[str]
) -> list[Finding]:
    if len(criteria) < rules.identical_min_cells:
        return []
    vectors = {}
    for seat in state.seats:
        cells = _filled(state, seat, bidder, criteria)
        if cells is not None:
            vectors[seat] = [Decimal(c.value) for c in cells]
    out = []
    for first, other in itertools.combinations(sorted(vectors), 2):
        if vectors[first] == vectors[other]:
            detail = {"bidder": bidder, "with": other, "cells": len(criteria)}
            out.append(Finding("identical_scores", first, f"{bidder}/{other}", detail))
    return out


def _extreme(
    state: SessionState, rules: InspectionRules, bidder: str, criteria: list[Any]
) -> list[Finding]:
    if len(criteria) < rules.extreme_min_cells:
        return []
    out = []
    for seat in state.seats:
        cells = _filled(state, seat, bidder, [c.id for c in criteria])
        if cells is None:
            continue
        values = [Decimal(cell.value) for cell in cells]
        for extreme, bound in (
            ("max", [c.max for c in criteria]),
            ("min", [c.min for c in criteria]),
        ):
            if values == bound:
                detail = {"extreme": extreme, "cells": len(values)}
                out.append(Finding("extreme_scores", seat, bidder, detail))
    return out


def check_flag(state: SessionState, principal: Principal, command: InspectionFlag) -> list[Draft]:
    """Log a finding the state shows (and that is not logged yet)."""
    require(principal, Role.NODE, "only the node's inspector flags")
    wanted = f"{command.rule}|{command.seat}|{command.subject}"
    finding = next((f for f in findings(state) if f.key == wanted), None)
    if finding is None:
        raise CommandError(Code.NOT_DUE, f"no finding {wanted} in the state now")
    return [_flagged_draft(principal, finding)]


def _flagged_draft(principal: Principal, finding: Finding) -> Draft:
    data = {"rule": finding.rule, "seat": finding.seat, "subject": finding.subject}
    return Draft("inspection.flagged", principal.actor, {**data, "detail": finding.detail})


def check_connections(
    state: SessionState, principal: Principal, command: ConnectionsSeen
) -> list[Draft]:
    """The shell's report of one seat on two devices at once, logged once per set of devices."""
    require(principal, Role.NODE, "only the node reports connections")
    if state.lot.inspection is None:
        raise CommandError(Code.NOT_DUE, "this lot is not inspected")
    seat = state.seat_named(command.seat).seat
    prints = command.fingerprints
    if not isinstance(prints, list) or not all(
        isinstance(p, str) and _FINGERPRINT.match(p) for p in prints
    ):
        raise CommandError(Code.MALFORMED, "fingerprints are 16 lowercase hex digits each")
    distinct = sorted(set(prints))
    if len(distinct) < 2:
        raise CommandError(Code.NOT_DUE, "one device is not two connections")
    finding = Finding("two_connections", seat, ",".join(distinct), {"devices": len(distinct)})
    if finding.key in state.inspection:
        raise CommandError(Code.NOT_DUE, "these connections are flagged already")
    return [_flagged_draft(principal, finding)]


def inspection_view(state: SessionState) -> list[dict[str, Any]]:
    """The flags in log order, for the roles that see everything."""
    return sorted((dict(flag) for flag in state.inspection.values()), key=lambda f: f["seq"])


def _flagged(state: SessionState, data: dict[str, Any], event: Event) -> None:
    flag = {k: data[k] for k in ("rule", "seat", "subject")}
    state.inspection[f"{data['rule']}|{data['seat']}|{data['subject']}"] = {
        **flag,
        "detail": dict(data["detail"]),
        "seq": event.seq,
    }


def _media_alert(state: SessionState, data: dict[str, Any], event: Event) -> None:
    role, _, seat = str(data["member"]).partition(":")
    if role == "expert":
        alert = {"seq": event.seq, "seat": seat, "kind": data["kind"], "dark_ms": data["dark_ms"]}
        state.media_alerts.append(alert)


INSPECTION_FOLDS = {"inspection.flagged": _flagged, "media.alert": _media_alert}


# No staff command: only the node's inspector.
CHECKS: dict[type, Check] = {InspectionFlag: check_flag, ConnectionsSeen: check_connections}
