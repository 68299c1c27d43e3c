"""The node's side of the head gate's process (``gate_process.py``): start it, take connections.

The node keeps the listening sockets (it bound them, and a restarted gate gets them again) but
never accepts on them itself; the gate's process does, and sends each connection whose head is
complete over a ``SOCK_SEQPACKET`` pair as ``b"H" + head`` with the descriptor attached. Here
each arrives as a socket and its head, for ``handover`` (the site gives it to aiohttp).

If the gate's process dies, its end of the pair closes: that is logged as an error and a new one
is started after ``RESTART_S`` (connections wait in the kernel's accept queue meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from server.app.gate_process import HEAD_MESSAGE
from server.app.head_gate import MAX_HEAD, READ_SIZE

logger = logging.getLogger(__name__)

MAX_MESSAGE = len(HEAD_MESSAGE) + MAX_HEAD + READ_SIZE
FDS_MAX = 4  # descriptors one message may carry (one is sent; more are closed)
READY_MAX = 32  # connections taken per turn of the event loop
RESTART_S = 1.0
STOP_WAIT_S = 5.0
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # where ``server`` is importable from

Handover = Callable[[socket.socket, bytes], None]


class GateLink:
    """The gate's process as the node sees it."""

    def __init__(
        self,
        listeners: list[socket.socket],
        handover: Handover,
        *,
        timeout_s: float,
        per_source: int,
        budget: int,
        tls: bool,
    ) -> None:
        self._listeners = listeners
        self._handover = handover
        self._arguments = [
            f"--timeout={timeout_s}",
            f"--per-source={per_source}",
            f"--budget={budget}",
            *(["--tls"] if tls else []),
        ]
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def start(self) -> None:
        """Start the gate's process and take what it sends (call on the running loop)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            fds = [theirs.fileno(), *(sock.fileno() for sock in self._listeners)]
            command = [
                sys.executable,
                "-m",
                "server.app.gate_process",
                f"--control={theirs.fileno()}",
                *(f"--listen={sock.fileno()}" for sock in self._listeners),
                *self._arguments,
            ]
            path = os.environ.get("PYTHONPATH")
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), path])),
            }
            self._process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                command, pass_fds=fds, env=env, stdin=subprocess.DEVNULL
            )
        mine.setblocking(False)
        self._control = mine
        asyncio.get_running_loop().add_reader(mine.fileno(), self._on_ready)

    def _on_ready(self) -> None:
        control = self._control
        if control is None:
            return
        for _ in range(READY_MAX):
            try:
                data, fds, _flags, _address = socket.recv_fds(control, MAX_MESSAGE, FDS_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                for fd in fds:
                    os.close(fd)
                self._lost()
                return
            if not data.startswith(HEAD_MESSAGE) or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                logger.error("the head gate sent a message the node does not know; dropped")
                continue
            self._handover(socket.socket(fileno=fds[0]), data[len(HEAD_MESSAGE) :])

    def _close_control(self) -> None:
        if self._control is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None

    def _lost(self) -> None:
        self._close_control()
        if self._stopping:
            return
        code = self._process.poll() if self._process is not None else None
        logger.error(
            "the head gate's process ended (exit %s); a new one in %.0f s", code, RESTART_S
        )
        asyncio.get_running_loop().call_later(RESTART_S, self._restart)

    def _restart(self) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(0)
        if self._stopping:
            return
        try:
            self.start()
        except OSError as error:  # out of processes or descriptors: the node accepts nothing
            logger.error(
                "could not start the head gate's process (%s); again in %.0f s", error, RESTART_S
            )
            asyncio.get_running_loop().call_later(RESTART_S, self._restart)

    async def stop(self) -> None:
        """Close the node's end (the gate's process exits on it) and wait for the process."""
        self._stopping = True
        self._close_control()
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), STOP_WAIT_S)
        except TimeoutError:
            process.kill()
            await asyncio.to_thread(process.wait)
