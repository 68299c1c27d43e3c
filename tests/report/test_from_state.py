"""The report filled from the projection of the sample day (pure: no server, no clock)."""

from __future__ import annotations

from typing import Any

from server.auditlog.merkle import root_from_leaves
from server.report.codec import content_sha256, report_from_dict, report_to_dict
from server.report.from_state import iso_time, report_content
from tests.domain.driver import EXPECTED_RANKING, EXPECTED_TOTALS, Session, sample_day


def _reviewed(lot_json: dict[str, Any]) -> Session:
    session = Session(lot_json)
    session.enrol_all()
    for step in sample_day()[:-1]:  # stop in review, where the report is issued
        session.step(step)
    return session


def test_sample_day_report_matches_the_committee_results(lot_json: dict[str, Any]) -> None:
    session = _reviewed(lot_json)
    root = root_from_leaves([e.hash for e in session.events])
    content = report_content(session.state, 1_795_400_000_000, root)
    ranking = [(line.bidder_id, line.rank, line.recommended) for line in content.ranking]
    assert ranking == EXPECTED_RANKING
    assert {line.bidder_id: line.total for line in content.ranking} == {
        b: str(t) for b, t in EXPECTED_TOTALS.items()
    }
    (rejection,) = content.rejections
    assert (rejection.bidder_id, rejection.ground) == ("B4", 1)  # 条例 Art. 51 item 1
    assert (rejection.votes_for, rejection.votes_cast) == (5, 7)
    assert content.log_seq == session.state.seq
    assert content.log_root == root.hex()
    assert content.generated_at == iso_time(1_795_400_000_000)
    assert content.generated_at.endswith("+08:00")
    assert {m.seat_id for m in content.committee if m.chair} == {session.state.committee.chair}
    assert content.price is not None
    assert "B4" not in {p.bidder_id for p in content.price.scores}
    assert any(f.kind == "deviation" and f.explanations for f in content.flags)
    seats = {s.seat_id for s in content.sheets}
    assert seats == set(session.state.seats)
    # The content survives its own dict form, so the archived JSON re-renders the same report.
    assert content_sha256(report_from_dict(report_to_dict(content))) == content_sha256(content)
