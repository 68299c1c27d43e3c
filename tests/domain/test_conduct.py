"""Expert conduct: misconduct records by 条例 Art. 71 with evidence that exists, one rating per
member in review, and neither shown to the members or the public screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.domain.commands import AdvancePhase
from server.domain.conduct import CATEGORIES, RateExpert, RecordMisconduct
from server.domain.errors import Code
from server.domain.roles import Role
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import ADMIN, SUP
from tests.domain.test_pause import EXPERT, refused, scoring
from tests.domain.test_rollback import submitted

ART_71 = 8  # the categories of 条例 Art. 71, "other" included


def test_a_record_points_at_evidence_and_only_staff_see_it(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    assert len(CATEGORIES) == ART_71
    evidence = {"seq": session.state.seq, "recording_ms": 1_795_000_000_000}
    (recorded,) = session.run(
        SUP, RecordMisconduct("host-2", "private_contact", "使用手机与外部通话", evidence)
    )
    assert recorded.data == {
        "misconduct": "M1",
        "seat": "host-2",
        "category": "private_contact",
        "note": "使用手机与外部通话",
        "evidence": evidence,
    }
    seen = state_view(session.state, Viewer(Role.SUPERVISOR))["conduct"]["records"]["M1"]
    assert (seen["seat"], seen["by"], seen["evidence"]) == ("host-2", "supervisor:sup-1", evidence)
    for viewer in (Viewer(Role.EXPERT, "host-2"), Viewer(Role.PUBLIC)):
        assert "conduct" not in state_view(session.state, viewer)
        assert event_view(recorded, viewer, False)["type"] == "hidden"
    snapshot = state_to_json(session.state)
    assert state_to_json(state_from_json(snapshot)) == snapshot


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (("host-9", "left_post", "x", None), Code.UNKNOWN_SEAT),
        (("host-1", "rude", "x", None), Code.MALFORMED),
        (("host-1", {"left_post": 1}, "x", None), Code.MALFORMED),  # unhashable: was a TypeError
        (("host-1", ["left_post"], "x", None), Code.MALFORMED),
        (("host-1", "left_post", " ", None), Code.REASON_REQUIRED),
        (("host-1", "left_post", "x", {"seq": 10**6}), Code.MALFORMED),  # not in the log
        (("host-1", "left_post", "x", {"seq": -1}), Code.MALFORMED),
        (("host-1", "left_post", "x", {"page": 3}), Code.MALFORMED),
        (("host-1", "left_post", "x", {"recording_ms": True}), Code.MALFORMED),
    ],
)
def test_a_record_needs_a_seat_a_category_a_note_and_real_evidence(
    lot_json: dict[str, Any], fields: tuple[Any, ...], code: Code
) -> None:
    session = scoring(lot_json)
    refused(code, lambda: session.run(SUP, RecordMisconduct(*fields)))


def test_each_member_is_rated_once_in_review(lot_json: dict[str, Any]) -> None:
    session = submitted(lot_json)
    refused(Code.WRONG_PHASE, lambda: session.run(SUP, RateExpert("host-1", "good")))
    session.run(SUP, AdvancePhase("review"))
    for who in (ADMIN, EXPERT):
        refused(Code.FORBIDDEN, lambda who=who: session.run(who, RateExpert("host-1", "good")))
        refused(
            Code.FORBIDDEN,
            lambda who=who: session.run(who, RecordMisconduct("host-1", "other", "x")),
        )
    refused(Code.MALFORMED, lambda: session.run(SUP, RateExpert("host-1", "superb")))
    (rated,) = session.run(SUP, RateExpert("host-1", "excellent", "评审认真"))
    assert rated.data == {"seat": "host-1", "rating": "excellent", "note": "评审认真"}
    refused(Code.ALREADY_RATED, lambda: session.run(SUP, RateExpert("host-1", "good")))
    ratings = state_view(session.state, Viewer(Role.AUDITOR))["conduct"]["ratings"]
    assert ratings["host-1"]["rating"] == "excellent"


def test_the_consoles_categories_are_the_domains() -> None:
    text = (Path(__file__).parents[2] / "client_web" / "console_conduct.js").read_text("utf-8")
    found = [line.split('"')[1] for line in text.splitlines() if line.strip().startswith('["')]
    assert found[: len(CATEGORIES)] == list(CATEGORIES)
    for code, (zh, _en) in CATEGORIES.items():
        assert zh in text, code
