"""Resource limits: every number a hostile or broken client could otherwise push without bound.

Each is a setting (``EVALROOM_LIMIT_<NAME>``, e.g. ``EVALROOM_LIMIT_COMMANDS_PER_S=20``) with a
default sized for a committee of a dozen seats per venue behind one address; see docs/DEPLOY.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one node."""

    # A request's head must arrive within this many seconds of the connection (or of the previous
    # response): a client trickling header bytes (slowloris) is closed.
    header_timeout_s: float = 15.0
    # A request body must arrive within this many seconds once its head is in.
    body_timeout_s: float = 30.0
    # Open TCP connections from one address (a venue behind NAT shares one): beyond it a new
    # connection is closed at once.
    connections_per_source: int = 256
    # Open TCP connections in all (lowered to fit the process's descriptor limit: give a node
    # 65,536, docs/DEPLOY.md): when full, the oldest connection of the busiest address is closed
    # to make room. One waiting for its request head costs about a kilobyte (head_gate.py).
    max_connections: int = 65536
    # Open sockets of one token on one namespace (tabs of one seat, a reconnect racing its old
    # socket): beyond it a new connect is refused with ``too_many_connections``.
    sockets_per_token: int = 8
    # Messages queued to one socket that does not read: beyond it the socket is dropped rather
    # than buffered without bound.
    send_queue_packets: int = 1000
    # Commands per principal (all its sockets): a steady rate and a burst (a seat scoring a
    # whole sheet fast).
    commands_per_s: float = 50.0
    commands_burst: int = 1000  # a whole sheet queued offline goes out at once on reconnect
    # Reads per principal (join, sync, state, results, checkpoint, proof): one token each, and a
    # catch-up answer costs one more per ``events_per_read`` events in it, so a client asking for
    # the whole history again and again runs dry fast while a small read stays cheap.
    reads_per_s: float = 20.0
    reads_burst: int = 100
    events_per_read: int = 50
    # Signaling messages per principal on /media (ICE candidates come in bursts).
    media_per_s: float = 50.0
    media_burst: int = 400
    # Log lines per message and minute; the rest are counted and summed up once a minute.
    log_lines_per_min: int = 20

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        """Defaults, overridden by ``EVALROOM_LIMIT_<FIELD>`` (upper case) where set."""
        values: dict[str, float | int] = {}
        for field in dataclasses.fields(cls):
            text = environ.get(f"EVALROOM_LIMIT_{field.name.upper()}")
            if text is None:
                continue
            kind = float if field.type in ("float", float) else int
            try:
                value = kind(text)
            except ValueError as exc:
                raise ValueError(f"EVALROOM_LIMIT_{field.name.upper()}={text!r}: {exc}") from exc
            if value <= 0:
                raise ValueError(f"EVALROOM_LIMIT_{field.name.upper()} must be positive")
            values[field.name] = value
        return cls(**values)  # type: ignore[arg-type]

    def handler_args(self) -> dict[str, Any]:
        """What aiohttp's request handler takes of these (``web.AppRunner(app, **…)``)."""
        # The keep-alive timer also runs from a connection's start until its first request is
        # complete, so it closes a head that trickles in (aiohttp >= 3.10).
        return {"keepalive_timeout": self.header_timeout_s}


LIMITS = web.AppKey("limits", Limits)
