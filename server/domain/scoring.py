"""Signed scoring commands of an expert: sign-in, scores, sheet submission, flag explanations.

Each ``check_*`` takes the state, the seat, the signed body (already verified and bound to the
session, seat and command id by :mod:`server.domain.commands`) and the proof (the signed text and
signature that go into the event), and returns the drafts to append or raises ``CommandError``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.flags import is_flagged, mismatches
from server.domain.lot import CriterionKind, Lot
from server.domain.state import Phase, SessionState, cell_key

PLEDGE_ID = "evalroom-pledge-v1"  # the text of 承诺书 the seat page shows; its id is what is signed
MAX_COMMENT_CHARS = 2000
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,4})?$")


def actor_of(seat: str) -> str:
    """The actor of an expert's event."""
    return f"expert:{seat}"


def check_value(lot: Lot, bidder: Any, criterion: Any, value: Any) -> str:
    """A typed score: known bidder and criterion, a decimal string within range and on step."""
    if not isinstance(bidder, str) or lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r} in this lot")
    found = lot.criterion(criterion) if isinstance(criterion, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_CRITERION, f"no criterion {criterion!r} in this lot")
    if not found.typed:
        raise CommandError(Code.NOT_SCORABLE, f"{found.id} is {found.kind}: never typed")
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):  # "$" lets "7.5\n" in
        raise CommandError(Code.MALFORMED, 'value must be a decimal string such as "7.5"')
    number = Decimal(value)
    if not found.min <= number <= found.max:
        raise CommandError(Code.OUT_OF_RANGE, f"{found.id} takes {found.min}..{found.max}")
    step = found.step or Decimal(1)  # typed criteria always have one (parse_lot)
    if (number - found.min) % step != 0:
        raise CommandError(Code.OFF_STEP, f"{found.id} moves in steps of {found.step}")
    return value


def resolve_cell(
    state: SessionState, seat: str, body: dict[str, Any], *, closed_ok: bool = False
) -> tuple[str, dict[str, Any]]:
    """The bidder a signed body means, and how the event names it (``bidder`` or ``code``).

    While the blind part is open a blind criterion is named by the seat's code only; a bidder
    id there is refused (the expert must not be able to score a bidder they were not shown).
    After the reveal a blind cell is closed, unless ``closed_ok`` (an explanation), which then
    accepts the code or the bidder.
    """
    name = body.get("criterion")
    criterion = state.lot.criterion(name) if isinstance(name, str) else None
    if criterion is None:
        raise CommandError(Code.UNKNOWN_CRITERION, f"no criterion {name!r} in this lot")
    blind = state.blind
    if criterion.blind and blind is not None and not (blind.revealed and "code" not in body):
        if blind.revealed and not closed_ok:
            raise CommandError(Code.BLIND_CLOSED, f"{criterion.id} was scored blind and is closed")
        code = body.get("code")
        if "bidder" in body or not isinstance(code, str):
            raise CommandError(Code.BLIND_CODE_REQUIRED, f"{criterion.id} is scored by code")
        bidder = blind.bidder_of(seat, code)
        if bidder is None:
            raise CommandError(Code.UNKNOWN_BIDDER, f"no code {code!r} on seat {seat}'s sheet")
        return bidder, {"code": code}
    if criterion.blind and blind is not None and not closed_ok:
        raise CommandError(Code.BLIND_CLOSED, f"{criterion.id} was scored blind and is closed")
    if "code" in body:
        raise CommandError(Code.MALFORMED, f"{criterion.id} is not blind: name the bidder")
    bidder = body.get("bidder")
    if not isinstance(bidder, str) or state.lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r} in this lot")
    return bidder, {"bidder": bidder}


def check_sign_in(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """The pledge (承诺书), once, during sign-in (or when a replacement seat comes in scoring)."""
    late = state.joined_late(seat) and state.phase is Phase.SCORING
    if state.phase is not Phase.SIGN_IN and not late:
        raise CommandError(Code.WRONG_PHASE, f"sign-in is not open in phase {state.phase}")
    if state.seats[seat].signed_in:
        raise CommandError(Code.ALREADY_SIGNED_IN, f"seat {seat} already signed in")
    if body.get("pledge") != PLEDGE_ID:
        raise CommandError(Code.MALFORMED, f"pledge must be {PLEDGE_ID!r}")
    data = {"seat": seat, "pledge": PLEDGE_ID, **proof}
    return [Draft("expert.signed_in", actor_of(seat), data)]


def _check_scoring(state: SessionState, seat: str) -> None:
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, f"scoring is not open in phase {state.phase}")
    if not state.seats[seat].signed_in:
        raise CommandError(Code.NOT_SIGNED_IN, f"seat {seat} has not signed in")


