"""A seat's uplink drops: its connection fails, it restarts, and the room carries on (the
embedded backend; Janus runs the same scenario in tests/janus/test_janus_checks.py)."""

from __future__ import annotations

import pytest

from tests.media.scenarios import check_restart, restart_after_drop

pytestmark = pytest.mark.slow


async def test_a_dropped_uplink_recovers_by_restart_with_the_seat_kept(media_server: str) -> None:
    check_restart(await restart_after_drop(media_server))
