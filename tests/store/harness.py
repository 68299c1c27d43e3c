"""A committer on a test clock with helpers that drive a session to scoring."""

from __future__ import annotations

import itertools
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer, SignCheckpoint
from server.app.pending import Committed
from server.domain.commands import AdvancePhase, CreateSession, Enrol
from server.domain.roles import Principal, Role
from server.store.audit import StoredCheckpoint
from tests.helpers import public_b64, signed

SESSION = "s-test"


class Harness:
    """A committer on a test clock, with helpers that drive a session to scoring."""

    def __init__(self, engine: AsyncEngine, sign: SignCheckpoint | None = None) -> None:
        self.clock = itertools.count(1_700_000_000_000)
        self.published: list[Committed] = []
        self.checkpoints: list[StoredCheckpoint] = []
        self.committer = Committer(
            engine, lambda: next(self.clock), self._on_commit, sign, self._on_checkpoint
        )
        self.keys: dict[str, Ed25519PrivateKey] = {}

    async def _on_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self.checkpoints.append(checkpoint)

    async def _on_commit(self, _session: str, committed: list[Committed]) -> None:
        self.published.extend(committed)

    async def scoring_session(self, lot: dict[str, Any]) -> list[str]:
        admin = Principal(Role.ADMIN, SESSION, "admin")
        first = await self.committer.create_session(admin, CreateSession(lot), {})
        seats: list[str] = first.data["seats"]
        sup = Principal(Role.SUPERVISOR, SESSION, "sup-1")
        for seat in seats:
            self.keys[seat] = Ed25519PrivateKey.generate()
            expert = Principal(Role.EXPERT, SESSION, seat)
            await self.committer.submit(expert, "enrol", Enrol(public_b64(self.keys[seat])))
        await self.committer.submit(sup, "p1", AdvancePhase("sign_in"))
        for seat in seats:
            cmd = signed(
                self.keys[seat], SESSION, seat, "expert.sign_in", "si", pledge="evalroom-pledge-v1"
            )
            await self.committer.submit(Principal(Role.EXPERT, SESSION, seat), "si", cmd)
        await self.committer.submit(sup, "p2", AdvancePhase("scoring"))
        return seats

    async def score(self, seat: str, cmd: str, value: str = "7.5") -> dict[str, Any]:
        command = signed(
            self.keys[seat],
            SESSION,
            seat,
            "score.set",
            cmd,
            bidder="B1",
            criterion="T1",
            value=value,
        )
        return await self.committer.submit(Principal(Role.EXPERT, SESSION, seat), cmd, command)
