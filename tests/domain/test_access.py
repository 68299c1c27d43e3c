"""Access rules: token revocation by generation, the enrolment back-off and its reset."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.access import (
    Backoff,
    ResetEnrolment,
    RevokeTokens,
    backoff_ms,
    retry_at_ms,
    token_generation,
)
from server.domain.errors import Code, CommandError
from server.domain.folding import fold
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from tests.domain.driver import ADMIN, SUP, S, Session

RULE = Backoff(free_per_seat=3, free_per_source=20, first_wait_ms=1_000, max_wait_ms=60_000)


def test_the_back_off_is_free_at_first_then_doubles_up_to_its_cap() -> None:
    waits = [backoff_ms(n, RULE.free_per_seat, RULE) for n in range(12)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:10] == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000]
    assert waits[10:] == [60_000, 60_000]
    assert backoff_ms(10**9, 0, RULE) == 60_000  # no overflow for an absurd count
    assert retry_at_ms(5_000, 4, RULE.free_per_seat, RULE) == 7_000


def test_revoking_moves_the_generation_and_is_logged(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    assert token_generation(session.state, "supervisor", "sup-1") == 0
    (event,) = session.run(ADMIN, RevokeTokens("supervisor", "sup-1", "笔记本遗失"))
    assert event.type == "tokens.revoked"
    assert event.actor == "admin:admin"
    assert event.data == {
        "role": "supervisor",
        "subject": "sup-1",
        "generation": 1,
        "reason": "笔记本遗失",
    }
    session.run(ADMIN, RevokeTokens("supervisor", "sup-1"))
    assert token_generation(session.state, "supervisor", "sup-1") == 2
    assert token_generation(session.state, "supervisor", "sup-2") == 0
    # the generation survives a fold from zero and a snapshot round trip
    assert fold(session.events).token_generations == {"supervisor:sup-1": 2}
    copy = state_from_json(state_to_json(session.state))
    assert token_generation(copy, "supervisor", "sup-1") == 2


@pytest.mark.parametrize(
    ("principal", "command", "code"),
    [
        (SUP, RevokeTokens("supervisor", "sup-2"), Code.FORBIDDEN),
        (Principal(Role.EXPERT, S, "host-1"), RevokeTokens("public", "screen"), Code.FORBIDDEN),
        (ADMIN, RevokeTokens("expert", "host-1"), Code.MALFORMED),
        (ADMIN, RevokeTokens("media", "node"), Code.MALFORMED),
        (ADMIN, RevokeTokens("nobody", "x"), Code.MALFORMED),
        (ADMIN, RevokeTokens("auditor", ""), Code.MALFORMED),
        (ADMIN, RevokeTokens("auditor", "a" * 65), Code.MALFORMED),
        (ADMIN, RevokeTokens("auditor", "auditor", "x" * 501), Code.MALFORMED),
        (ADMIN, RevokeTokens("auditor", "auditor", ""), Code.MALFORMED),
    ],
)
def test_only_the_admin_revokes_staff_tokens(
    lot_json: dict[str, Any], principal: Principal, command: RevokeTokens, code: Code
) -> None:
    session = Session(lot_json)
    with pytest.raises(CommandError) as refused:
        session.run(principal, command)
    assert refused.value.code is code
    assert session.state.token_generations == {}


def test_a_supervisor_resets_a_seats_back_off_before_it_enrols(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    (event,) = session.run(SUP, ResetEnrolment("guest-1-1", "电话核实身份"))
    assert (event.type, event.actor) == ("enrolment.reset", "supervisor:sup-1")
    assert event.data == {"seat": "guest-1-1", "reason": "电话核实身份"}
    session.enrol_all()
    with pytest.raises(CommandError) as enrolled:
        session.run(SUP, ResetEnrolment("guest-1-1"))
    assert enrolled.value.code is Code.ALREADY_ENROLLED
    with pytest.raises(CommandError) as unknown:
        session.run(SUP, ResetEnrolment("nobody"))
    assert unknown.value.code is Code.UNKNOWN_SEAT
    with pytest.raises(CommandError) as expert:
        session.run(Principal(Role.EXPERT, S, "host-1"), ResetEnrolment("host-2"))
    assert expert.value.code is Code.FORBIDDEN