def _correcting_mismatch(state: SessionState, seat: str, bidder: str, criterion: str) -> bool:
    return any(
        f.bidder == bidder and f.criterion == criterion and seat in f.seats
        for f in mismatches(state)
    )


def check_score(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``score.set``: one signed cell of the seat's sheet.

    A submitted sheet, and the ``review`` phase, still accept a change to an objective cell on
    which this seat disagrees with another (the experts re-read the documents and agree); every
    other cell of a submitted sheet is final.
    """
    if state.phase not in (Phase.SCORING, Phase.REVIEW):
        raise CommandError(Code.WRONG_PHASE, f"scoring is not open in phase {state.phase}")
    if not state.seats[seat].signed_in:
        raise CommandError(Code.NOT_SIGNED_IN, f"seat {seat} has not signed in")
    bidder, named = resolve_cell(state, seat, body)
    value = check_value(state.lot, bidder, body.get("criterion"), body.get("value"))
    criterion = state.lot.criterion(body["criterion"])
    if criterion is None:  # resolve_cell checked it; this narrows the type
        raise CommandError(Code.UNKNOWN_CRITERION, "no such criterion")
    correcting = criterion.kind is CriterionKind.OBJECTIVE and _correcting_mismatch(
        state, seat, bidder, criterion.id
    )
    if state.phase is Phase.REVIEW and not correcting:
        raise CommandError(Code.WRONG_PHASE, "in review only a disputed objective cell changes")
    if state.seats[seat].submitted and not correcting:
        raise CommandError(Code.SHEET_SUBMITTED, f"seat {seat} already submitted its sheet")
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
        raise CommandError(Code.MALFORMED, f"comment must be text of at most {MAX_COMMENT_CHARS}")
    if criterion.comment_required and not (comment or "").strip():
        raise CommandError(Code.COMMENT_REQUIRED, f"{criterion.id} needs a comment")
    data: dict[str, Any] = {"seat": seat, **named, "criterion": criterion.id, "value": value}
    if comment is not None:
        data["comment"] = comment
    return [Draft("score.set", actor_of(seat), {**data, **proof})]


def check_submit(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``sheet.submit``: every typed cell filled."""
    _check_scoring(state, seat)
    if state.seats[seat].submitted:
        raise CommandError(Code.SHEET_SUBMITTED, f"seat {seat} already submitted its sheet")
    required = state.lot.typed_cells()
    have = state.cells[seat]
    missing = [cell_key(b, c) for b, c in required if cell_key(b, c) not in have]
    if missing:
        if state.blind_open and state.blind is not None:
            # never name a blind cell's bidder to the expert: name it by their code
            missing = [_as_seen(state, seat, key) for key in missing]
        raise CommandError(Code.SHEET_INCOMPLETE, "empty cells", cells=missing[:20])
    data = {"seat": seat, "cells": len(required), **proof}
    return [Draft("sheet.submitted", actor_of(seat), data)]


def _as_seen(state: SessionState, seat: str, key: str) -> str:
    bidder, criterion = key.split("/", 1)
    found = state.lot.criterion(criterion)
    if found is not None and found.blind and state.blind is not None:
        return cell_key(state.blind.code_of(seat, bidder) or "?", criterion)
    return key


def check_explain(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``flag.explain``: the expert's written explanation of one of their flagged scores."""
    if state.phase not in (Phase.SCORING, Phase.REVIEW):
        raise CommandError(Code.WRONG_PHASE, f"no flags to explain in phase {state.phase}")
    bidder, named = resolve_cell(state, seat, body, closed_ok=True)
    criterion = str(body["criterion"])
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT_CHARS:
        raise CommandError(Code.REASON_REQUIRED, f"an explanation of 1..{MAX_COMMENT_CHARS} chars")
    if not is_flagged(state, seat, bidder, criterion):
        raise CommandError(Code.NOT_FLAGGED, f"{seat}'s score of this cell is not flagged")
    data = {"seat": seat, **named, "criterion": criterion, "text": text, **proof}
    return [Draft("flag.explained", actor_of(seat), data)]
