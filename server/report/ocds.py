"""The evaluation outcome as an Open Contracting Data Standard (OCDS 1.1) release.

One release per closed session, built from the projection alone (pure, no clock: the date is the
close's): the tender (the lot: its code and name, the price cap, the number of tenderers, the
award criteria of the method), every bid with its status (``valid``, or ``disqualified`` with
its ground of 条例 Art. 51 and the committee's reason; the ``bids`` extension's fields), and the
committee's ranked candidates (评标委员会推荐的中标候选人) as awards with status ``pending``: the
tenderer decides the award later (评定分离), so no award is ``active`` and no contract exists.
Experts are never named. Prices are in CNY.

Tags: ``tender`` and ``awardUpdate`` (the candidates are proposed awards). ``ocid`` is the
publisher's prefix (registered with the OCDS helpdesk; ``EVALROOM_OCID_PREFIX``) and the lot's
code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain.committee_rejection import GROUNDS
from server.domain.results import results
from server.domain.state import Phase, SessionState

OCDS_VERSION = "1.1"
BIDS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
    "v1.1.5/extension.json"
)
DEFAULT_PREFIX = "ocds-evalrm"
AWARD_CRITERIA = {"comprehensive": "ratedCriteria", "lowest_price": "lowestCost"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _value(amount: Any) -> dict[str, Any]:
    return {"amount": float(amount), "currency": "CNY"}


def release(state: SessionState, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The release of a closed session (``ValueError`` before the close)."""
    if state.phase is not Phase.CLOSED:
        raise ValueError("the outcome is published once the session is closed")
    lot = state.lot
    found = results(state)
    date = _iso(state.phase_times[str(Phase.CLOSED)])
    ocid = f"{prefix}-{lot.project_code}"
    parties = [{"id": b.id, "name": b.name, "roles": ["tenderer"]} for b in lot.bidders]
    tender: dict[str, Any] = {
        "id": lot.project_code,
        "title": lot.project_name,
        "status": "complete",
        "awardCriteria": AWARD_CRITERIA.get(found.method, "ratedCriteria"),
        "numberOfTenderers": len(lot.bidders),
        "tenderers": [{"id": b.id, "name": b.name} for b in lot.bidders],
    }
    if lot.max_price_cny is not None:
        tender["value"] = _value(lot.max_price_cny)
    details = []
    for bidder in lot.bidders:
        bid: dict[str, Any] = {
            "id": f"{lot.project_code}-{bidder.id}",
            "date": date,
            "status": "valid",
            "tenderers": [{"id": bidder.id, "name": bidder.name}],
            "value": _value(bidder.price_cny),
        }
        rejection = found.rejected.get(bidder.id)
        if rejection is not None:
            zh, en = GROUNDS.get(rejection["ground"], (rejection["ground"], ""))
            bid["status"] = "disqualified"
            bid["description"] = f"否决投标：{zh}（{en}）。{rejection['reason']}"
        details.append(bid)
    awards = []
    for line in found.ranking:
        if not line.recommended:
            continue
        listed = lot.bidder(line.bidder)
        name = listed.name if listed else line.bidder
        total = "" if line.total is None else f"，综合得分 {line.total}"
        awards.append(
            {
                "id": f"{lot.project_code}-candidate-{line.rank}",
                "title": f"第{line.rank}中标候选人 Candidate {line.rank}",
                "description": f"评标委员会推荐，待招标人定标{total} (proposed, not awarded)",
                "status": "pending",
                "date": date,
                "value": _value(line.price),
                "suppliers": [{"id": line.bidder, "name": name}],
            }
        )
    return {
        "ocid": ocid,
        "id": f"{ocid}-{state.session}-evaluation",
        "date": date,
        "tag": ["tender", "awardUpdate"],
        "initiationType": "tender",
        "language": "zh",
        "parties": parties,
        "tender": tender,
        "bids": {
            "statistics": [
                {"id": "1", "measure": "bids", "value": len(details)},
                {
                    "id": "2",
                    "measure": "disqualifiedBids",
                    "value": sum(1 for d in details if d["status"] == "disqualified"),
                },
            ],
            "details": details,
        },
        "awards": awards,
    }


def release_package(
    releases: list[dict[str, Any]], uri: str, published: str, publisher: str
) -> dict[str, Any]:
    """A release package around ``releases`` (the form OCDS data is published in)."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BIDS_EXTENSION],
        "publishedDate": published,
        "publisher": {"name": publisher},
        "releases": releases,
    }
