"""The head gate in a process of its own: accepts, holds half-open connections, hands over heads.

Why a process: under 20,000 churning half-open connections the node's event loop spent about
half its busy time accepting, reading partial heads and sweeping (a profile, ARCHITECTURE
"Not yet (issue 10)"), and an honest seat's slowest commands waited behind it; on a thread of the
same process the two fought over the interpreter lock and it got worse. Here the node never sees
a connection that does not complete its head: this process, single-threaded and without asyncio,
owns the accepting, the waiting (``head_gate.HeadGate``), the per-address caps and the shedding of
waiting connections (``connection_table.ConnectionTable``, the node's limits), and the resets. A
connection whose head is in goes to the node over a Unix ``SOCK_SEQPACKET`` socket: one message
``b"H" + head``, with the socket's descriptor attached (``SCM_RIGHTS``); this process then closes
its own copy. The node's side is ``gate_link.py``.

This process exits when the node's end of that socket closes (the node stopped, or was killed).
It ignores SIGINT: a Ctrl-C in the terminal reaches the whole process group, and the node stops
it by closing the socket. It imports only the standard library and the two pure modules above.

    python -m server.app.gate_process --control FD --listen FD [--listen FD]… --timeout S \\
        --per-source N --budget N [--tls]
"""

from __future__ import annotations

import argparse
import functools
import logging
import select
import signal
import socket
import time

from server.app.connection_table import ConnectionTable
from server.app.head_gate import SWEEP_EVERY_S, HeadGate, Held, reset_now

logger = logging.getLogger("evalroom.gate")

ACCEPT_BATCH = 64  # connections accepted per wake-up, before reads and the sweep get a turn
HEAD_MESSAGE = b"H"


class GateProcess:
    """The loop of the gate's process: listeners, the waiting set, the node's socket."""

    def __init__(
        self,
        control: socket.socket,
        listeners: list[socket.socket],
        table: ConnectionTable,
        timeout_s: float,
        tls: bool,
    ) -> None:
        self.control = control
        self.listeners = {sock.fileno(): sock for sock in listeners}
        self.table = table
        self.tls = tls
        self.gate = HeadGate(self._hand_over, timeout_s, self._left)
        self.refused = 0
        self.running = True

    def _left(self, held: Held) -> None:
        self.table.closed(held)

    def _hand_over(self, sock: socket.socket, head: bytes) -> None:
        try:
            socket.send_fds(self.control, [HEAD_MESSAGE + head], [sock.fileno()])
        except OSError:  # the node is gone
            self.running = False
        sock.close()  # the node holds its own descriptor now

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors, or the client gave up already
                logger.debug("accept: %s", error)
                return
            source = str(address[0]) if isinstance(address, tuple) else "unknown"
            if self.table.refuses(source):
                self.refused += 1
                reset_now(conn)
                continue
            conn.setblocking(False)
            held = self.gate.admit(conn, source, self.tls)
            for victim in self.table.opened(held, source, functools.partial(self.gate.drop, held)):
                self.table.shed += 1
                victim()

    def run(self) -> None:
        poller = select.epoll()
        for fd in self.listeners:
            poller.register(fd, select.EPOLLIN)
        poller.register(self.gate.fileno(), select.EPOLLIN)
        poller.register(self.control.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        next_sweep = time.monotonic() + SWEEP_EVERY_S
        try:
            while self.running:
                wait = max(0.0, next_sweep - time.monotonic())
                for fd, _mask in poller.poll(wait):
                    if fd == self.control.fileno():
                        self.running = False  # the node closed its end (it sends nothing)
                    elif fd == self.gate.fileno():
                        self.gate.read_ready()
                    elif fd in self.listeners:
                        self._accept(self.listeners[fd])
                if time.monotonic() >= next_sweep:
                    self.gate.sweep()
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
        finally:
            self.gate.close()
            poller.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--listen", type=int, action="append", required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--per-source", type=int, required=True)
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    control = socket.socket(fileno=args.control)
    control.setblocking(True)  # a node slow to take a connection slows accepting: back-pressure
    listeners = [socket.socket(fileno=fd) for fd in args.listen]
    for listener in listeners:
        listener.setblocking(False)
    table = ConnectionTable(args.per_source, args.budget)
    GateProcess(control, listeners, table, args.timeout, args.tls).run()


if __name__ == "__main__":
    main()
