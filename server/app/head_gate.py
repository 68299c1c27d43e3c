"""Accepted connections wait here, nearly free, until their request head is in.

Why: a connection handed to aiohttp at once costs the event loop a transport, a request handler,
a task, a parser and a timer, twenty-odd objects that the garbage collector walks; an attacker
holding 20,000 half-open connections then made every full collection pause the loop for a quarter
of a second, and 20,000 head timers expiring together stalled it again (``bench/abuse.py``).
Here a waiting connection is one small record and its socket, registered in a private ``epoll``
set watched as a single descriptor: on a serving node by a process of its own
(``gate_process.py``), so the node's event loop never sees a connection that does not complete
its head; with ``EVALROOM_HEAD_GATE=loop`` (and in the tests' in-process nodes) by the node's loop
(``acceptor.py``). The bytes of the head are
read into the record; once it ends (a blank line) the socket is handed over (to the node, which
gives aiohttp those bytes put back in front: ``acceptor.PrefixedProtocol``). A TLS connection
waits only for its first bytes (its head is inside TLS). Heads that do not complete within the
head timeout are closed with a reset by a sweep, at most ``SWEEP_MAX`` per turn, oldest first,
instead of by one timer each.

Where ``select.epoll`` is missing (macOS, a developer's laptop) connections go to aiohttp at once,
as before, and aiohttp's own head timer applies.

No asyncio and no aiohttp here: the gate's process imports only this and the standard library.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable

READ_SIZE = 16_384
MAX_HEAD = 65_536  # beyond this the head goes to aiohttp, which answers 431/400
SWEEP_EVERY_S = 0.02
SWEEP_MAX = 50  # connections closed per sweep (2,500 a second, about a millisecond each)
READY_MAX = 32  # waiting connections read per call of read_ready
END_OF_HEAD = b"\r\n\r\n"

Handover = Callable[[socket.socket, bytes], None]


_LINGER_0 = struct.pack("ii", 1, 0)


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


def reset_now(sock: socket.socket) -> None:
    """Close ``sock`` with a reset, here and now (the gate's own process has no loop to spare)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    sock.close()


class HeadGate:
    """Waiting connections by descriptor; each leaves by ``handover``, a timeout or ``drop``.

    Driven from outside: ``read_ready`` when ``fileno()`` is readable, ``sweep`` every
    ``SWEEP_EVERY_S`` (``gate_process.py`` runs both in a process of its own).
    """

    def __init__(
        self,
        handover: Handover,
        timeout_s: float,
        on_leave: Callable[[Held], None] = lambda held: None,
        clock: Callable[[], float] = time.monotonic,
        reset: Callable[[socket.socket], None] = reset_now,
    ) -> None:
        self._handover = handover
        self.timeout_s = timeout_s
        self._on_leave = on_leave  # the connection table counts a waiting connection too
        self._clock = clock
        self._reset = reset
        self._epoll = select.epoll()
        self.held: OrderedDict[int, Held] = OrderedDict()  # oldest first
        self.timed_out = 0

    @staticmethod
    def available() -> bool:
        return hasattr(select, "epoll")

    def fileno(self) -> int:
        """A descriptor readable while some waiting connection has bytes (or has gone)."""
        return self._epoll.fileno()

    def close(self) -> None:
        """Stop, closing every waiting connection."""
        for held in list(self.held.values()):
            self.drop(held)
        self._epoll.close()

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
        self._reset(held.sock)
        self._on_leave(held)

    def _release(self, held: Held) -> None:
        self.held.pop(held.fd, None)
        self._epoll.unregister(held.fd)
        self._on_leave(held)
        self._handover(held.sock, bytes(held.buffer))

    def read_ready(self) -> None:
        """Read what waiting connections sent; hand over those whose head is complete."""
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
