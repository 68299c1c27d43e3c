"""The report model: validation, dict round trip, and the content hash."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from decimal import Decimal
from typing import Any

import pytest

from server.report.codec import (
    content_bytes,
    content_sha256,
    report_from_dict,
    report_to_dict,
    signatures_from_dicts,
)
from server.report.model import (
    Project,
    RankLine,
    ReportContent,
    ReportError,
    Score,
)
from server.report.signatures import MemberSignature, signature_block
from tests.report.sample import build_content, sample_signatures

HASH = "ab" * 32

TINY: dict[str, Any] = {
    "format": "evalroom.report/1",
    "session_id": "s1",
    "generated_at": "2026-11-23T11:40:00+08:00",
    "project": {
        "tender_no": "T-1",
        "name": "测试工程",
        "lot": "第一标段",
        "method": "comprehensive",
    },
    "committee": [{"seat_id": "a", "display_name": "甲", "venue": "主场", "chair": True}],
    "bidders": [{"id": "B1", "name": "乙公司", "price_cny": "100"}],
    "criteria": [
        {"id": "T1", "group": "technical", "name": "方案", "kind": "subjective", "max_points": "10"}
    ],
    "sheets": [
        {"seat_id": "a", "scores": [{"bidder_id": "B1", "criterion_id": "T1", "value": "7.5"}]}
    ],
    "aggregates": [{"bidder_id": "B1", "criterion_id": "T1", "value": "7.50"}],
    "price": None,
    "ranking": [
        {"bidder_id": "B1", "rank": 1, "total": "7.50", "price_cny": "100", "recommended": True}
    ],
}


def _dict() -> dict[str, Any]:
    return report_to_dict(build_content())


def test_the_sample_round_trips_through_its_dict_form() -> None:
    content = build_content()
    assert report_from_dict(report_to_dict(content)) == content


# The exact bytes of TINY: sorted keys, no whitespace, UTF-8, every field present (defaults too).
TINY_BYTES = (
    '{"aggregates":[{"bidder_id":"B1","criterion_id":"T1","dropped_seats":[],"value":"7.50"}],'
    '"bidders":[{"credit":"","id":"B1","name":"乙公司","price_cny":"100"}],'
    '"committee":[{"chair":true,"display_name":"甲","seat_id":"a","venue":"主场"}],'
    '"criteria":[{"group":"technical","id":"T1","kind":"subjective","max_points":"10",'
    '"name":"方案"}],"flags":[],"format":"evalroom.report/1",'
    '"generated_at":"2026-11-23T11:40:00+08:00","log_root":"","log_seq":null,'
    '"max_candidates":3,"price":null,"project":{"lot":"第一标段","max_price_cny":null,'
    '"method":"comprehensive","name":"测试工程","tender_no":"T-1"},'
    '"ranking":[{"bidder_id":"B1","price_cny":"100","rank":1,"recommended":true,'
    '"subtotals":[],"tie_at_cut":false,"total":"7.50"}],"rejections":[],"session_id":"s1",'
    '"sheets":[{"scores":[{"bidder_id":"B1","comment":"","criterion_id":"T1","value":"7.5"}],'
    '"seat_id":"a","submitted_at":""}]}'
).encode()


def test_content_bytes_are_canonical_and_the_hash_is_pinned() -> None:
    content = report_from_dict(TINY)
    assert content_bytes(content) == TINY_BYTES
    # Pinned: a change here changes every report hash ever signed; bump REPORT_FORMAT instead.
    assert content_sha256(content) == hashlib.sha256(TINY_BYTES).hexdigest()
    assert content_sha256(content) == (
        "d2f7c22f14cd9b9444ddb6255e5494312b0644afcb2fe6abbf35607b0fb3a255"
    )


def test_same_input_gives_the_same_hash() -> None:
    assert content_sha256(build_content()) == content_sha256(build_content())
    assert content_sha256(report_from_dict(_dict())) == content_sha256(build_content())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("project", "name"), "另一个工程"),
        (("generated_at",), "2026-11-23T11:41:00+08:00"),
        (("log_seq",), 1843),
        (("committee", 0, "display_name"), "王建"),
        (("sheets", 0, "scores", 0, "value"), "9.5"),
        (("sheets", 0, "scores", 0, "comment"), "补充意见"),
        (("aggregates", 0, "value"), "8.51"),
        (("price", "benchmark_cny"), "34940000.01"),
        (("rejections", 0, "reason"), "另一理由"),
        (("flags", 0, "explanations", 0, "text"), "另一说明"),
        (("ranking", 0, "total"), "92.89"),
        (("bidders", 0, "credit"), "AA"),
    ],
)
def test_any_field_change_changes_the_hash(path: tuple[Any, ...], value: Any) -> None:
    data = _dict()
    before = content_sha256(report_from_dict(data))
    changed = copy.deepcopy(data)
    target = changed
    for key in path[:-1]:
        target = target[key]
    assert target[path[-1]] != value
    target[path[-1]] = value
    assert content_sha256(report_from_dict(changed)) != before


def test_decimals_and_ints_are_accepted_floats_are_not() -> None:
    data = copy.deepcopy(TINY)
    data["bidders"][0]["price_cny"] = Decimal("100")
    data["aggregates"][0]["value"] = Decimal("7.50")
    assert report_from_dict(data) == report_from_dict(TINY)
    data["aggregates"][0]["value"] = 7.5
    with pytest.raises(ReportError, match="expected a string"):
        report_from_dict(data)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(extra=1), "unknown fields extra"),
        (lambda d: d.update(format="evalroom.report/0"), "unsupported report format"),
        (lambda d: d["project"].update(method="auction"), "unknown method"),
        (lambda d: d["sheets"][0].update(seat_id="zz"), "seat not in committee"),
        (lambda d: d["aggregates"][0].update(value="7,5"), "not a decimal"),
        (lambda d: d["aggregates"][0].update(value="NaN"), "not a finite decimal"),
        (lambda d: d["ranking"][0].update(recommended=False), "recommended"),
        (lambda d: d["committee"].append(dict(d["committee"][0], seat_id="b")), "chair"),
        (lambda d: d["ranking"][0].pop("price_cny"), "price_cny"),
    ],
)
def test_malformed_content_is_refused(mutate: Any, message: str) -> None:
    data = copy.deepcopy(TINY)
    mutate(data)
    with pytest.raises(ReportError, match=message):
        report_from_dict(data)


def test_a_rejected_bid_is_never_ranked_nor_priced() -> None:
    content = build_content()
    rejected = content.rejections[0].bidder_id
    line = RankLine(rejected, 5, "1.00", "37900000")
    with pytest.raises(ReportError, match="rejected bidder"):
        dataclasses.replace(content, ranking=(*content.ranking, line))


def test_at_most_three_candidates_unless_tied_at_the_cut() -> None:
    content = build_content()
    fourth = dataclasses.replace(content.ranking[3], recommended=True)
    with pytest.raises(ReportError, match="recommended"):
        dataclasses.replace(content, ranking=(*content.ranking[:3], fourth))
    # Ranks 1, 2, 3, 3: both thirds are recommended, each marked tie_at_cut.
    tied = [dataclasses.replace(x, rank=min(x.rank, 3)) for x in content.ranking]
    tied[2:] = [dataclasses.replace(x, recommended=True, tie_at_cut=True) for x in tied[2:]]
    assert (
        sum(x.recommended for x in dataclasses.replace(content, ranking=tuple(tied)).ranking) == 4
    )


def test_rejection_needs_a_ground_of_article_51_and_a_reason() -> None:
    data = report_to_dict(build_content())
    data["rejections"][0]["ground"] = 8
    with pytest.raises(ReportError, match="ground must be 1-7"):
        report_from_dict(data)
    data["rejections"][0].update(ground=1, reason="  ")
    with pytest.raises(ReportError, match="written reason"):
        report_from_dict(data)
    assert build_content().rejections[0].ground_label[0].startswith("投标文件未经投标单位盖章")


def test_signature_entries_check_their_own_shape() -> None:
    with pytest.raises(ReportError, match="unsigned entry"):
        MemberSignature("a", "none", report_sha256=HASH)
    with pytest.raises(ReportError, match="dissent"):
        MemberSignature("a", "dissent", HASH, "sig", "2026-11-23T11:45:00+08:00")
    with pytest.raises(ReportError, match="dissent"):
        MemberSignature("a", "signed", HASH, "sig", "2026-11-23T11:45:00+08:00", "不同意")
    with pytest.raises(ReportError, match="report_sha256"):
        MemberSignature("a", "signed", HASH.upper(), "sig", "2026-11-23T11:45:00+08:00")


def test_signature_block_lists_every_member_and_marks_the_silent_one() -> None:
    content = build_content()
    block = signature_block(content, HASH, sample_signatures(HASH))
    assert [s.seat_id for s in block] == [m.seat_id for m in content.committee]
    assert [s.status for s in block].count("none") == 1
    assert block[-1] == MemberSignature("guest-2-1", "none")
    assert signatures_from_dicts([dataclasses.asdict(s) for s in block]) == block


def test_signature_block_refuses_another_hash_and_strangers() -> None:
    content = build_content()
    with pytest.raises(ReportError, match="other hash"):
        signature_block(content, HASH, sample_signatures("cd" * 32))
    stranger = MemberSignature("nobody", "signed", HASH, "sig", "2026-11-23T11:45:00+08:00")
    with pytest.raises(ReportError, match="not in committee"):
        signature_block(content, HASH, (stranger,))


def test_the_model_types_are_plain_dataclasses() -> None:
    # The rules wiring builds these directly; keep construction positional-friendly.
    p = Project("T-1", "工程", "第一标段", "lowest_price")
    assert p.max_price_cny is None
    assert Score("B1", "T1", "7.5").comment == ""
    assert isinstance(report_from_dict(TINY), ReportContent)
