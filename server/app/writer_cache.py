"""What the single writer keeps per session between transactions: projection, tree, checkpoint.

The committer decides every command against the cached projection and appends to the cached
compact range, so a batch reads nothing from the store in the common case. The cache is always
at the head this writer wrote; when the stored head differs (another node appended, or a failed
transaction dropped the entry) the session is rebuilt from the newest snapshot, ``popcount(size)``
stored subtree hashes and the last checkpoint.

Checkpoint timing lives here too, because it is a property of the cached tree: a checkpoint is
due every ``CHECKPOINT_EVERY`` events and at least every ``CHECKPOINT_MS`` while events flow.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView
from dataclasses import dataclass

from server.auditlog.merkle import CompactRange
from server.domain.state import SessionState
from server.store import audit, log
from server.store.append_scope import AppendScope
from server.store.audit import StoredCheckpoint

CHECKPOINT_EVERY = 100
CHECKPOINT_MS = 1000

SignCheckpoint = Callable[[str, int, bytes], str]
"""``sign(session, size, root) -> note``: the node's signed checkpoint note."""


@dataclass
class Cached:
    """One session as the writer left it: projection, tree, last checkpoint's size and time."""

    state: SessionState
    tree: CompactRange
    checkpoint_size: int
    checkpoint_ms: int

    def checkpoint_due(self, now: int, force: bool) -> bool:
        """Whether events wait for a checkpoint (``force``: any waiting at all, e.g. at close)."""
        behind = self.tree.size - self.checkpoint_size
        if behind <= 0:
            return False
        return force or behind >= CHECKPOINT_EVERY or now - self.checkpoint_ms >= CHECKPOINT_MS


class WriterCache:
    """The writer's sessions, loaded from the store when the cache cannot be trusted."""

    def __init__(self, sign: SignCheckpoint | None) -> None:
        self._sign = sign
        self._sessions: dict[str, Cached] = {}

    def get(self, session: str) -> Cached | None:
        """The cached session, if any (do not mutate its state outside the writer)."""
        return self._sessions.get(session)

    def pop(self, session: str, default: None = None) -> Cached | None:
        """Forget a session (its transaction failed, or its head moved under the writer)."""
        return self._sessions.pop(session, default)

    def clear(self) -> None:
        """Forget every session."""
        self._sessions.clear()

    def items(self) -> ItemsView[str, Cached]:
        """Every cached session."""
        return self._sessions.items()

    async def load_txn(
        self, scope: AppendScope, session: str, careful: bool = True
    ) -> Cached | None:
        """The session at its stored head (None: no such session), rebuilt when needed."""
        cached = self._sessions.get(session)
        if cached is not None and not careful and not scope.locks_rows:
            # SQLite has one writer process: trust the cache (PostgreSQL always locks and reads
            # the head). The write's head check still catches a second writer (StaleHead), and
            # the batch is then decided again carefully.
            return cached
        head = await scope.head(session)
        if head is None:
            return None
        if cached is None or cached.state.seq != head:
            # Another node appended (or nothing is cached yet): rebuild from the store.
            conn = await scope.conn()
            state = await log.load_state_txn(conn, session)
            if state is None:
                return None
            tree = await audit.load_tree_txn(conn, session, head)
            latest = await audit.latest_checkpoint_txn(conn, session)
            cached = Cached(
                state,
                tree,
                latest.size if latest is not None else 0,
                latest.created_ms if latest is not None else 0,
            )
            self._sessions[session] = cached
        return cached

    def sign_head(self, session: str, cached: Cached, now: int) -> StoredCheckpoint | None:
        """A checkpoint of the cached tree as it is now (the caller stores it in its txn).

        The cache moves on at once; if the transaction fails the writer drops the cache and
        reloads the last stored checkpoint, so nothing is skipped.
        """
        if self._sign is None:
            return None
        size, root = cached.tree.size, cached.tree.root()
        cached.checkpoint_size, cached.checkpoint_ms = size, now
        return StoredCheckpoint(session, size, root, self._sign(session, size, root), now)

    def due_checkpoint(self, session: str, now: int, force: bool) -> StoredCheckpoint | None:
        """A signed checkpoint of the session if one is due, else None."""
        cached = self._sessions.get(session)
        if cached is None or not cached.checkpoint_due(now, force):
            return None
        return self.sign_head(session, cached, now)
