"""The worker's control channel: JSON lines over a Unix socket, requests with ids, and events.

A request is ``{"id": n, "op": ..., ...}``; its answer ``{"id": n, "ok": true, ...}`` or
``{"id": n, "ok": false, "error": "..."}``. The worker also sends events at any time:
``{"event": ..., ...}``. One line per message; SDP newlines are escaped by JSON.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

MAX_LINE = 1 << 20  # an SDP with every candidate is a few KiB; status lines are bigger


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream."""
    line = await reader.readline()
    if not line:
        return None
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("a control message is a JSON object")
    return message


def encode(message: dict[str, Any]) -> bytes:
    """One message as one line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"
