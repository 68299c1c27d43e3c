"""The sample lot's report, with made-up but plausible sheets, computed by the real rules.

This is how the rules wiring is expected to fill the model: sheets from the log, values from
``server.domain.rules``, everything passed as decimal strings.
"""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from server.domain.rules import (
    aggregate_item,
    objective_consensus,
    parse_price_formula,
    price_scores,
    rank,
    round_final,
)
from server.domain.rules.price import deviation_percent, price_benchmark
from server.report.model import (
    Aggregate,
    Bidder,
    Criterion,
    Explanation,
    Flag,
    GroupScore,
    Member,
    PriceScore,
    PriceSection,
    Project,
    RankLine,
    Rejection,
    ReportContent,
    Score,
    SeatValue,
    Sheet,
)
from server.report.signatures import MemberSignature

LOT_PATH = Path(__file__).resolve().parents[2] / "server" / "app" / "demo-lot.json"
SEATS = [
    ("host-1", "王建国", "host", True),
    ("host-2", "李秀兰", "host", False),
    ("host-3", "张海涛", "host", False),
    ("host-4", "刘志强", "host", False),
    ("guest-1-1", "陈晓东", "guest-1", False),
    ("guest-1-2", "杨丽华", "guest-1", False),
    ("guest-2-1", "赵文斌", "guest-2", False),
]
# Each bidder's quality on the technical items (a fraction of the maximum), per expert nudged.
QUALITY = {"B1": "0.85", "B2": "0.75", "B3": "0.80", "B4": "0.60", "B5": "0.70"}
OBJECTIVE = {
    "C1": {"B1": 7, "B2": 6, "B3": 8, "B4": 5, "B5": 6},
    "C2": {"B1": 4, "B2": 5, "B3": 3, "B4": 2, "B5": 4},
}
REJECTED = "B4"
DEVIANT = ("guest-2-1", "B5", "T1", "2.5")
DISSENT = "对 B1 与 B5 的排序有保留意见：B5 的施工方案更优，技术分被低估。"


def load_lot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LOT_PATH.read_text("utf-8"))
    return data


def _step(value: Decimal, step: Decimal, top: Decimal) -> Decimal:
    return min(top, (value / step).to_integral_value() * step)


def _subjective(seat_index: int, bidder: str, crit: dict[str, Any]) -> str:
    top = Decimal(str(crit["max"]))
    nudge = Decimal((seat_index * 3 + len(crit["id"]) + int(bidder[1:])) % 5 - 2) / 20
    value = _step(top * (Decimal(QUALITY[bidder]) + nudge), Decimal(str(crit["step"])), top)
    return str(value)


def _sheets(lot: dict[str, Any]) -> list[Sheet]:
    sheets = []
    for i, (seat, *_rest) in enumerate(SEATS):
        scores = []
        for b in lot["bidders"]:
            for c in lot["criteria"]:
                if c["kind"] == "subjective":
                    value, comment = _subjective(i, b["id"], c), ""
                    if (seat, b["id"], c["id"]) == DEVIANT[:3]:
                        value, comment = DEVIANT[3], "施工组织设计未针对老城区管网交叉作业。"
                elif c["kind"] == "objective":
                    value, comment = str(OBJECTIVE[c["id"]][b["id"]]), ""
                else:
                    continue  # credit and price are never typed by an expert
                scores.append(Score(b["id"], c["id"], value, comment))
        sheets.append(Sheet(seat, tuple(scores), f"2026-11-23T10:{30 + i:02d}:00+08:00"))
    return sheets


