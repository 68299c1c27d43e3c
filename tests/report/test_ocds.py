"""The outcome as an OCDS 1.1 release, from the sample day (a rejection, a ranking), validated
against the published OCDS 1.1.4 release schema (``scripts/fetch-ocds-schema.sh``, run by
``make test``, puts it in ``.venv/ocds/``; without it the validation skips, except in CI).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from server.domain.state import Phase
from server.report.ocds import release, release_package
from tests.domain.days import full_day, whole_session

SCHEMA = Path(__file__).resolve().parents[2] / ".venv" / "ocds" / "release-schema-1__1__4.json"
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


def published_schema() -> dict[str, Any]:
    if not SCHEMA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SCHEMA} is missing: make test fetches it (scripts/fetch-ocds-schema.sh)")
        pytest.skip("the OCDS schema is not fetched: run sh scripts/fetch-ocds-schema.sh")
    schema: dict[str, Any] = json.loads(SCHEMA.read_text("utf-8"))
    return schema


def test_the_release_validates_against_the_published_schema(day: Any) -> None:
    schema = published_schema()
    assert schema["id"].endswith("/1__1__4/release-schema.json")
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    found = release(day.state)
    assert [e.message for e in validator.iter_errors(found)] == []
    broken = {**found, "tender": {**found["tender"], "status": "evaluated"}}  # not in the codelist
    assert [list(e.path) for e in validator.iter_errors(broken)] == [["tender", "status"]]


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
