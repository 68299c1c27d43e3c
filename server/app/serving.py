"""Serving the app: connection-level limits that a request handler cannot enforce.

``limit_connections`` caps open TCP connections per source address (``connections_per_source``)
and in all (``max_connections``, kept under the process's file-descriptor limit: a server that
runs out of descriptors stops accepting anyone). A connection over its source's cap is closed as
soon as it is accepted. When the node as a whole is full, a new connection from an address that
holds many already is closed at once, and one from a light address (a seat, a browser, a health
check) gets the place of the oldest connection of the address holding the most: an attacker
holding thousands of half-open connections from some addresses loses its own, and everyone else
still gets in. The
request head timeout (slowloris) is aiohttp's keep-alive timer, which since 3.10 also runs from
the connection's start until the first request is complete (``Limits.handler_args``).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from typing import Any

from aiohttp import web

from server.app.limits import Limits

logger = logging.getLogger(__name__)

FD_RESERVE = 512  # descriptors kept for the database, recordings, the media worker's pipes
HEAVY = 16  # an address with this many connections open is not a seat's or a browser's


def _source(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def connection_budget(limits: Limits, backlog: int) -> int:
    """``max_connections``, lowered to fit under this process's descriptor limit.

    The event loop accepts up to ``backlog`` connections in one go before any of them is looked
    at, so that many descriptors are kept free on top: a process out of descriptors fails
    ``accept`` and asyncio then stops accepting anyone for a second.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(16, min(limits.max_connections, soft - FD_RESERVE - backlog))


def raise_fd_limit() -> None:
    """Use the hard descriptor limit: the soft one (often 1024) is far below what a node needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ConnectionTable:
    """Open connections by source, oldest first; decides which to close."""

    def __init__(self, per_source: int, budget: int) -> None:
        self.per_source = per_source
        self.budget = budget
        self.by_source: dict[str, OrderedDict[Any, asyncio.Transport]] = {}
        self.sources: dict[Any, str] = {}
        self.total = 0
        self.shed = 0

    def opened(self, handler: Any, transport: asyncio.Transport) -> list[asyncio.Transport]:
        """Record a connection; the transports to close now (this one, or the node's surplus)."""
        source = _source(transport)
        held = self.by_source.setdefault(source, OrderedDict())
        held[handler] = transport
        self.sources[handler] = source
        self.total += 1
        if len(held) > self.per_source:
            return [transport]
        if self.total > self.budget:
            if len(held) >= HEAVY:  # a heavy address's newcomer: refused, nothing else moves
                return [transport]
            busiest = max(self.by_source.values(), key=len)  # room for a light newcomer
            return [next(iter(busiest.values()))]  # the busiest address's oldest connection
        return []

    def closed(self, handler: Any) -> None:
        source = self.sources.pop(handler, None)
        if source is None:
            return
        held = self.by_source[source]
        held.pop(handler, None)
        self.total -= 1
        if not held:
            del self.by_source[source]


def limit_connections(runner: web.AppRunner, limits: Limits, backlog: int = 128) -> ConnectionTable:
    """Cap connections on ``runner``'s server (call after ``runner.setup()``).

    aiohttp has no hook for this, so the server's ``connection_made``/``connection_lost`` are
    wrapped on this instance: both are called by every connection's protocol.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("call limit_connections after runner.setup()")
    table = ConnectionTable(limits.connections_per_source, connection_budget(limits, backlog))
    made, lost = server.connection_made, server.connection_lost

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        made(handler, transport)
        for victim in table.opened(handler, transport):
            table.shed += 1
            victim.abort()  # connection_lost follows and counts it down

    def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
        table.closed(handler)
        lost(handler, exc)

    server.connection_made = connection_made  # type: ignore[method-assign]
    server.connection_lost = connection_lost  # type: ignore[method-assign]
    return table
