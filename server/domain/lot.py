"""The tender lot: bidders, criteria, committee and venues, parsed and validated.

A lot arrives as JSON written by people (``shared/data/sample-lot.json``): numbers may be floats
there. :func:`parse_lot` turns them into ``Decimal`` and :func:`lot_to_json` writes the normalized
form (decimals as strings) that goes into the ``session.created`` event, so the log never carries a
float and a replay parses exactly what the live session used.

Prices are exact: ``price_cny`` and ``max_price_cny`` are ``Decimal`` yuan with at most two
decimals (fen), scored as they are; a price with fractions of a fen, or not positive, is refused
at creation (``bad_lot``), never rounded or truncated. A price formula is checked at creation too,
so a session never starts with rules its results could not compute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from server.auditlog.canonical import CanonicalError, canonical_bytes
from server.domain.errors import Code, CommandError
from server.domain.rules.price import RuleConfigError, parse_price_formula

FEN = Decimal("0.01")
MAX_PRICE = Decimal(10) ** 15  # yuan; far above any tender, and exact within Decimal's precision


class CriterionKind(StrEnum):
    """How a criterion is scored."""

    SUBJECTIVE = "subjective"  # expert judgement within min..max on a step
    OBJECTIVE = "objective"  # counted from the documents; every expert must agree
    CREDIT = "credit"  # assigned from the bidder's credit rating, never typed
    PRICE = "price"  # computed from the price by the tender's formula, never typed


TYPED_KINDS = frozenset({CriterionKind.SUBJECTIVE, CriterionKind.OBJECTIVE})


@dataclass(frozen=True)
class Criterion:
    id: str
    group: str
    name: str
    kind: CriterionKind
    max: Decimal
    min: Decimal = Decimal(0)
    step: Decimal | None = None
    blind: bool = False
    comment_required: bool = False
    ratings: Mapping[str, Decimal] = field(default_factory=dict)
    formula: Mapping[str, Any] | None = None

    @property
    def typed(self) -> bool:
        """Whether experts type a value for this criterion."""
        return self.kind in TYPED_KINDS


@dataclass(frozen=True)
class Bidder:
    id: str
    name: str
    price_cny: Decimal  # yuan, at most two decimals (fen)
    credit: str


@dataclass(frozen=True)
class Venue:
    id: str
    name: str
    seats: int

    def seat_ids(self) -> list[str]:
        """Seat ids of this venue: ``<venue>-1`` .. ``<venue>-N``."""
        return [f"{self.id}-{n}" for n in range(1, self.seats + 1)]


@dataclass(frozen=True)
class FaultRules:
    """The local fault rule (GLOSSARY, Lijiang), in minutes: a fault before the start goes to the
    tenderer after ``before_start``; a fault during evaluation seals the session after
    ``during`` unless fixed. A lot may set both under ``"faults"``."""

    before_start: int = 120
    during: int = 240


def _fault_rules(obj: Any) -> FaultRules:
    if obj is None:
        return FaultRules()
    if not isinstance(obj, Mapping) or not set(obj) <= {"before_start_minutes", "during_minutes"}:
        raise _bad("faults is {before_start_minutes?, during_minutes?}")
    default = FaultRules()
    return FaultRules(
        _whole(
            obj.get("before_start_minutes", default.before_start), "faults.before_start_minutes", 1
        ),
        _whole(obj.get("during_minutes", default.during), "faults.during_minutes", 1),
    )


@dataclass(frozen=True)
class InspectionRules:
    """Thresholds of the automated inspection (网上巡检, server/domain/inspection.py), set per lot
    under ``"inspection"``; a lot without that key is not inspected."""

    min_seconds_per_bidder: int = 60  # all of a bidder's cells filled faster than this
    identical_min_cells: int = 3  # two seats identical on at least this many subjective cells
    extreme_min_cells: int = 3  # every subjective cell of a bidder at its maximum or minimum
    dark_seconds: int = 60  # a seat's camera or microphone dark at least this long (media.alert)


def _inspection_rules(obj: Any) -> InspectionRules | None:
    if obj is None:
        return None
    keys = ("min_seconds_per_bidder", "identical_min_cells", "extreme_min_cells", "dark_seconds")
    if not isinstance(obj, Mapping) or not set(obj) <= set(keys):
        raise _bad("inspection is {" + ", ".join(f"{k}?" for k in keys) + "}")
    default = InspectionRules()
    values = {k: _whole(obj.get(k, getattr(default, k)), f"inspection.{k}", 1) for k in keys}
    return InspectionRules(**values)


@dataclass(frozen=True)
class Lot:
    project_code: str
    project_name: str
    method: str
    max_price_cny: Decimal | None
    committee_size: int
    trim_extremes_above: int | None
    venues: tuple[Venue, ...]
    criteria: tuple[Criterion, ...]
    bidders: tuple[Bidder, ...]
    raw: Mapping[str, Any]
    faults: FaultRules = field(default_factory=lambda: FaultRules())
    inspection: InspectionRules | None = None

    def seat_ids(self) -> list[str]:
        """Every seat of the committee, host venue first."""
        return [seat for venue in self.venues for seat in venue.seat_ids()]

    def criterion(self, criterion_id: str) -> Criterion | None:
        """The criterion with this id, if any."""
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def bidder(self, bidder_id: str) -> Bidder | None:
        """The bidder with this id, if any."""
        return next((b for b in self.bidders if b.id == bidder_id), None)

    def typed_cells(self) -> list[tuple[str, str]]:
        """(bidder, criterion) pairs every expert must fill in."""
        return [(b.id, c.id) for b in self.bidders for c in self.criteria if c.typed]


def _bad(message: str) -> CommandError:
    return CommandError(Code.BAD_LOT, message)


def to_decimal(value: Any, where: str) -> Decimal:
    """A JSON number or decimal string as an exact Decimal (floats go through ``str``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{where}: expected a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise _bad(f"{where}: {value!r} is not a number") from exc
    if not result.is_finite():
        raise _bad(f"{where}: {value!r} is not finite")
    return result


def to_price(value: Any, where: str) -> Decimal:
    """A price in yuan, exactly: positive, below ``MAX_PRICE``, at most two decimals (fen)."""
    amount = to_decimal(value, where)
    if not 0 < amount < MAX_PRICE:
        raise _bad(f"{where}: a price must be positive and below {MAX_PRICE:,} yuan")
    if amount != amount.quantize(FEN):
        raise _bad(f"{where}: {value!r} has fractions of a fen (prices have at most 2 decimals)")
    return amount


def _whole(value: Any, where: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _bad(f"{where}: expected a whole number of at least {least}, got {value!r}")
    return value


def _objects(obj: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    items = obj.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise _bad(f"{where}{key}: expected a list of objects")
    return items


def normalize_numbers(value: Any) -> Any:
    """Replace every float in a JSON value by its decimal string, for the canonical log."""
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, Mapping):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_numbers(v) for v in value]
    return value


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{where}.{key}: expected a non-empty string")
    return value


def _criterion(obj: Mapping[str, Any], where: str) -> Criterion:
    kind_text = _text(obj, "kind", where)
    try:
        kind = CriterionKind(kind_text)
    except ValueError as exc:
        raise _bad(f"{where}.kind: unknown kind {kind_text!r}") from exc
    top = to_decimal(obj.get("max"), f"{where}.max")
    bottom = to_decimal(obj.get("min", 0), f"{where}.min")
    step = to_decimal(obj["step"], f"{where}.step") if "step" in obj else None
    if kind in TYPED_KINDS:
        if step is None or step <= 0:
            raise _bad(f"{where}.step: a typed criterion needs a positive step")
        if bottom > top or (top - bottom) % step != 0:
            raise _bad(f"{where}: min..max must be a whole number of steps")
    table = obj.get("ratings", {})
    if not isinstance(table, Mapping):
        raise _bad(f"{where}.ratings: expected an object")
    ratings = {str(k): to_decimal(v, f"{where}.ratings.{k}") for k, v in table.items()}
    if kind is CriterionKind.CREDIT and not ratings:
        raise _bad(f"{where}.ratings: a credit criterion needs a rating table")
    formula = obj.get("formula")
    if kind is CriterionKind.PRICE and not isinstance(formula, Mapping):
        raise _bad(f"{where}.formula: a price criterion needs a formula")
    return Criterion(
        id=_text(obj, "id", where),
        group=str(obj.get("group", "")),
        name=_text(obj, "name", where),
        kind=kind,
        max=top,
        min=bottom,
        step=step,
        blind=bool(obj.get("blind", False)),
        comment_required=bool(obj.get("comment_required", False)),
        ratings=ratings,
        formula=formula if isinstance(formula, Mapping) else None,
    )


def _unique(ids: Sequence[str], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise _bad(f"{what} ids must be unique")


def _check_formulas(criteria: Sequence[Criterion], max_price: Decimal | None) -> None:
    """Every price formula as the results will read it (control price from the lot if unset)."""
    for criterion in criteria:
        if criterion.formula is None:
            continue
        config = dict(criterion.formula)
        if config.get("benchmark") == "control_fraction" and config.get("control_price") is None:
            config["control_price"] = max_price
        try:
            parse_price_formula(config)
        except RuleConfigError as exc:
            raise _bad(f"criterion {criterion.id}.formula: {exc}") from None


def parse_lot(obj: Any) -> Lot:
    """Validate a lot description; raise ``CommandError(BAD_LOT)`` naming the first problem."""
    if not isinstance(obj, Mapping):
        raise _bad("a lot is a JSON object")
    project = obj.get("project")
    committee = obj.get("committee")
    if not isinstance(project, Mapping) or not isinstance(committee, Mapping):
        raise _bad("a lot needs 'project' and 'committee' objects")
    size = committee.get("size")
    if not isinstance(size, int) or size < 5 or size % 2 == 0:
        raise _bad("committee.size must be an odd number of at least 5 (条例 Art. 46)")
    venues = tuple(
        Venue(
            _text(v, "id", f"venues[{i}]"),
            _text(v, "name", f"venues[{i}]"),
            _whole(v.get("seats"), f"venues[{i}].seats", 1),
        )
        for i, v in enumerate(_objects(obj, "venues", ""))
    )
    if not venues or sum(v.seats for v in venues) != size:
        raise _bad("venue seats must add up to committee.size")
    criteria = tuple(
        _criterion(c, f"criteria[{i}]") for i, c in enumerate(_objects(obj, "criteria", ""))
    )
    bidders = tuple(
        Bidder(
            id=_text(b, "id", f"bidders[{i}]"),
            name=_text(b, "name", f"bidders[{i}]"),
            price_cny=to_price(b.get("price_cny"), f"bidders[{i}].price_cny"),
            credit=str(b.get("credit", "")),
        )
        for i, b in enumerate(_objects(obj, "bidders", ""))
    )
    if not criteria or not bidders:
        raise _bad("a lot needs criteria and bidders")
    _unique([v.id for v in venues], "venue")
    _unique([c.id for c in criteria], "criterion")
    _unique([b.id for b in bidders], "bidder")
    trim = committee.get("trim_extremes_above")
    price_cap = project.get("max_price_cny")
    max_price = None if price_cap is None else to_price(price_cap, "project.max_price_cny")
    _check_formulas(criteria, max_price)
    raw = normalize_numbers({k: v for k, v in obj.items() if k != "about"})
    try:
        canonical_bytes(raw)  # what session.created will carry must seal
    except CanonicalError as exc:
        raise _bad(f"not loggable: {exc}") from None
    return Lot(
        project_code=_text(project, "code", "project"),
        project_name=_text(project, "name", "project"),
        method=str(project.get("method", "comprehensive")),
        max_price_cny=max_price,
        committee_size=size,
        trim_extremes_above=int(trim) if isinstance(trim, int) else None,
        venues=venues,
        criteria=criteria,
        bidders=bidders,
        raw=raw,
        faults=_fault_rules(obj.get("faults")),
        inspection=_inspection_rules(obj.get("inspection")),
    )
