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


def _client_facing(handler: logging.Handler) -> logging.Logger:
    """engine.io's logger, writing to ``handler`` only (a library that parses client input)."""
    library = logging.getLogger("engineio.server")
    library.propagate = False
    library.handlers = [handler]
    return library


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
    library = _client_facing(handler)
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


def test_access_lines_are_limited_by_status_and_address_not_by_their_text(
    collected: tuple[logging.Logger, Collect, list[float]],
) -> None:
    _, handler, now = collected
    limit = LogLimit(5, clock=lambda: now[0])
    handler.filters = [limit]
    access = logging.getLogger("aiohttp.access")
    access.propagate = False
    access.handlers = [handler]
    access.setLevel(logging.INFO)
    for n in range(1000):  # aiohttp formats each line itself: every text differs
        extra = {"response_status": 400, "remote_address": "10.0.0.9"}
        access.info(f'10.0.0.9 "GET /x?{n} HTTP/1.1" 400', extra=extra)
    for n in range(3):
        extra = {"response_status": 200, "remote_address": "10.0.0.7"}
        access.info(f'10.0.0.7 "GET /seat/{n} HTTP/1.1" 200', extra=extra)
    assert len(handler.lines) == 5 + 3  # the flood held back; the honest client's lines kept
    assert len(limit._windows) == 2
    now[0] += 61
    access.info("10.0.0.9 again", extra={"response_status": 400, "remote_address": "10.0.0.9"})
    assert handler.lines[-1].endswith("[995 similar lines held back in the last minute]")


def test_a_client_facing_error_text_does_not_make_a_new_key(
    collected: tuple[logging.Logger, Collect, list[float]],
) -> None:
    _, handler, _ = collected
    library = _client_facing(handler)
    for n in range(100):
        try:
            raise ValueError(f"bad packet {n}")
        except ValueError:
            library.exception("Unknown receive error")
    assert len(handler.lines) == 5
