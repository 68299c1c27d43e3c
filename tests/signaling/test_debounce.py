"""Connection states become log events only once stable; dark media alerts once per period."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.debounce import SilenceWatch, StateDebouncer

STATES = ["new", "connecting", "connected", "disconnected", "failed"]


def test_a_300ms_blip_never_becomes_an_event() -> None:
    d = StateDebouncer()
    d.observe("host-1/pub", "connecting", 0)
    d.observe("host-1/pub", "connected", 400)
    assert d.due(2399) == []
    assert d.due(2400) == [("host-1/pub", "connected")]
    d.observe("host-1/pub", "disconnected", 10_000)
    d.observe("host-1/pub", "connected", 10_300)
    assert d.due(20_000) == []


def test_a_lasting_drop_is_reported_once_then_the_recovery() -> None:
    d = StateDebouncer(hold_ms=2000)
    d.observe("k", "connected", 0)
    assert d.due(2000) == [("k", "connected")]
    d.observe("k", "disconnected", 5000)
    d.observe("k", "disconnected", 6000)  # a repeat keeps the start of the period
    assert d.due(6999) == []
    assert d.due(7000) == [("k", "disconnected")]
    assert d.due(9999) == []
    d.observe("k", "failed", 10_000)
    d.observe("k", "connected", 11_000)
    assert d.due(13_000) == [("k", "connected")]  # "failed" never held for 2 s


def test_due_reports_oldest_change_first_and_keys_independently() -> None:
    d = StateDebouncer(hold_ms=100)
    d.observe("b", "connected", 10)
    d.observe("a", "connected", 20)
    d.observe("c", "connected", 10)
    d.observe("d", "connected", 500)
    assert d.due(200) == [("b", "connected"), ("c", "connected"), ("a", "connected")]
    assert d.due(600) == [("d", "connected")]


def test_forget_starts_a_key_afresh() -> None:
    d = StateDebouncer(hold_ms=100)
    d.observe("k", "connected", 0)
    assert d.due(100) == [("k", "connected")]
    d.forget("k")
    d.forget("never-seen")
    assert d.due(1000) == []
    d.observe("k", "connected", 1000)
    assert d.due(1100) == [("k", "connected")]  # a new connection under the same key


def test_zero_hold_reports_at_once_and_negative_is_refused() -> None:
    d = StateDebouncer(hold_ms=0)
    d.observe("k", "new", 5)
    assert d.due(5) == [("k", "new")]
    with pytest.raises(ValueError, match="hold_ms"):
        StateDebouncer(hold_ms=-1)


@settings(max_examples=300, deadline=None, database=None)
@given(
    hold=st.integers(0, 3000),
    steps=st.lists(
        st.tuples(st.integers(0, 1500), st.sampled_from(STATES), st.booleans()), max_size=40
    ),
)
def test_reports_are_stable_states_and_never_repeat(
    hold: int, steps: list[tuple[int, str, bool]]
) -> None:
    d = StateDebouncer(hold_ms=hold)
    now = 0
    since = 0
    current: str | None = None
    reported: list[str] = []
    for gap, state, poll in steps:
        now += gap
        if state != current:
            current, since = state, now
        d.observe("k", state, now)
        if poll:
            for key, got in d.due(now):
                assert key == "k"
                assert got == current
                assert now - since >= hold
                assert not reported or reported[-1] != got
                reported.append(got)
    # Once everything has held, the last state is what was reported last.
    final = d.due(now + hold)
    if current is not None:
        assert (reported + [s for _, s in final])[-1] == current


def test_silence_alerts_once_per_dark_period_and_rearms() -> None:
    w = SilenceWatch()
    w.seen("host-1/audio", 0)
    w.seen("host-1/video", 0)
    assert w.alerts(5000, 5000) == []  # exactly the limit is not longer than it
    w.seen("host-1/video", 4000)
    assert w.alerts(5001, 5000) == ["host-1/audio"]
    assert w.alerts(8000, 5000) == []  # still dark, already alerted
    assert w.alerts(9001, 5000) == ["host-1/video"]
    w.seen("host-1/audio", 10_000)  # media again: re-armed
    assert w.alerts(12_000, 5000) == []
    assert w.alerts(15_001, 5000) == ["host-1/audio"]


def test_silence_darkest_first_out_of_order_reports_and_forget() -> None:
    w = SilenceWatch()
    w.seen("b", 300)
    w.seen("a", 200)
    w.seen("c", 100)
    w.seen("b", 50)  # a late report does not move time back
    assert w.alerts(1000, 10) == ["c", "a", "b"]
    w.forget("a")
    w.seen("b", 1000)
    assert w.alerts(5000, 10) == ["b"]
    assert w.alerts(10**9, 10) == []  # "a" is no longer watched, "c" already alerted
