"""The automated inspection: each rule's finding with the lot's thresholds, logged once by the
node and only when the state shows it; nothing for a lot that asks for no inspection."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.commands import AdvancePhase
from server.domain.errors import Code, CommandError
from server.domain.inspection import ConnectionsSeen, InspectionFlag, findings
from server.domain.lot import parse_lot
from server.domain.media import MediaRecord
from server.domain.roles import Principal, Role
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import SUP, S, Session
from tests.domain.test_committee import signed_in
from tests.domain.test_pause import refused

NODE = Principal(Role.NODE, S, "timer")
MEDIA = Principal(Role.MEDIA, S, "node")


def scoring(lot: dict[str, Any], **thresholds: int) -> Session:
    session = signed_in({**lot, "inspection": thresholds})
    session.run(SUP, AdvancePhase("scoring"))
    return session


def fill(session: Session, seat: str, bidder: str, value: Any, gap_ms: int = 0) -> None:
    """Every typed cell of ``bidder`` on ``seat``: ``value`` is a callable of the criterion."""
    for criterion in (c for c in session.state.lot.criteria if c.typed):
        if gap_ms:
            session.clock = iter(range(next(session.clock) + gap_ms, 10**15))
        fields = session.blind_fields(seat, {"bidder": bidder, "criterion": criterion.id})
        session.expert(seat, "score.set", **fields, value=value(criterion))


def middle(criterion: Any) -> str:
    return (
        str(criterion.min + (criterion.max - criterion.min) / 2)
        if criterion.kind == "subjective"
        else str(criterion.max)
    )


def test_a_bidder_scored_too_fast_is_flagged_once(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json, min_seconds_per_bidder=60)
    fill(session, "host-1", "B1", middle)  # the driver's clock: a millisecond per event
    fill(session, "host-2", "B1", middle, gap_ms=20_000)  # 20 s per cell: over a minute
    fast = [f for f in findings(session.state) if f.rule == "fast_scoring"]
    assert [(f.seat, f.subject) for f in fast] == [("host-1", "B1")]
    (flagged,) = session.run(NODE, InspectionFlag("fast_scoring", "host-1", "B1"))
    assert flagged.data["detail"]["seconds"] < 60
    refused(Code.NOT_DUE, lambda: session.run(NODE, InspectionFlag("fast_scoring", "host-1", "B1")))
    refused(Code.NOT_DUE, lambda: session.run(NODE, InspectionFlag("fast_scoring", "host-2", "B1")))
    refused(
        Code.FORBIDDEN, lambda: session.run(SUP, InspectionFlag("fast_scoring", "host-1", "B2"))
    )
    view = state_view(session.state, Viewer(Role.SUPERVISOR))["inspection"]
    assert [(f["rule"], f["seat"], f["seq"]) for f in view] == [
        ("fast_scoring", "host-1", flagged.seq)
    ]
    for viewer in (Viewer(Role.EXPERT, "host-1"), Viewer(Role.PUBLIC)):
        assert "inspection" not in state_view(session.state, viewer)
        assert event_view(flagged, viewer, False)["type"] == "hidden"


def test_identical_and_extreme_sheets_are_flagged(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json, min_seconds_per_bidder=1)
    fill(session, "host-1", "B2", middle, gap_ms=2000)
    fill(session, "host-2", "B2", middle, gap_ms=2000)
    fill(session, "host-3", "B2", lambda c: str(c.max), gap_ms=2000)
    fill(session, "host-4", "B2", lambda c: str(c.min), gap_ms=2000)
    found = {(f.rule, f.seat, f.subject) for f in findings(session.state)}
    assert found == {
        ("identical_scores", "host-1", "B2/host-2"),
        ("extreme_scores", "host-3", "B2"),
        ("extreme_scores", "host-4", "B2"),
    }
    for rule, seat, subject in sorted(found):
        session.run(NODE, InspectionFlag(rule, seat, subject))
    assert findings(session.state) == []


def test_thresholds_are_the_lots_and_no_inspection_without_them(lot_json: dict[str, Any]) -> None:
    plain = signed_in(lot_json)
    plain.run(SUP, AdvancePhase("scoring"))
    fill(plain, "host-1", "B1", lambda c: str(c.max))
    assert findings(plain.state) == []
    strict = scoring(lot_json, extreme_min_cells=99, identical_min_cells=99)
    fill(strict, "host-1", "B1", lambda c: str(c.max))
    fill(strict, "host-2", "B1", lambda c: str(c.max))
    assert {f.rule for f in findings(strict.state)} == {"fast_scoring"}


@pytest.mark.parametrize(
    "inspection",
    [{"min_seconds_per_bidder": 0}, {"speed": 5}, [], {"extreme_min_cells": "3"}],
)
def test_a_lot_with_bad_thresholds_is_refused(lot_json: dict[str, Any], inspection: Any) -> None:
    with pytest.raises(CommandError) as caught:
        parse_lot({**lot_json, "inspection": inspection})
    assert caught.value.code is Code.BAD_LOT


def test_a_change_after_a_flag_needs_a_comment(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json, min_seconds_per_bidder=60)
    fill(session, "host-1", "B1", middle)
    session.run(NODE, InspectionFlag("fast_scoring", "host-1", "B1"))
    fields = session.blind_fields("host-1", {"bidder": "B1", "criterion": "T1"})
    session.expert("host-1", "score.set", **fields, value="7", comment="复核后调整")  # explained
    assert [f.rule for f in findings(session.state)] == []
    session.expert("host-1", "score.set", **fields, value="8")  # changed, no reason given
    (found,) = findings(session.state)
    assert (found.rule, found.seat, found.subject, found.detail["cells"]) == (
        "changed_after_flag",
        "host-1",
        "B1",
        1,
    )
    session.run(NODE, InspectionFlag("changed_after_flag", "host-1", "B1"))
    assert findings(session.state) == []


def test_a_dark_seat_is_flagged_past_its_threshold(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json, dark_seconds=60)
    for seat, dark_ms in (("host-1", 30_000), ("host-2", 90_000)):
        alert = {"member": f"expert:{seat}", "kind": "video", "dark_ms": dark_ms}
        session.run(MEDIA, MediaRecord("media.alert", alert))
    (found,) = findings(session.state)
    assert (found.rule, found.seat, found.detail["dark_ms"]) == ("dark_seat", "host-2", 90_000)
    session.run(NODE, InspectionFlag("dark_seat", found.seat, found.subject))
    assert findings(session.state) == []


def test_one_seat_on_two_devices_is_flagged_once(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    one, two = "0123456789abcdef", "fedcba9876543210"
    refused(Code.NOT_DUE, lambda: session.run(NODE, ConnectionsSeen("host-1", [one, one])))
    refused(Code.MALFORMED, lambda: session.run(NODE, ConnectionsSeen("host-1", ["x", two])))
    refused(Code.FORBIDDEN, lambda: session.run(SUP, ConnectionsSeen("host-1", [one, two])))
    (flagged,) = session.run(NODE, ConnectionsSeen("host-1", [two, one]))
    assert flagged.data == {
        "rule": "two_connections",
        "seat": "host-1",
        "subject": f"{one},{two}",
        "detail": {"devices": 2},
    }
    refused(Code.NOT_DUE, lambda: session.run(NODE, ConnectionsSeen("host-1", [one, two])))
    plain = Session(lot_json)  # not inspected: nothing is logged
    refused(Code.NOT_DUE, lambda: plain.run(NODE, ConnectionsSeen("host-1", [one, two])))
