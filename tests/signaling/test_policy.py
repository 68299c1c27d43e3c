"""Who sees and hears whom, over a whole venue and every role."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.roles import Role
from signaling.policy import (
    KINDS,
    Kind,
    MediaPolicy,
    may_publish,
    may_receive,
    receives_any,
    wanted,
)

SEATS = ("host-1", "host-2", "guest-1")
PUBLISHED: list[tuple[str, Kind]] = [(seat, kind) for seat in SEATS for kind in KINDS]
OPEN = MediaPolicy()
NO_VIDEO = MediaPolicy(experts_see_video=False)


def test_only_experts_publish_and_only_experts_and_supervisors_receive() -> None:
    assert {r for r in Role if may_publish(r)} == {Role.EXPERT}
    assert {r for r in Role if receives_any(r)} == {Role.EXPERT, Role.SUPERVISOR}


def test_expert_hears_and_sees_every_other_seat_by_default() -> None:
    assert wanted(Role.EXPERT, "host-1", PUBLISHED, OPEN) == {
        ("host-2", "audio"),
        ("host-2", "video"),
        ("guest-1", "audio"),
        ("guest-1", "video"),
    }


def test_expert_only_hears_the_others_when_video_is_off() -> None:
    assert wanted(Role.EXPERT, "guest-1", PUBLISHED, NO_VIDEO) == {
        ("host-1", "audio"),
        ("host-2", "audio"),
    }


@pytest.mark.parametrize("policy", [OPEN, NO_VIDEO])
def test_supervisor_receives_everything(policy: MediaPolicy) -> None:
    assert wanted(Role.SUPERVISOR, None, PUBLISHED, policy) == frozenset(PUBLISHED)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.PUBLIC, Role.ADMIN])
@pytest.mark.parametrize("policy", [OPEN, NO_VIDEO])
def test_auditor_public_and_admin_receive_no_live_media(role: Role, policy: MediaPolicy) -> None:
    assert wanted(role, None, PUBLISHED, policy) == frozenset()
    assert not receives_any(role)


@pytest.mark.parametrize("kind", KINDS)
def test_expert_never_receives_own_seat(kind: Kind) -> None:
    assert not may_receive(Role.EXPERT, "host-1", "host-1", kind, OPEN)


def test_fails_closed_on_expert_without_seat_and_unknown_kind() -> None:
    assert not may_receive(Role.EXPERT, None, "host-1", "audio", OPEN)
    assert not may_receive(Role.SUPERVISOR, None, "host-1", "screen", OPEN)  # type: ignore[arg-type]


def test_wanted_accepts_any_iterable_once() -> None:
    pairs: list[tuple[str, Kind]] = [("host-2", "audio"), ("host-2", "audio")]
    sources = iter(pairs)
    assert wanted(Role.EXPERT, "host-1", sources, OPEN) == {("host-2", "audio")}


def test_policy_from_lot_defaults_and_reads_media(lot_json: dict[str, Any]) -> None:
    assert MediaPolicy.from_lot(lot_json) == OPEN
    assert MediaPolicy.from_lot({}) == OPEN
    assert MediaPolicy.from_lot({"media": {}}) == OPEN
    assert MediaPolicy.from_lot({"media": {"experts_see_video": False}}) == NO_VIDEO
    assert MediaPolicy.from_lot({"media": {"experts_see_video": True}}) == OPEN


@pytest.mark.parametrize(
    "media", [{"experts_see_video": "false"}, {"experts_see_video": 0}, {"experts_see_video": None}]
)
def test_policy_from_lot_refuses_non_booleans(media: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"experts_see_video must be true or false"):
        MediaPolicy.from_lot({"media": media})


def test_policy_from_lot_refuses_media_that_is_not_an_object() -> None:
    with pytest.raises(ValueError, match="'media' must be an object"):
        MediaPolicy.from_lot({"media": ["video"]})


@settings(max_examples=200, deadline=None, database=None)
@given(
    role=st.sampled_from(list(Role)),
    own=st.sampled_from([*SEATS, None]),
    sources=st.lists(st.tuples(st.sampled_from(SEATS), st.sampled_from(KINDS))),
    see=st.booleans(),
)
def test_wanted_is_a_subset_without_own_seat_and_only_video_if_allowed(
    role: Role, own: str | None, sources: list[tuple[str, Kind]], see: bool
) -> None:
    got = wanted(role, own, sources, MediaPolicy(experts_see_video=see))
    assert got <= set(sources)
    if role is Role.EXPERT:
        assert all(seat != own for seat, _ in got)
        assert see or all(kind == "audio" for _, kind in got)
    if not receives_any(role):
        assert got == frozenset()
