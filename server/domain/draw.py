"""The expert draw (专家抽取, 盲抽): a documented deterministic function of (pool, rules, seed).

Pure, no clock, no IO. Anyone holding the pool file, the rules and the seed (all three are bound
by the session log, see :mod:`server.domain.draw_session`) recomputes the same committee:

1. **Eligible experts.** An expert is left out when their organisation is one to avoid (every
   bidder's, the tenderer's and any the rules add), when one of their own declared exclusions
   names such an organisation, when their city is one the rules avoid, or when they were drawn
   fewer than ``recent_days`` days before the draw's ``date``.
2. **The random stream.** Block ``i`` is ``SHA-256(seed || "evalroom-draw/1" || i)`` (``i`` as 8
   bytes big-endian); each block gives four 64-bit integers, big-endian, in order. ``below(n)``
   takes the next integer ``x`` and returns ``x mod n`` unless ``x`` falls in the last, partial
   run of ``n`` (``x >= 2^64 - 2^64 mod n``), in which case it takes the next one (no bias).
3. **Per specialty, in the rules' order**: the eligible experts who have that specialty and are
   not drawn yet, sorted by id; a partial Fisher-Yates shuffle takes ``count + reserves`` of them
   (``j = i + below(len - i)``, swap ``i`` and ``j``); the first ``count`` are members, the rest
   the specialty's reserves, in the order they were drawn (the first reserve replaces first).
4. **Seats** (三随机: the seat is drawn too): the members, in the order of step 3, are shuffled by
   the same stream (Fisher-Yates from the end: ``j = below(i + 1)`` for ``i`` from the last
   index down to 1) and take the lot's seats in the lot's order.

An expert's identity in the log is a commitment, ``SHA-256(canonical {"expert", "name", "seed"})``
in hex: it names nobody to whoever lacks the pool, and binds the name to the seat for whoever has
it (the archive, the verifier).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from server.auditlog.canonical import canonical_bytes
from server.domain.errors import Code, CommandError

STREAM_LABEL = b"evalroom-draw/1"
MAX_POOL = 100_000
MAX_TEXT = 200
MAX_LIST = 32
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
AVOID_KEYS = frozenset({"organisations", "cities", "recent_days"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class Expert:
    id: str
    name: str
    specialties: tuple[str, ...]
    organisation: str
    city: str
    exclusions: tuple[str, ...] = ()
    last_drawn: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class Pool:
    """An expert pool; ``hash`` is the SHA-256 (hex) of its canonical JSON document."""

    name: str
    experts: tuple[Expert, ...]
    hash: str
    raw: bytes  # the canonical bytes the hash is of: what the archive carries


@dataclass(frozen=True, slots=True)
class Need:
    specialty: str
    count: int
    reserves: int


@dataclass(frozen=True, slots=True)
class Rules:
    """A tender's draw rules, normalized (``to_json`` is what the log holds)."""

    date: str
    needs: tuple[Need, ...]
    avoid_organisations: tuple[str, ...]
    avoid_cities: tuple[str, ...]
    recent_days: int

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "specialties": [
                {"specialty": n.specialty, "count": n.count, "reserves": n.reserves}
                for n in self.needs
            ],
            "avoid": {
                "organisations": list(self.avoid_organisations),
                "cities": list(self.avoid_cities),
                "recent_days": self.recent_days,
            },
        }

    @property
    def members(self) -> int:
        return sum(n.count for n in self.needs)


