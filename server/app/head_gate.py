"""Accepted connections wait here, nearly free, until their request head is in.

Why: a connection handed to aiohttp at once costs the event loop a transport, a request handler,
a task, a parser and a timer, twenty-odd objects that the garbage collector walks; an attacker
holding 20,000 half-open connections then made every full collection pause the loop for a quarter
of a second, and 20,000 head timers expiring together stalled it again (``bench/abuse.py``).
Here a waiting connection is one small record and its socket, registered in a private ``epoll``
set that the event loop watches as a single descriptor. The bytes of the head are read into the
record; once it ends (a blank line) the socket goes to aiohttp with those bytes put back in front
(``PrefixedProtocol``). A TLS connection waits only for its first bytes (its head is inside TLS).
Heads that do not complete within the head timeout are closed by a sweep, at most ``SWEEP_MAX``
per turn, oldest first, instead of by one timer each.

Where ``select.epoll`` is missing (macOS, a developer's laptop) connections go to aiohttp at once,
as before, and aiohttp's own head timer applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import select
import socket
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

READ_SIZE = 16_384
MAX_HEAD = 65_536  # beyond this the head goes to aiohttp, which answers 431/400
SWEEP_EVERY_S = 0.02
SWEEP_MAX = 50  # connections closed per sweep (2,500 a second, about a millisecond each)
READY_MAX = 32  # waiting connections read per turn of the event loop
END_OF_HEAD = b"\r\n\r\n"

Handover = Callable[[socket.socket, bytes], None]


_LINGER_0 = struct.pack("ii", 1, 0)


class Reaper:
    """Closes refused and timed-out connections on a thread of its own, with a reset.

    A reset: no goodbye exchange and no TIME_WAIT for a connection we refuse. A thread: the
    kernel tears a connection down inside ``close`` (on loopback, the peer's side too), up to a
    tenth of a millisecond each that the event loop need not wait for; ``close`` releases the
    interpreter lock. The socket is out of every selector before it is queued here.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[socket.socket | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def reset(self, sock: socket.socket) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="evalroom-reaper", daemon=True)
            self._thread.start()
        self._queue.put(sock)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while (sock := self._queue.get()) is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
            sock.close()


class Held:
    """One waiting connection."""

    __slots__ = ("buffer", "fd", "opened", "sock", "source", "tls")

    def __init__(self, sock: socket.socket, source: str, opened: float, tls: bool) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.source = source
        self.opened = opened
        self.tls = tls
        self.buffer = bytearray()


class HeadGate:
    """Waiting connections by descriptor; each leaves by ``handover``, a timeout or ``drop``."""

    def __init__(
        self,
        handover: Handover,
        timeout_s: float,
        on_leave: Callable[[Held], None] = lambda held: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handover = handover
        self.timeout_s = timeout_s
        self._on_leave = on_leave  # the connection table counts a waiting connection too
        self._clock = clock
        self._epoll = select.epoll()
        self.held: OrderedDict[int, Held] = OrderedDict()  # oldest first
        self.timed_out = 0
        self.reaper = Reaper()
        self._sweeper: asyncio.TimerHandle | None = None

    @staticmethod
    def available() -> bool:
        return hasattr(select, "epoll")

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self._epoll.fileno(), self._on_ready)
        self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep_and_reschedule)

    def close(self) -> None:
        """Stop, closing every waiting connection."""
        loop = asyncio.get_running_loop()
        if self._sweeper is not None:
            self._sweeper.cancel()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(self._epoll.fileno())
        for held in list(self.held.values()):
            self.drop(held)
        self._epoll.close()
        self.reaper.stop()

    def admit(self, sock: socket.socket, source: str, tls: bool) -> Held:
        """Hold ``sock`` until its head is in."""
        held = Held(sock, source, self._clock(), tls)
        self.held[held.fd] = held
        self._epoll.register(held.fd, select.EPOLLIN | select.EPOLLRDHUP)
        return held

    def drop(self, held: Held) -> None:
        """Close a waiting connection (timed out, shed, or gone)."""
        if self.held.pop(held.fd, None) is None:
            return
        with contextlib.suppress(OSError):
            self._epoll.unregister(held.fd)
        self.reaper.reset(held.sock)
        self._on_leave(held)

    def _release(self, held: Held) -> None:
        self.held.pop(held.fd, None)
        self._epoll.unregister(held.fd)
        self._on_leave(held)
        self._handover(held.sock, bytes(held.buffer))

    def _on_ready(self) -> None:
        for fd, mask in self._epoll.poll(0, READY_MAX):
            held = self.held.get(fd)
            if held is None:
                continue
            if held.tls:  # the handshake has begun: TLS does the rest
                self._release(held)
                continue
            try:
                data = held.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                self.drop(held)
                continue
            if not data:  # the client closed before its head was complete
                self.drop(held)
                continue
            seen = len(held.buffer)
            held.buffer += data
            if END_OF_HEAD in held.buffer[max(0, seen - 3) :] or len(held.buffer) > MAX_HEAD:
                self._release(held)
            elif mask & select.EPOLLRDHUP:  # half-closed after a partial head: never complete
                self.drop(held)

    def sweep(self) -> int:
        """Close connections whose head did not arrive in time, oldest first; how many."""
        deadline = self._clock() - self.timeout_s
        closed = 0
        while self.held and closed < SWEEP_MAX:
            held = next(iter(self.held.values()))
            if held.opened > deadline:
                break
            self.drop(held)
            closed += 1
        self.timed_out += closed
        return closed

    def _sweep_and_reschedule(self) -> None:
        try:
            self.sweep()
        finally:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep_and_reschedule)


class PrefixedProtocol(asyncio.Protocol):
    """Gives ``inner`` the bytes already read, then steps aside (``transport.set_protocol``)."""

    def __init__(self, inner: Any, prefix: bytes) -> None:
        self._inner = inner
        self._prefix = prefix

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.set_protocol(self._inner)
        self._inner.connection_made(transport)
        if self._prefix and not transport.is_closing():
            self._inner.data_received(self._prefix)
