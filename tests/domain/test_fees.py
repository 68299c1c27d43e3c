"""Expert fees (专家劳务报酬): the catalogue's bands, the guest-venue rule, each member's time from
the log, and the statements logged with the seal after the close."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.client.expert_pool import sample_fees
from server.domain.commands import AdvancePhase, CreateSession, Enrol, decide
from server.domain.errors import Code, CommandError
from server.domain.fees import parse_catalogue, statement
from server.domain.recusal import ReviewRecusal
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession
from server.domain.views import Viewer, event_view
from tests.domain.driver import ADMIN, SUP, S, Session
from tests.helpers import public_b64

NODE = Principal(Role.NODE, S, "timer")
VENUES = ["host", "guest-1", "guest-2"]
MINUTE = 60_000


def test_bands_and_hours_beyond() -> None:
    host = parse_catalogue(sample_fees(), VENUES).rates["host"]
    assert [host.amount(m) for m in (0, 240, 241, 480, 481, 540, 541)] == [
        Decimal(800),
        Decimal(800),
        Decimal(1200),
        Decimal(1200),
        Decimal(1350),  # one started hour beyond the day
        Decimal(1350),
        Decimal(1500),
    ]


def test_a_guest_is_paid_the_higher_rate_when_the_rule_says_so() -> None:
    catalogue = parse_catalogue(sample_fees(), VENUES)
    row = statement(catalogue, "host", "guest-1", 0, 300 * MINUTE)  # 5 h: a day
    assert (row["rates_of"], row["amount"], row["travel"], row["total"]) == (
        "host",
        "1200.00",
        "200.00",
        "1400.00",
    )
    own = parse_catalogue({**sample_fees(), "guest_rule": "own"}, VENUES)
    assert statement(own, "host", "guest-1", 0, 300 * MINUTE)["amount"] == "1000.00"
    richer = statement(catalogue, "host", "guest-2", 0, 300 * MINUTE)  # its own is higher
    assert (richer["rates_of"], richer["total"]) == ("guest-2", "1600.00")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"currency": "USD"}, "CNY"),
        ({"guest_rule": "lower"}, "guest_rule"),
        ({"rates": {"host": {"bands": []}}}, "every venue"),
    ],
)
def test_a_bad_catalogue_refuses_the_lot(lot_json: dict[str, Any], change: Any, words: str) -> None:
    with pytest.raises(CommandError) as refused:
        decide(
            None, ADMIN, "create", CreateSession({**lot_json, "fees": {**sample_fees(), **change}})
        )
    assert refused.value.code is Code.BAD_LOT
    assert words in refused.value.message


def _at(session: Session, time_ms: int) -> None:
    session.clock = itertools.count(time_ms)


def test_statements_are_logged_with_the_seal(lot_json: dict[str, Any]) -> None:
    session = Session({**lot_json, "fees": sample_fees()})
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    start = 1_795_000_000_000
    _at(session, start)
    seats = list(session.state.seats)
    for seat in seats:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    (declared,) = session.expert("guest-1-2", "recusal.declare", reason="曾为投标人提供咨询")
    _at(session, start + 90 * MINUTE)
    (replaced,) = session.run(SUP, ReviewRecusal(declared.data["recusal"], True))
    new = replaced.data["by"]
    session.keys[new] = Ed25519PrivateKey.generate()
    session.run(Principal(Role.EXPERT, S, new), Enrol(public_b64(session.keys[new])))
    _at(session, start + 100 * MINUTE)
    session.expert(new, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring"))
    _at(session, start + 300 * MINUTE)
    for seat in session.state.seats:
        for bidder, criterion in session.state.lot.typed_cells():
            fields = session.blind_fields(seat, {"bidder": bidder, "criterion": criterion})
            session.expert(seat, "score.set", **fields, value="3")
        session.expert(seat, "sheet.submit")
    session.run(SUP, AdvancePhase("review"))
    session.run(SUP, AdvancePhase("closed"))
    fees, sealed = session.run(NODE, SealSession("closed"))
    assert (fees.type, sealed.type) == ("fees.computed", "session.sealed")
    rows = {r["seat"]: r for r in fees.data["statements"]}
    assert set(rows) == {*seats, new}
    assert rows["guest-1-2"]["status"] == "recused"
    assert rows["guest-1-2"]["minutes"] == 90
    assert rows["guest-1-2"]["total"] == "1000.00"  # the host's half day (800) + its travel
    assert rows["host-1"]["minutes"] == 301  # to the close, a started minute counts
    assert rows["host-1"]["total"] == "1200.00"
    assert (rows[new]["minutes"], rows[new]["status"]) == (201, "member")
    assert fees.data["total"] == str(
        sum(Decimal(r["total"]) for r in rows.values()).quantize(Decimal("0.01"))
    )
    assert session.state.fees is not None
    for viewer in (Viewer(Role.EXPERT, "host-1"), Viewer(Role.PUBLIC)):
        assert event_view(fees, viewer, True) == {"seq": fees.seq, "type": "hidden"}
