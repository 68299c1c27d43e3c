"""A listening site that accepts at a pace the event loop can afford, or not at all.

asyncio's own server accepts up to its listen backlog (4,096 here) connections in one go, and
makes a transport and a request handler for each before anything else runs: under a connection
flood one readable listening socket stalls every seat's command for a large fraction of a second.
``PacedSite`` instead accepts at most ``ACCEPT_BATCH`` connections per turn of the loop (the rest
wait in the kernel's queue, which costs the loop nothing), and closes a connection that is over
its address's cap, or from a heavy address while the node is full, right after ``accept``:
before a transport, a protocol or a timer exists for it. What gets through waits in the head gate
(``head_gate.py``) until its request head is in, counted by the connection table all along, and
only then becomes an aiohttp connection (``serving.limit_connections`` counts it from there).

That is the site in the node's own loop (``gate="loop"``), as the tests' in-process nodes run. A
serving node (``evalroom serve``, where epoll exists) runs it with ``gate="process"``: the gate's
process (``gate_process.py``) does all of the above, with the same limits for the connections it
holds, and the node's loop sees only connections whose head is complete (``gate_link.py``).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import queue
import socket
import ssl
import threading
from typing import Any, Literal

from aiohttp import web

from server.app.connection_table import ConnectionTable
from server.app.gate_link import GateLink
from server.app.head_gate import SWEEP_EVERY_S, HeadGate, reset_now
from server.app.limits import Limits
from server.app.serving import close_later, limit_connections

logger = logging.getLogger(__name__)

ACCEPT_BATCH = 8  # connections accepted per turn of the loop
ACCEPT_RETRY_S = 1.0  # after the process ran out of descriptors (as asyncio waits)
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def listening_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening, non-blocking sockets for ``host:port``, one per address family."""
    made: list[socket.socket] = []
    seen = set()
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    try:
        for family, kind, proto, _name, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError:
        for sock in made:
            sock.close()
        raise
    for sock in made:
        sock.listen(backlog)
        sock.setblocking(False)
    return made


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
            reset_now(sock)


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


Gate = Literal["process", "loop", "none"]


def best_gate(wanted: Gate) -> Gate:
    """``wanted``, where this platform has epoll; else none (connections go to aiohttp at once)."""
    return wanted if HeadGate.available() else "none"


class PacedSite(web.BaseSite):
    """An aiohttp site on listening sockets whose connections wait in the head gate
    (``head_gate.py``) until their request head is in: in the gate's own process
    (``gate="process"``), or in this loop, accepting ``batch`` connections per turn."""

    __slots__ = (
        "_batch",
        "_gate",
        "_handshake_s",
        "_link",
        "_reaper",
        "_sockets",
        "_sweeper",
        "_table",
        "_tasks",
        "refused",
    )

    def __init__(
        self,
        runner: web.BaseRunner,
        sockets: list[socket.socket],
        table: ConnectionTable,
        *,
        ssl_context: ssl.SSLContext | None = None,
        head_timeout_s: float = 15.0,
        batch: int = ACCEPT_BATCH,
        gate: Gate = "loop",
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._sockets = sockets
        self._table = table
        self._batch = batch
        self._handshake_s = head_timeout_s
        self._tasks: set[asyncio.Task[Any]] = set()
        gate = best_gate(gate)
        self._link = (
            GateLink(
                sockets,
                self._handover,
                timeout_s=head_timeout_s,
                per_source=table.per_source,
                budget=table.budget,
                tls=ssl_context is not None,
            )
            if gate == "process"
            else None
        )
        self._reaper = Reaper()
        self._gate = (
            HeadGate(self._handover, head_timeout_s, table.closed, reset=self._reaper.reset)
            if gate == "loop"
            else None
        )
        self._sweeper: asyncio.TimerHandle | None = None
        self.refused = 0  # connections closed before a transport was made for them

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host, port = self._sockets[0].getsockname()[:2]
        return f"{scheme}://{host}:{port}"

    @property
    def waiting(self) -> int:
        """Connections accepted in this loop whose request head has not arrived yet."""
        return len(self._gate.held) if self._gate is not None else 0

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        if self._link is not None:
            self._link.start()  # the gate's process accepts; this loop never does
            return
        if self._gate is not None:
            loop.add_reader(self._gate.fileno(), self._gate.read_ready)
            self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep)
        for sock in self._sockets:
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._accept, sock)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._link is not None:
            await self._link.stop()
        else:
            for sock in self._sockets:
                loop.remove_reader(sock.fileno())
        for sock in self._sockets:
            sock.close()
        if self._gate is not None:
            if self._sweeper is not None:
                self._sweeper.cancel()
            loop.remove_reader(self._gate.fileno())
            self._gate.close()
        self._reaper.stop()
        for task in list(self._tasks):
            task.cancel()
        await super().stop()

    def _sweep(self) -> None:
        try:
            if self._gate is not None:
                self._gate.sweep()
        finally:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_EVERY_S, self._sweep)

    def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self._batch):
            try:
                conn, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if error.errno in _OUT_OF_RESOURCES:
                    logger.warning("accept paused for %.0f s: %s", ACCEPT_RETRY_S, error)
                    loop.remove_reader(listener.fileno())
                    loop.call_later(ACCEPT_RETRY_S, self._resume, listener)
                    return
                continue  # the client gave up before we took it: nothing to do
            source = str(address[0]) if isinstance(address, tuple) else "unknown"
            if self._table.refuses(source):
                self.refused += 1
                self._reaper.reset(conn)
                continue
            conn.setblocking(False)
            if self._gate is None:
                self._handover(conn, b"")
                continue
            held = self._gate.admit(conn, source, tls=self._ssl_context is not None)
            victims = self._table.opened(held, source, functools.partial(self._gate.drop, held))
            close_later(self._table, victims)

    def _resume(self, listener: socket.socket) -> None:
        if listener.fileno() != -1:
            asyncio.get_running_loop().add_reader(listener.fileno(), self._accept, listener)

    def _handover(self, conn: socket.socket, head: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(conn, head))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: socket.socket, head: bytes) -> None:
        server = self._runner.server
        if server is None:  # the runner is shutting down
            conn.close()
            return
        loop = asyncio.get_running_loop()
        try:
            if self._ssl_context is not None:
                await loop.connect_accepted_socket(
                    server,
                    conn,
                    ssl=self._ssl_context,
                    ssl_handshake_timeout=self._handshake_s,
                )
            elif head:
                await loop.connect_accepted_socket(lambda: PrefixedProtocol(server(), head), conn)
            else:
                await loop.connect_accepted_socket(server, conn)
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError):
            conn.close()  # a failed TLS handshake or a peer gone: the client's business


async def start_site(
    runner: web.AppRunner,
    limits: Limits,
    sockets: list[socket.socket],
    ssl_context: ssl.SSLContext | None = None,
    gate: Gate = "loop",
) -> PacedSite:
    """Serve ``runner`` on ``sockets`` with the connection limits: how every node serves
    (``evalroom serve`` with ``gate="process"``)."""
    table = limit_connections(runner, limits, ACCEPT_BATCH)
    site = PacedSite(
        runner,
        sockets,
        table,
        ssl_context=ssl_context,
        head_timeout_s=limits.header_timeout_s,
        gate=gate,
    )
    await site.start()
    return site
