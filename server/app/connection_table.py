"""Which connections to close: open connections by source address, oldest first.

Pure bookkeeping with no IO of its own, shared by the node's aiohttp server (``serving.py``) and
the head gate's process (``gate_process.py``), each counting its own connections. The policy is
described in ``serving.py``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

HEAVY = 16  # an address with this many connections open is not a seat's or a browser's

Closer = Callable[[], None]


class ConnectionTable:
    """Open connections by source, oldest first; decides which to close.

    A connection is any key (aiohttp's request handler, or a connection still waiting for its
    head in ``head_gate``) with a function that closes it.
    """

    def __init__(self, per_source: int, budget: int) -> None:
        self.per_source = per_source
        self.budget = budget
        self.by_source: dict[str, OrderedDict[Any, Closer]] = {}
        self.sources: dict[Any, str] = {}
        self.total = 0
        self.shed = 0

    def refuses(self, source: str) -> bool:
        """Whether a new connection from ``source`` is closed at once: over its address's cap,
        or from a heavy address while the node is full."""
        held = len(self.by_source.get(source, ()))
        return held >= self.per_source or (self.total >= self.budget and held + 1 >= HEAVY)

    def opened(self, key: Any, source: str, close: Closer) -> list[Closer]:
        """Record a connection; what to close now (this one, or the node's surplus)."""
        refused = self.refuses(source)
        held = self.by_source.setdefault(source, OrderedDict())
        held[key] = close
        self.sources[key] = source
        self.total += 1
        if refused:  # over its address's cap, or a heavy address's newcomer: nothing else moves
            return [close]
        if self.total > self.budget:  # room for a light newcomer
            busiest = max(self.by_source.values(), key=len)
            return [next(iter(busiest.values()))]  # the busiest address's oldest connection
        return []

    def closed(self, key: Any) -> None:
        source = self.sources.pop(key, None)
        if source is None:
            return
        held = self.by_source[source]
        held.pop(key, None)
        self.total -= 1
        if not held:
            del self.by_source[source]
