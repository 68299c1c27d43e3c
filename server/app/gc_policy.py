"""When the garbage collector may pause the event loop of a serving node.

Why: CPython's full (generation 2) collection walks every tracked object. On a node holding
dozens of sessions and hundreds of sockets it stopped the loop for 30 to 100 ms, about every ten
seconds under load, and those pauses were the node's slowest deliveries (``bench/sync.py``). The
policy:

- everything allocated at start-up (modules, the app) is frozen out of the collector;
- young collections (generations 0 and 1) stay automatic: they are short and reclaim most cycles;
- automatic full collections are off; this task runs one when the process has been quiet (under
  ``QUIET_CPU`` of a core over the last check) and ``QUIET_EVERY_S`` passed since the last one,
  and, however busy the node is, at least every ``FULL_EVERY_S``, so cyclic garbage that reached
  the old generation is always reclaimed.

The price, accepted: on a node that is never quiet, cyclic garbage that reached the old
generation waits up to ``FULL_EVERY_S`` (the young collections still reclaim most cycles, but
every connection leaves a few behind that live long enough to reach it), and what was frozen at
start-up (modules, the app) is never collected, which is what it is for. On Python 3.14 the
collector is incremental and ignores the third threshold; the quiet and periodic full
collections then only add to it.

How long garbage may wait was measured both ways. At five minutes ``bench/fuzz.py`` saw a busy
node's resident memory grow by half before the next collection. Over 100,000 fuzzed inputs, a
full collection at least every 15 s against every 60 s: the resident set grew by 10.5% and
12.9% against 15.7% (and by 11.7% and 13.2% in two more runs at 15 s that also tried smaller
SQLite caches, not kept; 2026-12-01). The pauses it adds did not show in ``bench/sync.py
--rooms 50 --seconds 30 --rounds 3`` (30 s per round, so each holds one or two): delivery p99
113.4 ms with 15 s, 113.0 ms with 60 s, the same day.

Only ``evalroom serve`` and ``demo`` install it; the tests' in-process servers keep the defaults.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0
QUIET_CPU = 0.2
QUIET_EVERY_S = 10.0
FULL_EVERY_S = 15.0
NEVER = 10**9  # a generation-2 threshold no count reaches


class GcPolicy:
    """Young collections automatic; full ones when quiet, and at least every ``FULL_EVERY_S``."""

    def __init__(self, after_full: Callable[[], object] = lambda: None) -> None:
        self.full_collections = 0
        self._after_full = after_full
        self._last_full = time.monotonic()

    def install(self) -> None:
        """Freeze the start-up heap and turn automatic full collections off."""
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)

    def due(self, now: float, cpu_share: float) -> bool:
        """Whether a full collection should run now, given the CPU share since the last check."""
        since = now - self._last_full
        return since >= FULL_EVERY_S or (cpu_share < QUIET_CPU and since >= QUIET_EVERY_S)

    def collect(self, now: float) -> None:
        """Run a full collection and remember when."""
        started = time.perf_counter()
        found = gc.collect()
        self._after_full()  # heap_policy.trim in a serving node: what was freed goes back
        self._last_full, self.full_collections = now, self.full_collections + 1
        logger.debug(
            "full collection (and what follows it): %d objects in %.1f ms",
            found,
            1000 * (time.perf_counter() - started),
        )

    async def run(self) -> None:
        """Check every few seconds whether a full collection is due."""
        wall, cpu = time.monotonic(), time.process_time()
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            now, used = time.monotonic(), time.process_time()
            share = (used - cpu) / max(now - wall, 1e-6)
            if self.due(now, share):
                self.collect(now)
            wall, cpu = now, time.process_time()
