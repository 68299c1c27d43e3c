"""The report content as frozen dataclasses: pure, no IO, no clock, no rule computation.

Every number is a decimal *string* exactly as it should be printed ("7.50", "35120000"): the
rules wiring computes and rounds, this model only carries and cross-checks. Ids are the lot's
(``B1``, ``T1``) and the session's seat ids. Build it directly or from a plain dict with
:func:`server.report.codec.report_from_dict`; the field docs below are the dict schema too.

Wording rule (评定分离): the report ranks and recommends at most ``max_candidates`` bidders
(more only when a joint rank straddles the cut, marked ``tie_at_cut``); it never records an
award decision, so there is no field for one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

REPORT_FORMAT = "evalroom.report/1"
METHODS = ("comprehensive", "lowest_price")
CRITERION_KINDS = ("subjective", "objective", "credit", "price")
FLAG_KINDS = ("deviation", "objective_mismatch")
DEFAULT_MAX_CANDIDATES = 3

# 《招标投标法实施条例》第五十一条: the seven grounds for rejecting a bid (否决投标).
ART51_GROUNDS: dict[int, tuple[str, str]] = {
    1: ("投标文件未经投标单位盖章和单位负责人签字", "Bid not sealed or not signed"),
    2: ("投标联合体没有提交共同投标协议", "Consortium without a joint bidding agreement"),
    3: ("投标人不符合国家或者招标文件规定的资格条件", "Bidder not qualified"),
    4: ("同一投标人提交两个以上不同的投标文件或者投标报价", "Two or more bids or prices"),
    5: ("投标报价低于成本或者高于招标文件设定的最高投标限价", "Price below cost or above the cap"),
    6: ("投标文件没有对招标文件的实质性要求和条件作出响应", "Not substantially responsive"),
    7: ("投标人有串通投标、弄虚作假、行贿等违法行为", "Collusion, fraud or bribery"),
}


class ReportError(ValueError):
    """The report content is malformed or refers to something it does not contain."""


def check_decimal(value: object, what: str) -> str:
    """``value`` as a finite decimal string, or :class:`ReportError`; returns it unchanged."""
    if not isinstance(value, str):
        raise ReportError(f"{what}: expected a decimal string, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ReportError(f"{what}: {value!r} is not a decimal") from None
    if not number.is_finite() or value.strip() != value:
        raise ReportError(f"{what}: {value!r} is not a finite decimal")
    return value


def need(condition: bool, message: str) -> None:
    """Raise :class:`ReportError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ReportError(message)


def unique_ids(what: str, ids: list[str]) -> set[str]:
    dupes = sorted(i for i, n in Counter(ids).items() if n > 1)
    need(not dupes, f"{what}: duplicate ids {', '.join(dupes)}")
    need(all(ids), f"{what}: empty id")
    return set(ids)


@dataclass(frozen=True)
class Project:
    """招标项目. ``tender_no`` 招标编号; ``lot`` 标段; ``method`` one of :data:`METHODS`;
    ``max_price_cny`` 最高投标限价 or None."""

    tender_no: str
    name: str
    lot: str
    method: str
    max_price_cny: str | None = None

    def __post_init__(self) -> None:
        need(bool(self.tender_no and self.name), "project: tender_no and name are required")
        need(self.method in METHODS, f"project: unknown method {self.method!r}")
        if self.max_price_cny is not None:
            check_decimal(self.max_price_cny, "project.max_price_cny")


@dataclass(frozen=True)
class Member:
    """A committee seat. ``display_name`` is the expert's name once unsealed, else the seat id;
    ``venue`` the venue's display name; ``chair`` marks the 组长."""

    seat_id: str
    display_name: str
    venue: str
    chair: bool = False


@dataclass(frozen=True)
class Bidder:
    """投标人 with the bid price (CNY, decimal string) and credit rating ('' when none)."""

    id: str
    name: str
    price_cny: str
    credit: str = ""

    def __post_init__(self) -> None:
        check_decimal(self.price_cny, f"bidder {self.id}.price_cny")


@dataclass(frozen=True)
class Criterion:
    """评审因素: ``group`` (technical, commercial, price ...), ``kind`` one of
    :data:`CRITERION_KINDS`, ``max_points`` its full marks."""

    id: str
    group: str
    name: str
    kind: str
    max_points: str

    def __post_init__(self) -> None:
        need(self.kind in CRITERION_KINDS, f"criterion {self.id}: unknown kind {self.kind!r}")
        check_decimal(self.max_points, f"criterion {self.id}.max_points")


@dataclass(frozen=True)
class Score:
    """One cell of an expert's sheet, with the expert's comment ('' when none)."""

    bidder_id: str
    criterion_id: str
    value: str
    comment: str = ""

    def __post_init__(self) -> None:
        check_decimal(self.value, f"score {self.bidder_id}/{self.criterion_id}")


@dataclass(frozen=True)
class Sheet:
    """评分表 of one seat as submitted; ``submitted_at`` ISO-8601 or ''."""

    seat_id: str
    scores: tuple[Score, ...]
    submitted_at: str = ""

    def __post_init__(self) -> None:
        cells = [f"{s.bidder_id}/{s.criterion_id}" for s in self.scores]
        unique_ids(f"sheet {self.seat_id}", cells)


@dataclass(frozen=True)
class Aggregate:
    """The committee's value of one item for one bidder (mean, trimmed mean, agreed objective
    value or credit points). ``dropped_seats``: seats whose score trimming left out."""

    bidder_id: str
    criterion_id: str
    value: str
    dropped_seats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_decimal(self.value, f"aggregate {self.bidder_id}/{self.criterion_id}")


@dataclass(frozen=True)
class PriceScore:
    """Price points of one valid bid; ``deviation_pct`` (偏差率, %) when the formula has one."""

    bidder_id: str
    price_cny: str
    score: str
    deviation_pct: str | None = None

    def __post_init__(self) -> None:
        check_decimal(self.price_cny, f"price {self.bidder_id}.price_cny")
        check_decimal(self.score, f"price {self.bidder_id}.score")
        if self.deviation_pct is not None:
            check_decimal(self.deviation_pct, f"price {self.bidder_id}.deviation_pct")


@dataclass(frozen=True)
class PriceSection:
    """价格分: ``formula`` as a sentence for the reader, the benchmark (评标基准价), the scores."""

    formula: str
    benchmark_cny: str | None
    scores: tuple[PriceScore, ...]

    def __post_init__(self) -> None:
        if self.benchmark_cny is not None:
            check_decimal(self.benchmark_cny, "price.benchmark_cny")
        unique_ids("price scores", [s.bidder_id for s in self.scores])


@dataclass(frozen=True)
class GroupScore:
    """A bidder's subtotal for one criterion group."""

    group: str
    value: str

    def __post_init__(self) -> None:
        check_decimal(self.value, f"subtotal {self.group}")


@dataclass(frozen=True)
class RankLine:
    """One line of the ranking (responsive bids only), as ``server.domain.rules.rank`` gives it.

    ``total`` is None for the lowest-price method; ``price_cny`` is the bid price (or the
    evaluated price for that method). Bidders sharing ``rank`` are ranked jointly (并列).
    """

    bidder_id: str
    rank: int
    total: str | None
    price_cny: str
    subtotals: tuple[GroupScore, ...] = ()
    recommended: bool = False
    tie_at_cut: bool = False

    def __post_init__(self) -> None:
        need(self.rank >= 1, f"rank of {self.bidder_id} must be >= 1")
        if self.total is not None:
            check_decimal(self.total, f"total of {self.bidder_id}")
        check_decimal(self.price_cny, f"ranked price of {self.bidder_id}")
        need(not self.tie_at_cut or self.recommended, f"{self.bidder_id}: tie_at_cut unranked")


@dataclass(frozen=True)
class Rejection:
    """否决投标: ``ground`` 1-7 of 条例 Art. 51, the committee's written ``reason``, the vote."""

    bidder_id: str
    ground: int
    reason: str
    votes_for: int
    votes_cast: int

    def __post_init__(self) -> None:
        need(self.ground in ART51_GROUNDS, f"rejection {self.bidder_id}: ground must be 1-7")
        need(bool(self.reason.strip()), f"rejection {self.bidder_id}: a written reason is required")
        need(0 <= self.votes_for <= self.votes_cast, f"rejection {self.bidder_id}: bad vote count")

    @property
    def ground_label(self) -> tuple[str, str]:
        """The ground's wording, (Chinese, English)."""
        return ART51_GROUNDS[self.ground]


@dataclass(frozen=True)
class Replacement:
    """回避与替补 (条例 Art. 48): a recused seat, why, and the seat that evaluated instead; the
    recused member's scores are void and appear nowhere else in the report."""

    seat_id: str
    reason: str
    replaced_by: str
    venue: str

    def __post_init__(self) -> None:
        need(bool(self.reason.strip()), f"replacement of {self.seat_id}: a reason is required")


@dataclass(frozen=True)
class SeatValue:
    """The value one seat gave, as flagged."""

    seat_id: str
    value: str

    def __post_init__(self) -> None:
        check_decimal(self.value, f"flagged value of {self.seat_id}")


@dataclass(frozen=True)
class Explanation:
    """An expert's written explanation of a flag (an event in the log); ``at`` ISO-8601 or ''."""

    seat_id: str
    text: str
    at: str = ""


@dataclass(frozen=True)
class Flag:
    """A deviation (偏离度) or objective-mismatch flag with the flagged values and explanations.

    ``mean`` and ``deviation_pct`` are set for deviation flags; ``resolution`` says how a
    mismatch was settled (e.g. the agreed value), '' when it was not.
    """

    kind: str
    bidder_id: str
    criterion_id: str
    values: tuple[SeatValue, ...]
    mean: str | None = None
    deviation_pct: str | None = None
    explanations: tuple[Explanation, ...] = ()
    resolution: str = ""

    def __post_init__(self) -> None:
        need(self.kind in FLAG_KINDS, f"flag: unknown kind {self.kind!r}")
        need(bool(self.values), f"flag {self.bidder_id}/{self.criterion_id}: no values")
        for name in ("mean", "deviation_pct"):
            value = getattr(self, name)
            if value is not None:
                check_decimal(value, f"flag.{name}")


@dataclass(frozen=True)
class ReportContent:
    """Everything the members sign, and nothing about the signing itself.

    ``session_id``, ``log_seq`` and ``log_root`` (hex Merkle root of the log up to ``log_seq``)
    bind the report to the session's event log; ``generated_at`` is an ISO-8601 time with offset
    (it becomes the PDF's creation date).
    """

    session_id: str
    generated_at: str
    project: Project
    committee: tuple[Member, ...]
    bidders: tuple[Bidder, ...]
    criteria: tuple[Criterion, ...]
    sheets: tuple[Sheet, ...]
    aggregates: tuple[Aggregate, ...]
    price: PriceSection | None
    ranking: tuple[RankLine, ...]
    rejections: tuple[Rejection, ...] = ()
    flags: tuple[Flag, ...] = ()
    log_seq: int | None = None
    log_root: str = ""
    max_candidates: int = DEFAULT_MAX_CANDIDATES
    replacements: tuple[Replacement, ...] = ()  # left out of the dict form when empty

    def __post_init__(self) -> None:
        need(bool(self.session_id), "report: session_id is required")
        seats = unique_ids("committee", [m.seat_id for m in self.committee])
        need(sum(m.chair for m in self.committee) <= 1, "committee: more than one chair")
        bidders = unique_ids("bidders", [b.id for b in self.bidders])
        criteria = unique_ids("criteria", [c.id for c in self.criteria])
        _check_sheets(self.sheets, seats, bidders, criteria)
        cells = [f"{a.bidder_id}/{a.criterion_id}" for a in self.aggregates]
        unique_ids("aggregates", cells)
        for a in self.aggregates:
            need(a.bidder_id in bidders and a.criterion_id in criteria, f"aggregate {a}")
            need(set(a.dropped_seats) <= seats, f"aggregate {a}: unknown dropped seat")
        recused = unique_ids("replacements", [r.seat_id for r in self.replacements])
        for r in self.replacements:  # a replacement may have recused in turn
            need(r.replaced_by in seats | recused, f"replacement {r.seat_id}: unknown seat")
            need(r.seat_id not in seats, f"replacement {r.seat_id}: still a member")
        rejected = unique_ids("rejections", [r.bidder_id for r in self.rejections])
        need(rejected <= bidders, "rejections: unknown bidder")
        if self.price is not None:
            priced = {s.bidder_id for s in self.price.scores}
            need(priced <= bidders - rejected, "price scores: unknown or rejected bidder")
        _check_ranking(self.ranking, bidders - rejected, self.max_candidates)
        for f in self.flags:
            need(f.bidder_id in bidders and f.criterion_id in criteria, f"flag {f}: unknown id")
            who = {v.seat_id for v in f.values} | {e.seat_id for e in f.explanations}
            need(who <= seats, f"flag {f.bidder_id}/{f.criterion_id}: unknown seat")

    def member(self, seat_id: str) -> Member:
        """The committee member holding ``seat_id``."""
        for m in self.committee:
            if m.seat_id == seat_id:
                return m
        raise ReportError(f"no committee member at seat {seat_id!r}")


def _check_sheets(
    sheets: tuple[Sheet, ...], seats: set[str], bidders: set[str], criteria: set[str]
) -> None:
    need(
        unique_ids("sheets", [s.seat_id for s in sheets]) <= seats, "sheets: seat not in committee"
    )
    for sheet in sheets:
        for s in sheet.scores:
            known = s.bidder_id in bidders and s.criterion_id in criteria
            need(known, f"sheet {sheet.seat_id}: unknown cell {s.bidder_id}/{s.criterion_id}")


def _check_ranking(ranking: tuple[RankLine, ...], responsive: set[str], max_c: int) -> None:
    need(max_c >= 1, "max_candidates must be >= 1")
    ranked = unique_ids("ranking", [line.bidder_id for line in ranking])
    need(ranked <= responsive, "ranking: unknown or rejected bidder")
    ranks = [line.rank for line in ranking]
    need(ranks == sorted(ranks), "ranking: lines must be in rank order")
    for line in ranking:
        # Recommended means ranked within the first max_c places; a joint rank straddling
        # the cut brings its whole group in, each marked tie_at_cut (GLOSSARY, "Ties").
        need(line.recommended == (line.rank <= max_c), f"ranking: {line.bidder_id} recommended")
        overflow = ranks.count(line.rank) + line.rank - 1 > max_c
        need(line.tie_at_cut == (line.recommended and overflow), f"{line.bidder_id}: tie_at_cut")
