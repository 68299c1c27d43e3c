"""The expert draw: the pure function (determinism, avoidance, reserves in order) and the commit
and reveal round in the log (a withheld or a wrong share stops it)."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.auditlog.canonical import canonical_bytes
from server.client.expert_pool import sample_pool, sample_rules
from server.domain.commands import AdvancePhase
from server.domain.draw import (
    Stream,
    day_number,
    eligible,
    identity,
    parse_pool,
    parse_rules,
    select,
    share_commitment,
)
from server.domain.draw_session import CommitShare, MakeDraw, OpenDraw, RevealShare
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from tests.domain.driver import (
    ADMIN,
    SEATS,
    SUP,
    S,
    Session,
    commit_all,
    draw_commitment,
    draw_principal,
)

NODE = Principal(Role.NODE, S, "timer")
BIDDERS = ("山东鲁建水务工程有限公司", "济宁市政建设集团有限公司")
POOL = parse_pool(sample_pool(400))


def _rules(**changes: Any) -> Any:
    return parse_rules({**sample_rules(), **changes}, len(SEATS), BIDDERS)


seeds = st.binary(min_size=32, max_size=32)


@settings(max_examples=60, deadline=None)
@given(seed=seeds)
def test_the_same_inputs_draw_the_same_committee(seed: bytes) -> None:
    rules = _rules()
    first = select(POOL, rules, seed, tuple(SEATS))
    again = select(parse_pool(json.loads(POOL.raw)), rules, seed, tuple(SEATS))
    assert first == again
    assert [s for s, _ in first.members] == SEATS


@settings(max_examples=60, deadline=None)
@given(seed=seeds, cities=st.lists(st.sampled_from(["济南市", "青岛市", "微山县"]), max_size=2))
def test_avoidance_is_never_violated(seed: bytes, cities: list[str]) -> None:
    rules = _rules(avoid={"cities": cities, "recent_days": 60, "organisations": ["青岛理工大学"]})
    outcome = select(POOL, rules, seed, tuple(SEATS))
    drawn = [d for _, d in outcome.members] + list(outcome.reserves)
    assert len({d.expert.id for d in drawn}) == len(drawn) == 10
    for d in drawn:
        assert eligible(d.expert, rules)
        assert d.specialty in d.expert.specialties
        assert d.expert.organisation not in (*BIDDERS, "青岛理工大学")
        assert d.expert.city not in cities
        assert not set(d.expert.exclusions) & {*BIDDERS, "青岛理工大学"}


@settings(max_examples=40, deadline=None)
@given(seed=seeds)
def test_reserves_are_the_draws_that_follow_the_members(seed: bytes) -> None:
    """Drawing a specialty's reserves as members instead takes the same experts: a reserve is
    simply the next expert the stream draws for that specialty, ranked in draw order."""
    rules = _rules()
    outcome = select(POOL, rules, seed, tuple(SEATS))
    widened = {**sample_rules()}
    widened["specialties"] = [
        {**n, "count": n["count"] + n["reserves"], "reserves": 0} for n in widened["specialties"]
    ]
    wide = select(POOL, parse_rules(widened, 10, BIDDERS), seed, tuple(f"s{n}" for n in range(10)))
    drawn = {d.expert.id for _, d in outcome.members} | {d.expert.id for d in outcome.reserves}
    assert {d.expert.id for _, d in wide.members} == drawn
    ranks = [d.specialty for d in outcome.reserves]
    assert ranks == ["给排水", "市政工程", "工程造价"]  # in the rules' order, one each


def test_a_different_seed_draws_differently() -> None:
    a = select(POOL, _rules(), b"\x01" * 32, tuple(SEATS))
    b = select(POOL, _rules(), b"\x02" * 32, tuple(SEATS))
    assert a != b


def test_the_stream_is_the_documented_one() -> None:
    """The module docstring's stream, written out again from its words."""
    for bound in (10, 3, 10_000, (1 << 63) + 5):  # the last rejects about half its integers
        stream = Stream(b"\x07" * 32)
        assert [stream.below(bound) for _ in range(40)] == _by_hand(b"\x07" * 32, bound, 40)


