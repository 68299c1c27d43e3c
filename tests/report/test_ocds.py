"""The outcome as an OCDS 1.1 release, from the sample day (a rejection, a ranking).

What the published schema requires of a release (1.1.5 ``release-schema.json``: ``ocid``, ``id``,
``date``, ``tag``, ``initiationType``; tender ``id``; award ``id``; the ``tenderStatus``,
``awardStatus`` and the bid extension's ``bidStatus`` codelists) is checked here from the
constants below. The schema files themselves are not in this repository (see docs/OPEN_DATA.md
for the validation against them and why it is not part of CI).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from server.domain.state import Phase
from server.report.ocds import release, release_package
from tests.domain.test_session_flow import full_day, whole_session

RELEASE_REQUIRED = {"ocid", "id", "date", "tag", "initiationType"}
TENDER_STATUS = {
    "planning",
    "planned",
    "active",
    "cancelled",
    "unsuccessful",
    "complete",
    "withdrawn",
}
AWARD_STATUS = {"pending", "active", "cancelled", "unsuccessful"}
BID_STATUS = {"invited", "pending", "valid", "disqualified", "withdrawn"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def day(lot_json: dict[str, Any]) -> Any:
    return full_day(lot_json)


def test_the_release_has_what_ocds_requires(day: Any) -> None:
    found = release(day.state)
    assert found.keys() >= RELEASE_REQUIRED
    assert DATE.match(found["date"])
    assert found["tender"]["status"] in TENDER_STATUS
    assert found["tender"]["numberOfTenderers"] == 5
    assert {b["status"] for b in found["bids"]["details"]} <= BID_STATUS
    assert all(a["status"] in AWARD_STATUS and a["id"] for a in found["awards"])
    package = release_package([found], "https://example.org/x.json", found["date"], "中心")
    assert package["version"] == "1.1"
    assert json.loads(json.dumps(package, ensure_ascii=False)) == package  # plain JSON


def test_rejections_and_candidates(day: Any) -> None:
    found = release(day.state)
    rejected = {
        b["tenderers"][0]["id"]: b
        for b in found["bids"]["details"]
        if b["status"] == "disqualified"
    }
    assert set(rejected) == set(day.state.committee.rejected())
    for bid in rejected.values():
        assert bid["description"].startswith("否决投标")
    awards = found["awards"]
    assert [a["title"][:5] for a in awards] == [
        f"第{n}中标候选人"[:5] for n in range(1, len(awards) + 1)
    ]
    assert all(a["status"] == "pending" for a in awards)  # proposed; the tenderer decides
    assert not {a["suppliers"][0]["id"] for a in awards} & set(rejected)
    assert "contracts" not in found


def test_no_expert_is_named_and_nothing_before_the_close(
    day: Any, lot_json: dict[str, Any]
) -> None:
    text = json.dumps(release(day.state), ensure_ascii=False)
    for seat in (*day.state.seats, "expert:", '"signed"', '"sig"'):  # no seat, no signature
        assert seat not in text
    session = whole_session(lot_json)
    session.state.phase = Phase.REVIEW  # the same state, one phase earlier
    with pytest.raises(ValueError, match="closed"):
        release(session.state)
