"""Counting the server's unhandled exceptions: in-process log records, or a server's log file."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

# Loggers of the fuzzing side itself (the clients run in the test's process).
CLIENT_LOGGERS = ("socketio.client", "engineio.client", "aiohttp.client")
TRACEBACK = "Traceback (most recent call last)"
CHAINED = ("The above exception was the direct cause", "During handling of the above exception")


class TracebackCounter(logging.Handler):
    """Counts ERROR records that carry a traceback (``logger.exception``, asyncio's handler)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.examples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_LOGGERS):
            return
        text = record.getMessage()
        if record.exc_info is None and TRACEBACK not in text and "exception" not in record.__dict__:
            return
        self.count += 1
        if len(self.examples) < 10:
            self.examples.append(f"{record.name}: {text}\n{self.format(record)}"[:3000])


def tracebacks_in(log: Path, start: int = 0, end: int | None = None) -> tuple[int, list[str]]:
    """Tracebacks in a server's log file between two byte offsets, and the first few in full.

    A chained exception ("The above exception was the direct cause ...") is one traceback.
    """
    text = log.read_bytes()[start:end].decode("utf-8", "replace")
    pieces = text.split(TRACEBACK)
    count, examples = 0, list[str]()
    for before, after in itertools.pairwise(pieces):
        header = before.rstrip().rsplit("\n", 1)[-1]
        if header.startswith(CHAINED):
            continue
        count += 1
        if len(examples) < 10:
            examples.append((header + "\n" + TRACEBACK + after)[:3000])
    return count, examples
