"""The embedded backend as the room sees it: each call one request to the worker process.

The worker starts on first use, so a node whose sessions never open media pays nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from signaling.embedded.client import OnEvent, WorkerProcess


class EmbeddedBackend:
    """Media through one aiortc pass-through worker process of this node."""

    name = "embedded"

    def __init__(self, recordings: Path, on_event: OnEvent, announce: Sequence[str] = ()) -> None:
        self.worker = WorkerProcess(recordings, on_event, announce)
        self._started = False
        self._lock = asyncio.Lock()

    async def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        async with self._lock:
            if not self._started:
                await self.worker.start()
                self._started = True
        return await self.worker.request(op, **fields)

    async def restart(self) -> None:
        """Start a fresh worker after the old one died."""
        async with self._lock:
            await self.worker.restart()
            self._started = True

    async def publish(self, conn: str, session: str, seat: str, sdp: str) -> dict[str, Any]:
        return await self._request("publish", conn=conn, session=session, seat=seat, sdp=sdp)

    async def subscribe(
        self, conn: str, session: str, source: str, kinds: Sequence[str]
    ) -> dict[str, Any]:
        return await self._request(
            "subscribe", conn=conn, session=session, source=source, kinds=list(kinds)
        )

    async def answer(self, conn: str, sdp: str) -> None:
        await self._request("answer", conn=conn, sdp=sdp)

    async def candidate(self, conn: str, candidate: dict[str, Any]) -> None:
        await self._request("candidate", conn=conn, **candidate)

    async def close(self, conn: str) -> None:
        if self._started:
            await self.worker.request("close", conn=conn)

    async def status(self) -> dict[str, Any]:
        return await self._request("status")

    async def stop(self) -> None:
        if self._started:
            await self.worker.stop()
            self._started = False
