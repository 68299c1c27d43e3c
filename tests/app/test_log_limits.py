"""The log under abuse: bounded lines per message, and no tracebacks for client mistakes."""

from __future__ import annotations

import logging

import pytest

from server.app.log_limits import LogLimit


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.tracebacks += record.exc_info is not None


@pytest.fixture
def collected() -> tuple[logging.Logger, Collect, list[float]]:
    now = [1000.0]
    handler = Collect()
    handler.addFilter(LogLimit(5, clock=lambda: now[0]))
    logger = logging.getLogger("evalroom.test.log_limits")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    return logger, handler, now


def test_one_message_floods_for_five_lines_then_says_how_many_were_held(
    collected: tuple[logging.Logger, Collect, list[float]],
) -> None:
    logger, handler, now = collected
    for n in range(1000):
        logger.info("refused connect from %s", f"10.0.0.{n % 250}")
    logger.info("another message")
    assert len(handler.lines) == 6
    now[0] += 61
    logger.info("refused connect from %s", "10.0.0.1")
    assert handler.lines[-1].endswith("[995 similar lines held back in the last minute]")


def test_client_facing_libraries_log_without_tracebacks(
    collected: tuple[logging.Logger, Collect, list[float]],
) -> None:
    _, handler, _ = collected
    library = logging.getLogger("engineio.server")
    library.propagate = False
    library.handlers = [handler]
    try:
        raise ValueError("packet is too large")
    except ValueError:
        library.exception("Unknown receive error")
    assert handler.tracebacks == 0
    assert handler.lines == ["Unknown receive error (ValueError: packet is too large)"]
    ours = logging.getLogger("evalroom.test.log_limits")
    try:
        raise KeyError("a bug")
    except KeyError:
        ours.exception("command failed")
    assert handler.tracebacks == 1  # our own bugs keep theirs
