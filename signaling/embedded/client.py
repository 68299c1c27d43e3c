"""The session server's side of the embedded media worker: start it, talk to it, restart it.

The worker is a child process (``python -m signaling.embedded.worker``); a media crash kills
only it. :class:`WorkerProcess` reports the loss as an event, closes the recordings it cut
(recovery runs in the server, which owns the log) and starts a new worker; the room then asks
every member to publish and subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from signaling.embedded import ipc

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 15.0


class WorkerError(Exception):
    """The worker refused a request, or is not there to answer it."""


OnEvent = Callable[[dict[str, Any]], None]


class WorkerProcess:
    """One embedded media worker process and its control connection."""

    def __init__(self, recordings: Path, on_event: OnEvent, announce: Sequence[str] = ()) -> None:
        self._recordings = recordings
        self._on_event = on_event
        self._announce = list(announce)
        self._dir = Path(tempfile.mkdtemp(prefix="evalroom-media-"))
        self._socket = self._dir / "worker.sock"
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.generation = 0  # how many workers were started (a restart bumps it)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Start the worker and connect to it."""
        self._recordings.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._socket.unlink()
        args = [sys.executable, "-m", "signaling.embedded.worker"]
        args += ["--socket", str(self._socket), "--recordings", str(self._recordings)]
        for address in self._announce:
            args += ["--announce", address]
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=os.environ
        )
        if self._proc.stdout is None:
            raise WorkerError("media worker has no stdout")
        line = await asyncio.wait_for(self._proc.stdout.readline(), START_TIMEOUT_S)
        if line.strip() != b"ready":
            raise WorkerError(f"media worker did not start: {line!r}")
        reader, self._writer = await asyncio.open_unix_connection(
            str(self._socket), limit=ipc.MAX_LINE
        )
        self.generation += 1
        self._reader_task = asyncio.create_task(self._read(reader), name="media-worker-read")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while (message := await ipc.read_message(reader)) is not None:
                request_id = message.get("id")
                if request_id is not None:
                    future = self._waiting.pop(request_id, None)
                    if future is not None and not future.done():
                        future.set_result(message)
                else:
                    self._on_event(message)
        except (ConnectionError, ValueError) as exc:
            logger.warning("media worker channel broke: %s", exc)
        finally:
            self._fail_waiting()
            if self._writer is not None:  # not a stop we asked for
                self._on_event({"event": "worker_lost", "generation": self.generation})

    def _fail_waiting(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(WorkerError("media worker is gone"))
        self._waiting.clear()

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        if self._writer is None:
            raise WorkerError("media worker is not running")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self._writer.write(ipc.encode({"id": request_id, "op": op, **fields}))
        answer = await asyncio.wait_for(future, REQUEST_TIMEOUT_S)
        if not answer.get("ok"):
            raise WorkerError(str(answer.get("error")))
        return answer

    async def restart(self) -> None:
        """After a crash: reap the old process and start a new one."""
        await self._reap()
        await self.start()

    async def _reap(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)
        if self._proc is not None:
            if self._proc.returncode is None:
                if self._proc.stdin is not None:
                    self._proc.stdin.close()  # the worker closes its recordings and exits
                try:
                    await asyncio.wait_for(self._proc.wait(), 10)
                except TimeoutError:
                    self._proc.kill()
                    await self._proc.wait()
            self._proc = None

    async def stop(self) -> None:
        """Stop the worker; it closes every recording first."""
        await self._reap()
        with contextlib.suppress(FileNotFoundError, OSError):
            self._socket.unlink()
            self._dir.rmdir()