def _by_hand(seed: bytes, bound: int, count: int) -> list[int]:
    accepted: list[int] = []
    limit = (1 << 64) - (1 << 64) % bound
    block = 0
    while len(accepted) < count:
        digest = hashlib.sha256(seed + b"evalroom-draw/1" + block.to_bytes(8, "big")).digest()
        block += 1
        for k in range(0, 32, 8):
            x = int.from_bytes(digest[k : k + 8], "big")
            if x < limit:
                accepted.append(x % bound)
    return accepted[:count]


def test_the_pool_hash_ignores_formatting() -> None:
    document = sample_pool(20)
    again = json.loads(json.dumps(document, indent=2, ensure_ascii=False))
    assert parse_pool(again).hash == parse_pool(document).hash
    changed = copy.deepcopy(document)
    changed["experts"][3]["city"] = "青岛市"
    assert parse_pool(changed).hash != parse_pool(document).hash


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"name": "x"}, "a pool is"),
        ({"name": "x", "experts": []}, "1.."),
        ({"name": "x", "experts": [{"id": "a b"}]}, "id must be"),
        ({"name": "x", "experts": [{"id": "E1", "name": "王伟", "nick": 1}]}, "unknown fields"),
    ],
)
def test_a_bad_pool_is_refused(document: Any, words: str) -> None:
    with pytest.raises(CommandError) as refused:
        parse_pool(document)
    assert refused.value.code is Code.MALFORMED
    assert words in refused.value.message


def test_identity_commitments_do_not_link_sessions() -> None:
    """The same expert drawn under two seeds has two unrelated commitments, so the logs of two
    sessions do not show that one person sat on both committees."""
    _, drawn = select(POOL, _rules(), b"\x05" * 32, tuple(SEATS)).members[0]
    once, twice = identity(drawn.expert, "05" * 32), identity(drawn.expert, "06" * 32)
    assert once != twice
    body = {"expert": drawn.expert.id, "name": drawn.expert.name, "seed": "05" * 32}
    assert once == hashlib.sha256(canonical_bytes(body)).hexdigest()


# The round in the log ------------------------------------------------------------------------


def _opened(lot: dict[str, Any], pool: Any = POOL) -> Session:
    session = Session(lot)
    session.run(ADMIN, OpenDraw(pool, sample_rules()))
    return session


def test_a_whole_round_makes_the_committee(lot_json: dict[str, Any]) -> None:
    session = _opened(lot_json)
    assert session.state.draw is not None
    assert session.state.draw.participants == ("host", "guest-1", "guest-2", "supervisor")
    shares = commit_all(session)
    for participant, share in shares.items():
        session.run(draw_principal(participant), RevealShare(share))
    (made,) = session.run(NODE, MakeDraw(POOL))
    assert [m["seat"] for m in made.data["members"]] == SEATS
    assert [r["rank"] for r in made.data["reserves"]] == [1, 2, 3]
    text = json.dumps(made.data, ensure_ascii=False)
    assert not any(e.name in text or e.id in text for e in POOL.experts)  # names stay sealed
    session.run(SUP, AdvancePhase("sign_in"))
    with pytest.raises(CommandError) as refused:
        session.run(ADMIN, OpenDraw(POOL, sample_rules()))
    assert refused.value.code is Code.WRONG_PHASE


@pytest.mark.parametrize("withheld", ["host", "guest-1", "guest-2", "supervisor"])
def test_any_single_withheld_reveal_stops_the_draw(lot_json: dict[str, Any], withheld: str) -> None:
    session = _opened(lot_json)
    shares = commit_all(session)
    for participant, share in shares.items():
        if participant != withheld:
            session.run(draw_principal(participant), RevealShare(share))
    with pytest.raises(CommandError) as refused:
        session.run(NODE, MakeDraw(POOL))
    assert refused.value.code is Code.DRAW_NOT_READY
    assert refused.value.details["waiting"] == [withheld]
    with pytest.raises(CommandError) as not_ready:
        session.run(SUP, AdvancePhase("sign_in"))
    assert not_ready.value.code is Code.PHASE_NOT_READY
    assert not_ready.value.details["waiting"] == [withheld]


