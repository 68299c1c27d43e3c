"""The witness: a guest venue's node that cosigns the host's checkpoints after checking them.

Every ``interval`` seconds it fetches the host's newest checkpoint of every session, checks the
host's signature with the pinned host key, and, unless this is the first checkpoint it sees of
that log, fetches and verifies the consistency proof from the last checkpoint it cosigned. Only
then does it sign (cosignature/v1), remember the checkpoint in its own append-only ``witnessed``
table, and post the line back to the host. A host that rewrote history cannot produce a valid
proof, so the witness refuses and records why (``GET /api/witness``); it never signs a second
root for a size it already signed, nor a smaller tree.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.notary import Notary
from server.auditlog.merkle import ProofError, verify_consistency
from server.auditlog.note import NoteError, Verifier, parse_checkpoint, verify_note
from server.store import audit

logger = logging.getLogger(__name__)


@dataclass
class Refusal:
    """A checkpoint the witness would not sign, and why."""

    origin: str
    size: int
    reason: str
    time_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "size": self.size,
            "reason": self.reason,
            "time": self.time_ms,
        }


@dataclass
class WitnessStatus:
    """What the witness did so far (served at ``GET /api/witness``)."""

    host: str
    cosigned: dict[str, int] = field(default_factory=dict)  # origin -> newest size cosigned
    refusals: list[Refusal] = field(default_factory=list)
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "host": self.host,
            "cosigned": self.cosigned,
            "refusals": [r.to_json() for r in self.refusals[-100:]],
            "last_error": self.last_error,
        }


class Witness:
    """Watches one host node."""

    def __init__(
        self,
        engine: AsyncEngine,
        notary: Notary,
        host_url: str,
        host_key: Verifier,
        clock: Callable[[], int],
        interval: float = 1.0,
    ) -> None:
        self._engine = engine
        self._notary = notary
        self._host = host_url.rstrip("/")
        self._host_key = host_key
        self._clock = clock
        self._interval = interval
        self.status = WitnessStatus(self._host)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="witness")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                try:
                    await self.poll(http)
                    self.status.last_error = None
                except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                    self.status.last_error = f"{type(error).__name__}: {error}"
                    logger.warning("witness: host %s unreachable: %s", self._host, error)
                await asyncio.sleep(self._interval)

    async def poll(self, http: aiohttp.ClientSession) -> None:
        """One round: every session's newest checkpoint on the host."""
        async with http.get(f"{self._host}/api/witness/feed") as response:
            feed = await response.json()
        for item in feed.get("checkpoints", []):
            await self._witness(http, item["session"], item["note"])

    def _refuse(self, origin: str, size: int, reason: str) -> None:
        known = self.status.refusals
        if not known or (known[-1].origin, known[-1].size, known[-1].reason) != (
            origin,
            size,
            reason,
        ):
            logger.error("witness: refusing %s@%d: %s", origin, size, reason)
            known.append(Refusal(origin, size, reason, self._clock()))

    async def _witness(self, http: aiohttp.ClientSession, session: str, note: str) -> None:
        try:
            body = verify_note(note, self._host_key)
            checkpoint = parse_checkpoint(body)
        except NoteError as error:
            self._refuse(f"?/{session}", 0, f"host signature: {error}")
            return
        origin, size, root = checkpoint.origin, checkpoint.size, checkpoint.root
        if origin != f"{self._host_key.name}/{session}":
            self._refuse(origin, size, f"origin is not {self._host_key.name}/{session}")
            return
        async with self._engine.connect() as conn:
            last = await audit.last_witnessed_txn(conn, origin)
        if last is not None:
            last_size, last_root = last
            if size < last_size:
                self._refuse(origin, size, f"tree shrank from {last_size}")
                return
            if size == last_size:
                if root != last_root:
                    self._refuse(origin, size, "a second root for a size already cosigned")
                elif f"\u2014 {self._notary.name} " not in note:  # our line did not arrive
                    await self._post(http, session, size, body)
                return
            url = f"{self._host}/api/sessions/{session}/proof/consistency"
            params = {"from": str(last_size), "to": str(size)}
            async with http.get(url, params=params) as response:
                answer = await response.json()
            try:
                proof = [base64.b64decode(h, validate=True) for h in answer.get("proof", [])]
                verify_consistency(last_size, size, proof, last_root, root)
            except (ProofError, ValueError) as error:
                self._refuse(origin, size, f"not consistent with {last_size}: {error}")
                return
        async with self._engine.begin() as conn:
            await audit.record_witnessed_txn(conn, origin, size, root, note, self._clock())
        self.status.cosigned[origin] = size
        await self._post(http, session, size, body)

    async def _post(self, http: aiohttp.ClientSession, session: str, size: int, body: str) -> None:
        line = self._notary.cosign(body, self._clock() // 1000)
        url = f"{self._host}/api/sessions/{session}/checkpoints/{size}/cosignatures"
        async with http.post(url, json={"line": line}) as response:
            if response.status >= 300:
                self.status.last_error = f"host refused cosignature: {await response.text()}"
