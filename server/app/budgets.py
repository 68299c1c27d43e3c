"""What each principal may spend: a token bucket per principal, scope and kind of request.

Kinds are commands, reads and media signaling (``Limits``). A read costs one token, and a
catch-up costs as many more as the events it will carry (one per ``Limits.events_per_read``),
taken *before* the answer is made: a client that asks for the whole history 32 times at once gets
one answer and 31 ``rate_limited``, not 32 answers' worth of work on the event loop. The scope is
the socket.io namespace; HTTP reads use the default namespace's, so a principal's reads share one
budget however they arrive. A principal's sockets share its buckets, so more sockets or a
reconnect buy nothing. Buckets are per node, like sockets.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from aiohttp import web

from server.app.limits import Limits
from server.app.rate import Bucket
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal

MAX_BUCKETS = 100_000  # principals are few; this bounds a node's memory


class Budgets:
    """Token buckets by (scope, kind, principal)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[tuple[str, str, str, str], Bucket] = {}

    def take(self, scope: str, principal: Principal, kind: str, amount: float = 1.0) -> None:
        """Spend ``amount`` of ``principal``'s ``kind`` budget, or refuse with ``rate_limited``."""
        wait_s = self._bucket(scope, principal, kind).take(self._clock(), amount)
        if wait_s > 0:
            raise CommandError(
                Code.RATE_LIMITED,
                f"too many {kind} requests from this token; slow down",
                retry_after_ms=int(wait_s * 1000) + 1,
            )

    def take_events(self, scope: str, principal: Principal, events: int) -> None:
        """Spend what an answer carrying ``events`` events costs on top of its read."""
        if events > 0:
            self.take(scope, principal, "read", events / self.limits.events_per_read)

    def afford(self, scope: str, principal: Principal) -> Callable[[int], None]:
        """What ``ReadHandler.catch_up`` calls with the events its answer will carry."""
        return functools.partial(self.take_events, scope, principal)

    def _bucket(self, scope: str, principal: Principal, kind: str) -> Bucket:
        key = (scope, kind, principal.actor, principal.session)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.clear()
            rate, burst = self._rate_of(kind)
            bucket = self._buckets[key] = Bucket(rate, burst)
        return bucket

    def _rate_of(self, kind: str) -> tuple[float, int]:
        limits = self.limits
        if kind == "command":
            return limits.commands_per_s, limits.commands_burst
        if kind == "read":
            return limits.reads_per_s, limits.reads_burst
        return limits.media_per_s, limits.media_burst


BUDGETS = web.AppKey("budgets", Budgets)
