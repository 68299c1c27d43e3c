"""The serving node's collector policy: full collections only when quiet, or every few minutes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.app import gc_policy
from server.app.gc_policy import GcPolicy


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def test_install_freezes_start_up_and_turns_automatic_full_collections_off(
    restore_gc: None,
) -> None:
    young, middle, _ = gc.get_threshold()
    GcPolicy().install()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (young, middle, gc_policy.NEVER)


def test_a_full_collection_is_due_when_quiet_or_when_it_has_waited_too_long() -> None:
    policy = GcPolicy()
    start = policy._last_full
    busy, quiet = 0.9, 0.05
    assert not policy.due(start + gc_policy.QUIET_EVERY_S - 1, quiet)  # quiet, but one ran lately
    assert policy.due(start + gc_policy.QUIET_EVERY_S, quiet)
    assert not policy.due(start + gc_policy.QUIET_EVERY_S, busy)
    assert not policy.due(start + gc_policy.FULL_EVERY_S - 1, busy)
    assert policy.due(start + gc_policy.FULL_EVERY_S, busy)  # however busy the node is


def test_collect_reclaims_a_cycle_and_restarts_the_wait(restore_gc: None) -> None:
    policy = GcPolicy()
    policy.install()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    policy.collect(policy._last_full + 100)
    assert policy.full_collections == 1
    assert not policy.due(policy._last_full + 1, 0.0)
    assert not any(type(o).__name__ == "Node" for o in gc.get_objects())


def test_what_follows_a_full_collection_sees_the_cycles_gone(restore_gc: None) -> None:
    seen: list[int] = []

    class Node:
        other: object = None

    def after_full() -> None:  # heap_policy.trim in a serving node
        seen.append(sum(type(o) is Node for o in gc.get_objects()))

    policy = GcPolicy(after_full=after_full)
    policy.install()
    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    policy.collect(policy._last_full + 100)
    assert seen == [0]