@dataclass(frozen=True, slots=True)
class Drawn:
    expert: Expert
    specialty: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The committee drawn: members by seat, reserves in the order they replace."""

    members: tuple[tuple[str, Drawn], ...]  # (seat, drawn)
    reserves: tuple[Drawn, ...]


def _bad(message: str) -> CommandError:
    return CommandError(Code.MALFORMED, message)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise _bad(f"{what} must be a non-empty text of at most {MAX_TEXT} characters")
    return value


def _texts(value: Any, what: str, *, empty: bool = True) -> tuple[str, ...]:
    if value is None and empty:
        return ()
    if not isinstance(value, list) or len(value) > MAX_LIST or (not value and not empty):
        raise _bad(f"{what} must be a list of at most {MAX_LIST} texts")
    return tuple(_text(v, what) for v in value)


def day_number(text: str) -> int:
    """Days since 1970-01-01 of a date ``YYYY-MM-DD`` (proleptic Gregorian; H. Hinnant's
    days_from_civil, so the core needs no date library)."""
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date(value: Any, what: str) -> int:
    if not isinstance(value, str) or not _DATE.match(value):
        raise _bad(f"{what} must be a date YYYY-MM-DD")
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1] - (month == 2 and not leap):
        raise _bad(f"{what} is not a date: {value}")
    return day_number(value)


def _expert(entry: Any, n: int) -> Expert:
    if not isinstance(entry, dict):
        raise _bad(f"pool expert {n} must be an object")
    allowed = {"id", "name", "specialties", "organisation", "city", "exclusions", "last_drawn"}
    if not entry.keys() <= allowed:
        raise _bad(f"pool expert {n} has unknown fields {sorted(entry.keys() - allowed)}")
    if not isinstance(entry.get("id"), str) or not _ID.match(entry["id"]):
        raise _bad(f"pool expert {n}: id must be 1..64 chars of [A-Za-z0-9_.:-]")
    last = entry.get("last_drawn")
    if last is not None:
        _date(last, f"pool expert {entry['id']} last_drawn")
    return Expert(
        id=entry["id"],
        name=_text(entry.get("name"), f"pool expert {entry['id']} name"),
        specialties=_texts(entry.get("specialties"), "specialties", empty=False),
        organisation=_text(entry.get("organisation"), f"pool expert {entry['id']} organisation"),
        city=_text(entry.get("city"), f"pool expert {entry['id']} city"),
        exclusions=_texts(entry.get("exclusions"), "exclusions"),
        last_drawn=last,
    )


def parse_pool(document: Any) -> Pool:
    """A pool document ``{"name", "experts": [...]}``; ids unique. Its hash is of its canonical
    bytes, so the same pool always hashes the same however it was formatted."""
    if not isinstance(document, dict) or set(document) != {"name", "experts"}:
        raise _bad('a pool is {"name", "experts": [...]}')
    entries = document["experts"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_POOL:
        raise _bad(f"a pool holds 1..{MAX_POOL} experts")
    experts = tuple(_expert(e, n) for n, e in enumerate(entries, 1))
    if len({e.id for e in experts}) != len(experts):
        raise _bad("expert ids in a pool must be unique")
    raw = canonical_bytes(document)
    name = _text(document["name"], "pool name")
    return Pool(name, experts, hashlib.sha256(raw).hexdigest(), raw)


def parse_rules(rules: Any, seats: int, lot_organisations: tuple[str, ...]) -> Rules:
    """Draw rules for a lot of ``seats`` seats. The lot's bidders (and the tenderer named in
    ``lot_organisations``) are always avoided, whatever the rules say."""
    if not isinstance(rules, dict) or not rules.keys() <= {"date", "specialties", "avoid"}:
        raise _bad('draw rules are {"date", "specialties": [...], "avoid"?: {...}}')
    _date(rules.get("date"), "the draw's date")
    needs_in = rules.get("specialties")
    if not isinstance(needs_in, list) or not 1 <= len(needs_in) <= MAX_LIST:
        raise _bad("specialties must list 1..32 {specialty, count, reserves}")
    needs = []
    for need in needs_in:
        if not isinstance(need, dict) or set(need) != {"specialty", "count", "reserves"}:
            raise _bad("each specialty is {specialty, count, reserves}")
        for key in ("count", "reserves"):
            value = need[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
                raise _bad(f"{key} must be an integer 0..99")
        needs.append(Need(_text(need["specialty"], "specialty"), need["count"], need["reserves"]))
    if len({n.specialty for n in needs}) != len(needs):
        raise _bad("each specialty is listed once")
    if sum(n.count for n in needs) != seats:
        raise _bad(f"the counts must add up to the lot's {seats} seats")
    avoid = rules.get("avoid", {})
    if not isinstance(avoid, dict) or not avoid.keys() <= AVOID_KEYS:
        raise _bad("avoid is {organisations?, cities?, recent_days?}")
    recent = avoid.get("recent_days", 0)
    if isinstance(recent, bool) or not isinstance(recent, int) or not 0 <= recent <= 3650:
        raise _bad("recent_days must be an integer 0..3650")
    organisations = lot_organisations + tuple(
        o for o in _texts(avoid.get("organisations"), "organisations") if o not in lot_organisations
    )
    return Rules(
        date=rules["date"],
        needs=tuple(needs),
        avoid_organisations=organisations,
        avoid_cities=_texts(avoid.get("cities"), "cities"),
        recent_days=recent,
    )


def eligible(expert: Expert, rules: Rules) -> bool:
    """Step 1: whether ``expert`` may be drawn under ``rules``."""
    avoided = rules.avoid_organisations
    if expert.organisation in avoided or any(x in avoided for x in expert.exclusions):
        return False
    if expert.city in rules.avoid_cities:
        return False
    last = expert.last_drawn
    return last is None or day_number(rules.date) - day_number(last) >= rules.recent_days


class Stream:
    """Step 2: the random stream of a seed."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._block = 0
        self._buffer: list[int] = []

    def _next(self) -> int:
        if not self._buffer:
            digest = hashlib.sha256(
                self._seed + STREAM_LABEL + self._block.to_bytes(8, "big")
            ).digest()
            self._block += 1
            self._buffer = [int.from_bytes(digest[k : k + 8], "big") for k in (24, 16, 8, 0)]
        return self._buffer.pop()  # the block's integers in order: bytes 0..7 first

    def below(self, n: int) -> int:
        """A uniform integer in ``0..n-1``."""
        if n <= 0:
            raise ValueError("below() needs n >= 1")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            x = self._next()
            if x < limit:
                return x % n