def build_content(lot: dict[str, Any] | None = None) -> ReportContent:
    """The sample lot's report content, B4 rejected (Art. 51 ground 1), one deviation flag."""
    lot = lot or load_lot()
    sheets = _sheets(lot)
    crits = {c["id"]: c for c in lot["criteria"]}
    price_crit = next(c for c in lot["criteria"] if c["kind"] == "price")
    prices = {b["id"]: Decimal(b["price_cny"]) for b in lot["bidders"]}
    valid = sorted(set(prices) - {REJECTED})
    formula = parse_price_formula(price_crit["formula"])
    points = price_scores(formula, Decimal(price_crit["max"]), prices, valid)
    benchmark = price_benchmark(formula, [prices[b] for b in valid])

    values: dict[str, dict[str, Decimal]] = {b: {} for b in prices}
    aggregates = []
    trim = lot["committee"]["trim_extremes_above"]
    for b in prices:
        for cid, c in crits.items():
            dropped: tuple[str, ...] = ()
            if c["kind"] == "credit":
                rating = next(x["credit"] for x in lot["bidders"] if x["id"] == b)
                value = Decimal(c["ratings"][rating])
            elif c["kind"] == "price":
                if b not in points:
                    continue
                value = points[b]
            else:
                given = {
                    s.seat_id: Decimal(x.value)
                    for s in sheets
                    for x in s.scores
                    if (x.bidder_id, x.criterion_id) == (b, cid)
                }
                if c["kind"] == "objective":
                    agreed = objective_consensus(given)
                    assert isinstance(agreed, Decimal), agreed
                    value = agreed
                else:
                    value = aggregate_item(list(given.values()), trim)
                if c["kind"] == "subjective" and len(given) > trim:
                    order = sorted(given, key=lambda seat: (given[seat], seat))
                    dropped = (order[0], order[-1])
            values[b][cid] = value
            aggregates.append(Aggregate(b, cid, str(round_final(value)), dropped))

    totals = {b: round_final(sum(values[b].values(), Decimal(0))) for b in valid}
    ranking = rank(totals, {b: prices[b] for b in valid}, lot["project"]["method"])
    lines = []
    for r in ranking:
        groups: dict[str, Decimal] = {}
        for cid, v in values[r.bidder].items():
            groups[crits[cid]["group"]] = groups.get(crits[cid]["group"], Decimal(0)) + v
        subtotals = tuple(GroupScore(g, str(round_final(v))) for g, v in groups.items())
        total = None if r.total is None else str(r.total)
        lines.append(
            RankLine(r.bidder, r.rank, total, str(r.price), subtotals, r.recommended, r.tie_at_cut)
        )

    t1 = [
        Decimal(x.value)
        for s in sheets
        for x in s.scores
        if (x.bidder_id, x.criterion_id) == ("B5", "T1")
    ]
    mean = sum(t1, Decimal(0)) / len(t1)
    seat, _, _, low = DEVIANT
    deviation = round_final((Decimal(low) - mean) / mean * 100, 1)
    flag = Flag(
        "deviation",
        "B5",
        "T1",
        (SeatValue(seat, low),),
        str(round_final(mean)),
        str(deviation),
        (
            Explanation(
                seat,
                "该投标人未提供老城区管网交叉施工专项方案，故给分较低。",
                "2026-11-23T11:14:00+08:00",
            ),
        ),
    )
    mismatch = Flag(
        "objective_mismatch",
        "B3",
        "C2",
        (SeatValue("host-2", "3"), SeatValue("guest-1-1", "4")),
        resolution="复核业绩证明后一致认定为 3 分 (agreed on 3 after re-reading the bid)",
    )

    project = lot["project"]
    name, _, lot_name = project["name"].rpartition(" ")
    venues = {v["id"]: v["name"] for v in lot["venues"]}
    return ReportContent(
        session_id="sess-2026-1123-jn0147",
        generated_at="2026-11-23T11:40:00+08:00",
        project=Project(
            project["code"], name, lot_name, project["method"], str(project["max_price_cny"])
        ),
        committee=tuple(Member(s, n, venues[v], chair) for s, n, v, chair in SEATS),
        bidders=tuple(
            Bidder(b["id"], b["name"], str(b["price_cny"]), b["credit"]) for b in lot["bidders"]
        ),
        criteria=tuple(
            Criterion(c["id"], c["group"], c["name"], c["kind"], str(c["max"]))
            for c in lot["criteria"]
        ),
        sheets=tuple(sheets),
        aggregates=tuple(aggregates),
        price=PriceSection(
            "偏差率法：评标基准价为有效报价去掉最高和最低后的算术平均值；每高于基准价 1% 扣 1 分，"
            "每低于基准价 1% 扣 0.5 分，最低 0 分 (deviation method, trimmed-mean benchmark)",
            str(round_final(benchmark)),
            tuple(
                PriceScore(
                    b,
                    str(prices[b]),
                    str(round_final(points[b])),
                    str(round_final(deviation_percent(prices[b], benchmark))),
                )
                for b in valid
            ),
        ),
        ranking=tuple(lines),
        rejections=(
            Rejection(REJECTED, 1, "投标保证金电子保函未经投标单位盖章及法定代表人签字。", 5, 7),
        ),
        flags=(flag, mismatch),
        log_seq=1842,
        log_root="9f2c" * 16,
    )


def sample_signatures(report_sha256: str) -> tuple[MemberSignature, ...]:
    """Five plain signatures, one with a dissent, and guest-2-1 neither signing nor dissenting."""
    out = []
    for i, (seat, *_rest) in enumerate(SEATS[:6]):
        at = f"2026-11-23T11:{45 + i:02d}:00+08:00"
        sig = base64.b64encode(hashlib.sha512(seat.encode()).digest()).decode()  # made up
        if seat == "guest-1-2":
            out.append(MemberSignature(seat, "dissent", report_sha256, sig, at, DISSENT))
        else:
            out.append(MemberSignature(seat, "signed", report_sha256, sig, at))
    return tuple(out)
