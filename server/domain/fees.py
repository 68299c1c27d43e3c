"""Expert fees (专家劳务报酬): computed from the log by the lot's catalogue, logged at the seal.

A lot may carry ``"fees"``::

    {"currency": "CNY", "guest_rule": "higher",
     "rates": {"host": {"bands": [{"up_to_minutes": 240, "amount": "800"},
                                  {"up_to_minutes": 480, "amount": "1200"}],
                        "over": {"per_hour": "150"}, "travel": "0"},
               "guest-1": {...}, "guest-2": {...}}}

Every venue of the lot has its rates. A member's time runs from its sign-in (``expert.signed_in``)
to the close (``phase.changed`` to ``closed``), or to its replacement for a recused member. The
amount is the first band the minutes fit in; past the last band, its amount plus ``per_hour`` for
each started hour beyond. A guest-venue member is paid by its own venue's rates, or with
``guest_rule: "higher"`` the higher of its venue's and the host's (the published guest-venue
rule); travel is its venue's. Amounts are exact decimals, rounded to fen at the end.

The seal after the close (:mod:`server.domain.sealing`) logs ``fees.computed`` just before
``session.sealed``, so the archive carries every statement and ``evalroom verify`` could recompute
them from the events alone. A member who never signed in has no statement. Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from server.auditlog.canonical import canonical_bytes
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.state import Phase, SessionState

GUEST_RULES = frozenset({"own", "higher"})
FEE_EVENTS = frozenset({"fees.computed"})
FEN = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Band:
    up_to_minutes: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Rates:
    bands: tuple[Band, ...]
    per_hour: Decimal
    travel: Decimal

    def amount(self, minutes: int) -> Decimal:
        """The fee for ``minutes`` by these bands (past the last: per started hour beyond)."""
        for band in self.bands:
            if minutes <= band.up_to_minutes:
                return band.amount
        last = self.bands[-1]
        hours = -(-(minutes - last.up_to_minutes) // 60)
        return last.amount + self.per_hour * hours


@dataclass(frozen=True, slots=True)
class Catalogue:
    currency: str
    guest_rule: str
    rates: dict[str, Rates]


def _bad(message: str) -> CommandError:
    return CommandError(Code.BAD_LOT, f"fees: {message}")


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount != amount.quantize(FEN):
        raise _bad(f'{what} must be a decimal string of yuan with at most 2 places, e.g. "800"')
    return amount


def _rates(obj: Any, venue: str) -> Rates:
    if not isinstance(obj, dict) or not obj.keys() <= {"bands", "over", "travel"}:
        raise _bad(f"rates of {venue} are {{bands, over?, travel?}}")
    bands_in = obj.get("bands")
    if not isinstance(bands_in, list) or not 1 <= len(bands_in) <= 16:
        raise _bad(f"{venue}: 1..16 bands")
    bands = []
    for band in bands_in:
        minutes = band.get("up_to_minutes") if isinstance(band, dict) else None
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10080:
            raise _bad(f"{venue}: up_to_minutes is a whole number 1..10080")
        bands.append(Band(minutes, _money(band.get("amount"), f"{venue} band amount")))
    if [b.up_to_minutes for b in bands] != sorted({b.up_to_minutes for b in bands}):
        raise _bad(f"{venue}: bands go up in minutes, each once")
    over = obj.get("over", {"per_hour": "0"})
    if not isinstance(over, dict) or set(over) != {"per_hour"}:
        raise _bad(f"{venue}: over is {{per_hour}}")
    per_hour = _money(over["per_hour"], f"{venue} per_hour")
    return Rates(tuple(bands), per_hour, _money(obj.get("travel", "0"), f"{venue} travel"))


def parse_catalogue(obj: Any, venues: list[str]) -> Catalogue:
    """The lot's fee catalogue: rates for exactly the lot's venues (``bad_lot`` otherwise)."""
    if not isinstance(obj, dict) or not obj.keys() <= {"currency", "guest_rule", "rates"}:
        raise _bad("the catalogue is {currency?, guest_rule?, rates}")
    currency = obj.get("currency", "CNY")
    if currency != "CNY":
        raise _bad("fees are paid in CNY")
    rule = obj.get("guest_rule", "own")
    if rule not in GUEST_RULES:
        raise _bad("guest_rule is own or higher")
    rates = obj.get("rates")
    if not isinstance(rates, dict) or set(rates) != set(venues):
        raise _bad("rates are given for every venue of the lot, and only those")
    return Catalogue(currency, rule, {v: _rates(rates[v], v) for v in venues})


def catalogue_of(state: SessionState) -> Catalogue | None:
    raw = state.lot.raw.get("fees")
    venues = [v.id for v in state.lot.venues]
    return None if raw is None else parse_catalogue(raw, venues)


def _yuan(value: Decimal) -> str:
    return str(value.quantize(FEN, rounding=ROUND_HALF_UP))


def statement(
    catalogue: Catalogue, host: str, venue: str, start_ms: int, end_ms: int
) -> dict[str, Any]:
    """One member's fee for its time at ``venue``: which venue's rates applied, and why."""
    minutes = max(0, -(-(end_ms - start_ms) // 60_000))
    own = catalogue.rates[venue]
    applied, amount = venue, own.amount(minutes)
    if venue != host and catalogue.guest_rule == "higher":
        hosts = catalogue.rates[host].amount(minutes)
        if hosts > amount:
            applied, amount = host, hosts
    total = amount + own.travel
    return {
        "venue": venue,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "minutes": minutes,
        "rates_of": applied,
        "amount": _yuan(amount),
        "travel": _yuan(own.travel),
        "total": _yuan(total),
    }


def computed_draft(state: SessionState, actor: str) -> Draft | None:
    """``fees.computed`` for a closed session whose lot has a catalogue (None otherwise)."""
    catalogue = catalogue_of(state)
    if catalogue is None or state.phase is not Phase.CLOSED:
        return None
    end = state.phase_times[str(Phase.CLOSED)]
    host = state.lot.venues[0].id
    rows = []
    for replaced in state.replacements:
        if replaced.signed_in_ms:
            row = statement(
                catalogue, host, replaced.venue_of_seat, replaced.signed_in_ms, replaced.time_ms
            )
            rows.append({"seat": replaced.seat, "status": "recused", **row})
    for seat in state.seats.values():
        if seat.signed_in_ms:
            row = statement(catalogue, host, seat.venue, seat.signed_in_ms, end)
            rows.append({"seat": seat.seat, "status": "member", **row})
    total = sum((Decimal(r["total"]) for r in rows), Decimal(0))
    data = {
        "catalogue": hashlib.sha256(canonical_bytes(state.lot.raw["fees"])).hexdigest(),
        "currency": catalogue.currency,
        "statements": rows,
        "total": _yuan(total),
    }
    return Draft("fees.computed", actor, data)