def select(pool: Pool, rules: Rules, seed: bytes, seats: tuple[str, ...]) -> Outcome:
    """Steps 1-4: the members by seat and the reserves; ``pool_too_small`` when a specialty has
    fewer eligible experts than it needs."""
    if len(seats) != rules.members:
        raise _bad(f"the rules draw {rules.members} members for {len(seats)} seats")
    stream = Stream(seed)
    allowed = [e for e in sorted(pool.experts, key=lambda e: e.id) if eligible(e, rules)]
    taken: set[str] = set()
    members: list[Drawn] = []
    reserves: list[Drawn] = []
    for need in rules.needs:
        candidates = [e for e in allowed if need.specialty in e.specialties and e.id not in taken]
        wanted = need.count + need.reserves
        if len(candidates) < wanted:
            raise CommandError(
                Code.POOL_TOO_SMALL,
                f"{need.specialty}: {len(candidates)} eligible experts, {wanted} needed",
                specialty=need.specialty,
            )
        for i in range(wanted):
            j = i + stream.below(len(candidates) - i)
            candidates[i], candidates[j] = candidates[j], candidates[i]
        picked = [Drawn(e, need.specialty) for e in candidates[:wanted]]
        taken.update(d.expert.id for d in picked)
        members.extend(picked[: need.count])
        reserves.extend(picked[need.count :])
    for i in range(len(members) - 1, 0, -1):
        j = stream.below(i + 1)
        members[i], members[j] = members[j], members[i]
    return Outcome(tuple(zip(seats, members, strict=True)), tuple(reserves))


def identity(expert: Expert, seed_hex: str) -> str:
    """The commitment to an expert's identity that the log holds (hex)."""
    body = {"expert": expert.id, "name": expert.name, "seed": seed_hex}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def outcome_json(outcome: Outcome, seed_hex: str) -> dict[str, Any]:
    """The drawn committee as ``draw.made`` records it: commitments, never names or ids."""
    return {
        "members": [
            {"seat": seat, "specialty": d.specialty, "identity": identity(d.expert, seed_hex)}
            for seat, d in outcome.members
        ],
        "reserves": [
            {"rank": rank, "specialty": d.specialty, "identity": identity(d.expert, seed_hex)}
            for rank, d in enumerate(outcome.reserves, 1)
        ],
    }


def share_commitment(session: str, participant: str, share: str) -> str:
    """What a participant commits to before the draw (hex): its share, bound to it and the
    session, so a commitment cannot be replayed by another participant or in another session."""
    body = {"participant": participant, "session": session, "share": share}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def seed_of(session: str, pool_hash: str, rules: dict[str, Any], shares: dict[str, str]) -> str:
    """The seed (hex): every participant's revealed share, with what they were drawn over."""
    body = {
        "pool": pool_hash,
        "rules": rules,
        "session": session,
        "shares": shares,
        "v": "evalroom-draw/1",
    }
    return hashlib.sha256(canonical_bytes(body)).hexdigest()
