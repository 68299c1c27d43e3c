"""Seat recovery: a supervisor revokes a failed device's key; the seat enrols a new one even
after sign-in has closed; the old key signs nothing more and the old tokens lose their rights."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.domain.access import token_generation
from server.domain.commands import Enrol
from server.domain.errors import Code
from server.domain.pause import PauseSession
from server.domain.recovery import RecoverSeat, recovering
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.views import Viewer, state_view
from tests.domain.driver import ADMIN, SUP, S, Session
from tests.domain.test_pause import EXPERT, refused, scoring
from tests.helpers import public_b64

SEAT = Principal(Role.EXPERT, S, "host-1")


def test_a_recovered_seat_enrols_a_new_key_during_scoring(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    old = session.state.seats["host-1"].key
    enrolment = session.state.seats["host-1"].enrolled_seq
    refused(Code.WRONG_PHASE, lambda: session.run(SEAT, Enrol(public_b64(session.keys["host-2"]))))
    session.run(SUP, PauseSession("主场 1 号席电脑故障"))  # possible while paused
    (revoked,) = session.run(SUP, RecoverSeat("host-1", "笔记本电脑故障，更换设备"))
    assert revoked.data == {
        "seat": "host-1",
        "reason": "笔记本电脑故障，更换设备",
        "key": old,
        "enrolled": enrolment,
    }
    assert recovering(session.state, "host-1")
    assert token_generation(session.state, "expert", "host-1") == 1  # old tokens refused
    assert (
        state_view(session.state, Viewer(Role.SUPERVISOR))["seats"]["host-1"]["enrolled"] is False
    )
    snapshot = state_to_json(session.state)
    assert state_from_json(snapshot).seats["host-1"] == session.state.seats["host-1"]
    refused(Code.NOT_ENROLLED, lambda: session.run(SUP, RecoverSeat("host-1", "again")))

    new = Ed25519PrivateKey.generate()
    (enrolled,) = session.run(SEAT, Enrol(public_b64(new)))
    assert enrolled.data["key"]["public"] == public_b64(new)
    assert not recovering(session.state, "host-1")
    refused(Code.WRONG_PHASE, lambda: session.run(SEAT, Enrol(public_b64(new))))  # once only
    session.keys["host-1"] = new
    bidder, criterion = session.state.lot.typed_cells()[0]
    fields = session.blind_fields("host-1", {"bidder": bidder, "criterion": criterion})
    refused(Code.PAUSED, lambda: session.expert("host-1", "score.set", **fields, value="3"))


def test_the_old_key_signs_nothing_once_revoked(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    session.run(SUP, RecoverSeat("host-1", "设备故障"))
    bidder, criterion = session.state.lot.typed_cells()[0]
    fields = session.blind_fields("host-1", {"bidder": bidder, "criterion": criterion})
    refused(Code.NOT_ENROLLED, lambda: session.expert("host-1", "score.set", **fields, value="3"))


def test_who_may_recover_a_seat_and_when(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    refused(Code.NOT_ENROLLED, lambda: session.run(SUP, RecoverSeat("host-1", "未登记")))
    session = scoring(lot_json)
    for who in (ADMIN, EXPERT):
        refused(Code.FORBIDDEN, lambda who=who: session.run(who, RecoverSeat("host-1", "x")))
    refused(Code.UNKNOWN_SEAT, lambda: session.run(SUP, RecoverSeat("host-9", "x")))
    refused(Code.UNKNOWN_SEAT, lambda: session.run(SUP, RecoverSeat(7, "x")))
    refused(Code.REASON_REQUIRED, lambda: session.run(SUP, RecoverSeat("host-1", " ")))
