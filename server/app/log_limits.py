"""The node's log under abuse: bounded lines, and no tracebacks for what a client did wrong.

A hostile client can make the same line appear thousands of times a second (a refused connect, a
bad packet); the log must stay readable and must not fill the disk. ``LogLimit`` lets each message
(by logger and format string) through ``per_minute`` times per minute and counts the rest; the
first line after a quiet minute says how many were held back. aiohttp's access log formats its
line before logging it, so each line is its own message: its records are keyed by status and
client address instead (otherwise no access line would ever be held back, and the table of
windows would fill with one key per request). Records of the libraries that
parse what clients send (engine.io, socket.io, aiohttp's server) keep their message but lose their
traceback, since there it describes the client's input, not a bug of ours; our own modules log
tracebacks only for bugs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

CLIENT_FACING = ("engineio", "socketio", "aiohttp.server", "aiohttp.web", "aiohttp.websocket")


class LogLimit(logging.Filter):
    """Per (logger, message format): ``per_minute`` records a minute, the rest counted."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int, int]] = {}  # start, let, held

    def filter(self, record: logging.LogRecord) -> bool:
        key = limit_key(record)  # before the message takes the client's error text
        if record.name.startswith(CLIENT_FACING) and record.exc_info:
            error = record.exc_info[1]
            record.msg = f"{record.msg} ({type(error).__name__}: {error})"
            record.exc_info, record.exc_text = None, None
        now = self._clock()
        start, let, held = self._windows.get(key, (now, 0, 0))
        if now - start >= 60.0:
            if held:
                record.msg = f"{record.msg} [{held} similar lines held back in the last minute]"
            start, let, held = now, 0, 0
        if let >= self.per_minute:
            self._windows[key] = (start, let, held + 1)
            return False
        self._windows[key] = (start, let + 1, held)
        if len(self._windows) > 10_000:  # formats are few; arguments never make keys
            self._windows.clear()
        return True


def limit_key(record: logging.LogRecord) -> tuple[str, str]:
    """What makes two records "the same line": the logger and the message's format string, or
    for an access line (formatted by aiohttp before logging) its status and client address."""
    if record.name == "aiohttp.access":
        status = getattr(record, "response_status", "?")
        return (record.name, f"{status} {getattr(record, 'remote_address', '?')}")
    return (record.name, str(record.msg))


def install(per_minute: int) -> LogLimit:
    """Put the limit on every handler of the root logger (after logging is configured)."""
    limit = LogLimit(per_minute)
    for handler in logging.getLogger().handlers:
        handler.addFilter(limit)
    return limit