def test_shares_are_revealed_only_after_every_commitment(lot_json: dict[str, Any]) -> None:
    session = _opened(lot_json)
    share = "ab" * 32
    session.run(draw_principal("host"), CommitShare(draw_commitment("host", share)))
    with pytest.raises(CommandError) as refused:
        session.run(draw_principal("host"), RevealShare(share))
    assert refused.value.code is Code.DRAW_NOT_READY
    assert refused.value.details["waiting"] == ["guest-1", "guest-2", "supervisor"]


def test_a_wrong_or_copied_share_is_refused(lot_json: dict[str, Any]) -> None:
    session = _opened(lot_json)
    shares = commit_all(session)
    for who, share in [("host", "00" * 32), ("guest-1", shares["host"])]:
        with pytest.raises(CommandError) as refused:
            session.run(draw_principal(who), RevealShare(share))
        assert refused.value.code is Code.BAD_REVEAL
    # a commitment copied from another participant is bound to that participant
    assert share_commitment(S, "host", "ab" * 32) != share_commitment(S, "guest-1", "ab" * 32)


@pytest.mark.parametrize(
    ("principal", "command", "code"),
    [
        (Principal(Role.EXPERT, S, "host-1"), CommitShare("ab" * 32), Code.NOT_PARTICIPANT),
        (Principal(Role.PUBLIC, S, "screen"), CommitShare("ab" * 32), Code.NOT_PARTICIPANT),
        (Principal(Role.VENUE, S, "nowhere"), CommitShare("ab" * 32), Code.NOT_PARTICIPANT),
        (Principal(Role.VENUE, S, "host"), CommitShare("AB" * 32), Code.MALFORMED),
        (SUP, OpenDraw(POOL, sample_rules()), Code.FORBIDDEN),
        (ADMIN, MakeDraw(POOL), Code.FORBIDDEN),
    ],
)
def test_who_may_do_what(
    lot_json: dict[str, Any], principal: Any, command: Any, code: Code
) -> None:
    session = _opened(lot_json)
    with pytest.raises(CommandError) as refused:
        session.run(principal, command)
    assert refused.value.code is code


def test_the_pool_must_fill_every_specialty(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    with pytest.raises(CommandError) as refused:
        session.run(ADMIN, OpenDraw(parse_pool(sample_pool(12)), sample_rules()))
    assert refused.value.code is Code.POOL_TOO_SMALL
    rules = {**sample_rules(), "specialties": [{"specialty": "给排水", "count": 6, "reserves": 0}]}
    with pytest.raises(CommandError) as wrong:
        session.run(ADMIN, OpenDraw(POOL, rules))
    assert wrong.value.code is Code.MALFORMED  # 6 members for 7 seats


def test_the_node_draws_over_the_pool_that_was_opened(lot_json: dict[str, Any]) -> None:
    session = _opened(lot_json)
    for participant, share in commit_all(session).items():
        session.run(draw_principal(participant), RevealShare(share))
    with pytest.raises(CommandError) as refused:
        session.run(NODE, MakeDraw(parse_pool(sample_pool(401))))
    assert refused.value.code is Code.MALFORMED


def test_day_numbers_are_the_calendar_s() -> None:
    import datetime

    start = datetime.date(1900, 1, 1)
    for offset in range(0, 250 * 366, 37):
        day = start + datetime.timedelta(days=offset)
        assert day_number(day.isoformat()) == (day - datetime.date(1970, 1, 1)).days


def test_no_new_round_once_every_share_is_out(lot_json: dict[str, Any]) -> None:
    """The admin holds the pool: with every share revealed it could compute the committee, so
    it may not start over then (only while a share is withheld)."""
    session = _opened(lot_json)
    shares = commit_all(session)
    for participant, share in list(shares.items())[:-1]:
        session.run(draw_principal(participant), RevealShare(share))
    session.run(ADMIN, OpenDraw(POOL, sample_rules()))  # one share withheld: a new round
    shares = commit_all(session)
    for participant, share in shares.items():
        session.run(draw_principal(participant), RevealShare(share))
    with pytest.raises(CommandError) as refused:
        session.run(ADMIN, OpenDraw(POOL, sample_rules()))
    assert refused.value.code is Code.DRAW_MADE
