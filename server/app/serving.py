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
from typing import Any

from aiohttp import web

from server.app.connection_table import Closer, ConnectionTable
from server.app.limits import Limits

logger = logging.getLogger(__name__)

FD_RESERVE = 512  # descriptors kept for the database, recordings, the media worker's pipes


def _source(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def connection_budget(limits: Limits, batch: int) -> int:
    """``max_connections``, lowered to fit under this process's descriptor limit.

    The site accepts up to ``batch`` connections in one go before any of them is recorded, so
    that many descriptors are kept free on top: a process out of descriptors fails ``accept``
    and stops accepting anyone for a second.
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(16, min(limits.max_connections, soft - FD_RESERVE - batch))


def raise_fd_limit() -> None:
    """Use the hard descriptor limit: the soft one (often 1024) is far below what a node needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def close_later(table: ConnectionTable, victims: list[Closer]) -> None:
    """Close ``victims`` on the loop's next turn.

    Not now: a connection's aiohttp handler starts its request loop only after
    ``connection_made`` returns, and one lost before that start trips its assertions.
    """
    loop = asyncio.get_running_loop()
    for victim in victims:
        table.shed += 1
        loop.call_soon(victim)


def limit_connections(runner: web.AppRunner, limits: Limits, batch: int) -> ConnectionTable:
    """Cap connections on ``runner``'s server (call after ``runner.setup()``).

    aiohttp has no hook for this, so the server's ``connection_made``/``connection_lost`` are
    wrapped on this instance: both are called by every connection's protocol.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("call limit_connections after runner.setup()")
    table = ConnectionTable(limits.connections_per_source, connection_budget(limits, batch))
    made, lost = server.connection_made, server.connection_lost

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        made(handler, transport)
        close_later(table, table.opened(handler, _source(transport), transport.abort))

    def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
        table.closed(handler)
        lost(handler, exc)

    server.connection_made = connection_made  # type: ignore[method-assign]
    server.connection_lost = connection_lost  # type: ignore[method-assign]
    return table
