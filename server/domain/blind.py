"""Blind and staggered review (暗标错位评审): per-seat codes, each seat's own order, the reveal.

Pure. The randomness is drawn by the shell and passed in as ``draw`` (at least 16 random bytes,
hex); :func:`assign_codes` derives every seat's codes and order from it with HMAC-SHA256, so the
same draw always gives the same assignment and the domain never touches a random source.

Decisions:

- **Codes differ per seat**, not only the order: an expert who recognizes one document learns
  nothing that helps another expert, and a code said aloud on the audio identifies nothing.
  Codes are 4 characters of an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B) and
  never equal a bidder id.
- **The draw goes into the log** (``blind.assigned``: every seat's codes with their bidders)
  because the log is the only source of truth and a replay must resolve every score. The
  per-role views decide who sees it: supervisors, auditors and admins see the whole mapping
  live (they resolve blind scores and watch for misconduct; they do not score); an expert sees
  only their own codes, in their own order, without bidders; the public screen sees nothing.
- **The reveal is an event** (``blind.revealed``, the whole mapping again) that the chair
  (signed) or a supervisor triggers once every seat has scored every blind cell; advancing to
  ``review`` reveals it first if nobody did. After it no blind cell can change.
- **The draw itself (the seed) is not logged**: the mapping is. Keeping the seed out means the
  log does not commit to this derivation, so the shell may later draw codes another way.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.lot import Lot
from server.domain.state import SessionState, cell_key

CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3467"
CODE_LENGTH = 4
_DRAW = re.compile(r"^[0-9a-f]{32,128}$")


def blind_criteria(lot: Lot) -> list[str]:
    """Ids of the criteria the lot marks ``"blind": true``."""
    return [c.id for c in lot.criteria if c.blind and c.typed]


def _mac(draw: bytes, label: str) -> bytes:
    return hmac.new(draw, label.encode("utf-8"), hashlib.sha256).digest()


def _code(digest: bytes) -> str:
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def assign_codes(
    draw: str, seats: list[str], bidders: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each seat's ``[(code, bidder), ...]`` in that seat's own order, derived from ``draw``."""
    if not isinstance(draw, str) or not _DRAW.match(draw):
        raise CommandError(Code.MALFORMED, "the blind draw must be 32..128 lowercase hex digits")
    key = bytes.fromhex(draw)
    result: dict[str, list[tuple[str, str]]] = {}
    for seat in seats:
        order = sorted(bidders, key=lambda b, s=seat: _mac(key, f"order/{s}/{b}"))  # type: ignore[misc]
        used: set[str] = set(bidders)
        pairs = []
        for bidder in order:
            attempt = 0
            code = _code(_mac(key, f"code/{seat}/{bidder}/{attempt}"))
            while code in used:
                attempt += 1
                code = _code(_mac(key, f"code/{seat}/{bidder}/{attempt}"))
            used.add(code)
            pairs.append((code, bidder))
        result[seat] = pairs
    return result


def assigned_draft(state: SessionState, actor: str, draw: str) -> Draft:
    """The ``blind.assigned`` event committed together with the move to scoring."""
    bidders = [b.id for b in state.lot.bidders]
    pairs = assign_codes(draw, list(state.seats), bidders)
    seats = {seat: [[c, b] for c, b in codes] for seat, codes in pairs.items()}
    return Draft("blind.assigned", actor, {"seats": seats, "criteria": blind_criteria(state.lot)})


def missing_blind_cells(state: SessionState) -> list[str]:
    """``seat:bidder/criterion`` cells of blind criteria that a seat has not scored yet."""
    missing = []
    for seat in state.seats:
        for bidder in state.lot.bidders:
            for criterion in blind_criteria(state.lot):
                if cell_key(bidder.id, criterion) not in state.cells[seat]:
                    missing.append(f"{seat}:{cell_key(bidder.id, criterion)}")
    return missing


def revealed_draft(state: SessionState, actor: str) -> Draft:
    """The ``blind.revealed`` event; refused until every blind cell of every seat is scored."""
    if state.blind is None:
        raise CommandError(Code.BLIND_NOT_ASSIGNED, "this session has no blind draw")
    if state.blind.revealed:
        raise CommandError(Code.BLIND_CLOSED, "the blind part is already revealed")
    missing = missing_blind_cells(state)
    if missing:
        raise CommandError(Code.PHASE_NOT_READY, "blind cells not scored", cells=missing[:20])
    data = {"seats": state.blind.to_json(), "criteria": blind_criteria(state.lot)}
    return Draft("blind.revealed", actor, data)
