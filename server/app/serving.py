"""Serving the app: connection-level limits that a request handler cannot enforce.

``limit_connections`` caps the open TCP connections of one source address: the 257th connection
from one address is closed as soon as it is accepted, so 20,000 half-open connections from an
attacker cost the node 256 sockets, and every other address is served. The request head timeout
(slowloris) is aiohttp's keep-alive timer, which since 3.10 also runs from the connection's start
until the first request is complete (``Limits.handler_args``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from aiohttp import web

from server.app.limits import Limits

logger = logging.getLogger(__name__)


def _source(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def limit_connections(runner: web.AppRunner, limits: Limits) -> None:
    """Cap connections per source address on ``runner``'s server (after ``runner.setup()``).

    aiohttp has no hook for this, so the server's ``connection_made``/``connection_lost`` are
    wrapped on this instance: both are called by every connection's protocol.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("call limit_connections after runner.setup()")
    open_by_source: Counter[str] = Counter()
    sources: dict[Any, str] = {}
    made, lost = server.connection_made, server.connection_lost

    def connection_made(handler: Any, transport: asyncio.Transport) -> None:
        source = _source(transport)
        sources[handler] = source
        open_by_source[source] += 1
        made(handler, transport)
        if open_by_source[source] > limits.connections_per_source:
            transport.abort()  # connection_lost follows and counts it down

    def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
        source = sources.pop(handler, None)
        if source is not None:
            open_by_source[source] -= 1
            if open_by_source[source] <= 0:
                del open_by_source[source]
        lost(handler, exc)

    server.connection_made = connection_made  # type: ignore[method-assign]
    server.connection_lost = connection_lost  # type: ignore[method-assign]
