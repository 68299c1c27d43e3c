"""Filling the report model from a session's projection: the shell's recipe, but pure.

Everything comes from the folded state and :func:`server.domain.results.results`; nothing is
recomputed differently from what the live results show. Time and the log's Merkle root are
arguments. Decisions:

- Members are shown by seat id (the lot carries no names: experts stay anonymous to the system
  until the centre's own roster joins them; a roster can fill ``display_name`` later).
- ``dropped_seats`` of a trimmed item are the seats holding the lowest and highest score (ties
  broken by seat id, the same order the aggregation sorts by).
- Flags are the ones standing when the report is issued (deviation flags and objective
  mismatches) with every explanation given; a mismatch corrected earlier is in the log, not here.
- Rejection grounds map to 条例 Art. 51 items 1-7 in the order of ``committee_rejection.GROUNDS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from server.domain.committee_rejection import GROUNDS
from server.domain.flags import cell_scores, deviations, mismatches
from server.domain.lot import CriterionKind, Lot
from server.domain.results import Results, results
from server.domain.rules import parse_price_formula, round_final
from server.domain.rules.price import deviation_percent, price_benchmark
from server.domain.state import SessionState
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
    Replacement,
    ReportContent,
    Score,
    SeatValue,
    Sheet,
)

CHINA = timezone(timedelta(hours=8))
GROUND_NUMBERS = {code: n for n, code in enumerate(GROUNDS, start=1)}


class ReportNotReady(ValueError):
    """The log does not support a report yet (e.g. a bid without a total); says why."""


def iso_time(time_ms: int) -> str:
    """Milliseconds since the epoch as ISO-8601 in China Standard Time (the centres' time)."""
    return datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(CHINA).isoformat("T", "seconds")


def _text(value: Decimal) -> str:
    return str(round_final(value))


def _sheets(state: SessionState) -> tuple[Sheet, ...]:
    sheets = []
    for seat, cells in state.cells.items():
        scores = []
        for key in sorted(cells):
            bidder, criterion = key.split("/", 1)
            cell = cells[key]
            scores.append(Score(bidder, criterion, cell.value, cell.comment or ""))
        sheets.append(Sheet(seat, tuple(scores)))
    return tuple(sheets)


def _aggregates(state: SessionState, found: Results) -> tuple[Aggregate, ...]:
    out = []
    for bidder in found.bidders.values():
        for cid, item in bidder.items.items():
            if item.value is None:
                continue
            dropped: tuple[str, ...] = ()
            if item.trimmed:
                given = cell_scores(state, bidder.bidder, cid)
                order = sorted(given, key=lambda seat: (given[seat], seat))
                dropped = (order[0], order[-1])
            out.append(Aggregate(bidder.bidder, cid, _text(item.value), dropped))
    return tuple(out)


def _price(lot: Lot, found: Results) -> PriceSection | None:
    criterion = next((c for c in lot.criteria if c.kind is CriterionKind.PRICE), None)
    if criterion is None:
        return None
    config = dict(criterion.formula or {})
    if config.get("benchmark") == "control_fraction" and config.get("control_price") is None:
        config["control_price"] = lot.max_price_cny
    formula = parse_price_formula(config)
    valid = [b for b in found.bidders.values() if not b.rejected]
    benchmark = price_benchmark(formula, [Decimal(b.price) for b in valid]) if valid else None
    scores = []
    for bidder in valid:
        item = bidder.items[criterion.id]
        if item.value is None:
            continue
        deviation = None
        if benchmark is not None and benchmark > 0:
            deviation = _text(deviation_percent(Decimal(bidder.price), benchmark))
        scores.append(PriceScore(bidder.bidder, str(bidder.price), _text(item.value), deviation))
    described = ", ".join(f"{k}={v}" for k, v in sorted(config.items()) if v is not None)
    return PriceSection(
        f"{criterion.name} ({described})",
        None if benchmark is None else _text(benchmark),
        tuple(scores),
    )


def _ranking(lot: Lot, found: Results) -> tuple[RankLine, ...]:
    groups = {c.id: c.group for c in lot.criteria}
    lines = []
    for ranked in found.ranking:
        subtotals: dict[str, Decimal] = {}
        for cid, item in found.bidders[ranked.bidder].items.items():
            if item.value is not None:
                subtotals[groups[cid]] = subtotals.get(groups[cid], Decimal(0)) + item.value
        lines.append(
            RankLine(
                ranked.bidder,
                ranked.rank,
                None if ranked.total is None else str(ranked.total),
                str(ranked.price),
                tuple(GroupScore(g, _text(v)) for g, v in subtotals.items()),
                ranked.recommended,
                ranked.tie_at_cut,
            )
        )
    return tuple(lines)


def _rejections(state: SessionState) -> tuple[Rejection, ...]:
    out = []
    for bidder, proposal in sorted(state.committee.rejected().items()):
        yes = sum(proposal.votes.values())
        out.append(
            Rejection(
                bidder, GROUND_NUMBERS[proposal.ground], proposal.reason, yes, len(proposal.votes)
            )
        )
    return tuple(out)


def _flags(state: SessionState) -> tuple[Flag, ...]:
    explained: dict[tuple[str, str, str], list[Explanation]] = {}
    for e in state.committee.explanations:
        explained.setdefault((e.seat, e.bidder, e.criterion), []).append(
            Explanation(e.seat, e.text)
        )
    out = []
    for d in deviations(state):
        pct = (d.score - d.mean) / d.mean * 100 if d.mean else Decimal(0)
        out.append(
            Flag(
                "deviation",
                d.bidder,
                d.criterion,
                (SeatValue(d.seat, str(d.score)),),
                _text(d.mean),
                str(round_final(pct, 1)),
                tuple(explained.get((d.seat, d.bidder, d.criterion), ())),
            )
        )
    for m in mismatches(state):
        values = tuple(SeatValue(seat, str(v)) for v, seats in m.values for seat in seats)
        notes = [
            x for seat in sorted(m.seats) for x in explained.get((seat, m.bidder, m.criterion), [])
        ]
        out.append(
            Flag("objective_mismatch", m.bidder, m.criterion, values, explanations=tuple(notes))
        )
    return tuple(out)


def report_content(
    state: SessionState, time_ms: int, log_root: bytes, names: Mapping[str, str] | None = None
) -> ReportContent:
    """The report of ``state`` as of ``time_ms``; ``log_root`` is the tree root at ``state.seq``;
    ``names``: seat -> the drawn expert's name (the report is where the committee is named, for
    the tenderer; without a draw the seats stand for the members).

    Raises :class:`ReportNotReady` while a bid that is not rejected has no total.
    """
    lot = state.lot
    found = results(state)
    if not found.complete:
        missing = sorted(
            b.bidder for b in found.bidders.values() if b.total is None and not b.rejected
        )
        raise ReportNotReady(f"no ranking yet: bids without a total: {', '.join(missing)}")
    name, _, lot_name = lot.project_name.rpartition(" ")
    venues = {v.id: v.name for v in lot.venues}
    method = "lowest_price" if found.method == "lowest_price" else "comprehensive"
    return ReportContent(
        session_id=state.session,
        generated_at=iso_time(time_ms),
        project=Project(
            lot.project_code,
            name or lot.project_name,
            lot_name if name else "",
            method,
            None if lot.max_price_cny is None else str(lot.max_price_cny),
        ),
        committee=tuple(
            Member(
                s.seat,
                (names or {}).get(s.seat, s.seat),
                venues.get(s.venue, s.venue),
                s.seat == state.committee.chair,
            )
            for s in state.seats.values()
        ),
        bidders=tuple(Bidder(b.id, b.name, str(b.price_cny), b.credit) for b in lot.bidders),
        criteria=tuple(
            Criterion(c.id, c.group, c.name, str(c.kind), str(c.max)) for c in lot.criteria
        ),
        sheets=_sheets(state),
        aggregates=_aggregates(state, found),
        price=_price(lot, found),
        ranking=_ranking(lot, found),
        rejections=_rejections(state),
        flags=_flags(state),
        log_seq=state.seq,
        log_root=log_root.hex(),
        replacements=tuple(
            Replacement(
                r.seat, state.recusals[r.recusal].reason, r.by, venues.get(r.venue, r.venue)
            )
            for r in state.replacements
        ),
    )
