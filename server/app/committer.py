"""Group commit: commands that arrive together are checked and appended in one transaction.

Handlers call :meth:`Committer.submit`; a single task drains the queue, and for each session in the
batch locks its head, refreshes the cached projection if another node moved it, runs the pure
``decide`` for each command in arrival order, and appends every accepted event in one
transaction. Only after the commit are the futures resolved (the ack carries ``seq`` and hash) and
the events handed to the fan-out. A failed transaction drops the cached projections it touched and
fails every command in it; clients resend with the same command id, which is idempotent.

Each command is checked on its own: whatever its check or the sealing of its events raises, that
command alone is refused with a typed error (``malformed`` for content no signer accepts,
``internal`` for a bug, logged once) and the rest of the batch commits. A command id that was
committed with other content is refused (``id_reused``); the same content gets the stored ack.

The same transaction stores the Merkle subtrees the new events complete (the cached compact range
makes that O(log n)) and, when one is due, a checkpoint signed by the node's key: every
``CHECKPOINT_EVERY`` events, at least every ``CHECKPOINT_MS`` while events flow (an idle tick
covers a quiet second), and when the session closes or is sealed. The per-session cache and the
checkpoint timing are in :mod:`server.app.writer_cache`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app import writer_cache
from server.app.pending import Committed, Pending, ack_for, answer_resend, check_one
from server.app.writer_cache import SignCheckpoint, WriterCache
from server.auditlog.merkle import CompactRange
from server.domain.commands import Command, CreateSession, command_digest, decide
from server.domain.errors import Code, CommandError
from server.domain.events import Event, seal
from server.domain.folding import apply_event
from server.domain.roles import Principal
from server.domain.state import Phase, SessionState
from server.store import audit, log
from server.store.append_scope import AppendScope, append_scope
from server.store.audit import StoredCheckpoint
from server.store.batch import BatchWrites
from server.store.log import StoredAck
from server.store.sqlite_writer import SqliteWriter, sqlite_file

logger = logging.getLogger(__name__)

MAX_BATCH = 512


OnCommit = Callable[[str, list[Committed]], Awaitable[None]]
OnCheckpoint = Callable[[StoredCheckpoint], Awaitable[None]]


def ends_a_stage(event: Event) -> bool:
    """The close and the seal are signed at once: an archive exported then ends with them."""
    closes = event.type == "phase.changed" and event.data.get("to") == Phase.CLOSED
    return closes or event.type == "session.sealed"


class Committer:
    """The single writer of this process."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], int],
        on_commit: OnCommit,
        sign_checkpoint: SignCheckpoint | None = None,
        on_checkpoint: OnCheckpoint | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._on_commit = on_commit
        self._sign = sign_checkpoint
        self._on_checkpoint = on_checkpoint
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._cache = WriterCache(sign_checkpoint)
        # Look in the store for events no checkpoint covers: at start (a crash left them) and
        # after a failed transaction (the cache that knew about them was dropped).
        self._tails_unchecked = True
        self._read: dict[str, SessionState] = {}  # loaded for readers when the writer has none
        path = sqlite_file(engine)
        self._writer = SqliteWriter(path) if path else None  # SQLite: a batch in one thread hop
        self._task: asyncio.Task[None] | None = None
        # Fan-out runs beside the writer, in commit order: the next batch's SQL overlaps the
        # previous batch's emits instead of waiting for them.
        self._outbox: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._fanout_task: asyncio.Task[None] | None = None
        self._step: asyncio.Future[None] | None = None  # the transaction in progress, if any
        self._step_batch: list[Pending] = []
        self.batches = 0  # how many transactions; the benchmark reports commands per batch
        self.retries = 0  # batches decided again after a moved head or a resend

    async def start(self) -> None:
        """Start the writer task and the fan-out task."""
        self._task = asyncio.create_task(self._run(), name="committer")
        self._fanout_task = asyncio.create_task(self._fan_out(), name="committer-fanout")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop the writer task; queued commands fail with ``internal``.

        A transaction already in progress is let finish (up to ``grace_s``), so its commands
        get their acks: on SQLite its rows may already be committing on the writer thread, and
        abandoning it would leave callers waiting for an answer that never comes.
        """
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._step is not None and not self._step.done():
            await asyncio.wait([self._step], timeout=grace_s)
        for pending in self._step_batch:  # only if the grace ran out: a resend gets the ack
            if not pending.future.done():
                pending.future.set_exception(CommandError(Code.INTERNAL, "server stopping"))
        if self._fanout_task is not None:
            self._fanout_task.cancel()
            await asyncio.gather(self._fanout_task, return_exceptions=True)
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(CommandError(Code.INTERNAL, "server stopping"))
        if self._writer is not None:
            await self._writer.close()

    async def flush(self) -> None:
        """Wait until everything committed so far has been handed to the fan-out."""
        await self._outbox.join()

    async def _fan_out(self) -> None:
        while True:
            job = await self._outbox.get()
            try:
                await job()
            except Exception:  # fan-out is best effort: clients catch up from the log
                logger.exception("fan-out failed")
            finally:
                self._outbox.task_done()

    def _deliver(
        self, published: dict[str, list[Committed]], signed: list[StoredCheckpoint]
    ) -> None:
        async def job() -> None:
            for session, committed in published.items():
                await self._on_commit(session, committed)
            await self._publish_checkpoints(signed)

        self._outbox.put_nowait(job)

    async def submit(
        self, principal: Principal, command_id: str, command: Command
    ) -> dict[str, Any]:
        """Queue a command and wait until it is committed (ack) or refused (CommandError)."""
        if isinstance(command, CreateSession):
            raise TypeError("use create_session")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        digest = command_digest(command)
        self._queue.put_nowait(Pending(principal, command_id, command, future, digest))
        return await future

    async def create_session(
        self, principal: Principal, command: CreateSession, code_hashes: dict[str, bytes]
    ) -> Event:
        """Create a session: its first event, in its own transaction."""
        (draft,) = decide(None, principal, "create", command)
        first = seal(draft, principal.session, 1, self._clock())
        checkpoint = None
        async with self._engine.begin() as conn:
            await log.create_session_txn(conn, first, code_hashes)
            if self._sign is not None:
                root = CompactRange.from_hashes(1, [first.hash]).root()
                note = self._sign(first.session, 1, root)
                checkpoint = StoredCheckpoint(first.session, 1, root, note, first.time_ms)
                await audit.insert_checkpoint_txn(conn, checkpoint)
        self._deliver(
            {first.session: [Committed(first, False)]}, [checkpoint] if checkpoint else []
        )
        return first

    async def current_state(self, session: str) -> SessionState | None:
        """The projection at the committed head (a copy is not made: do not mutate it)."""
        async with self._engine.connect() as conn:
            head = await log.head_txn(conn, session)
            if head is None:
                return None
            written = self._cache.get(session)
            if written is not None and written.state.seq == head:
                return written.state
            # The writer's projection is ahead while a batch is being committed (or it has none):
            # readers keep their own, moved on by the few events since it was last read.
            state = self._read.get(session)
            if state is None or not head - log.SNAPSHOT_EVERY <= state.seq <= head:
                state = await log.load_state_txn(conn, session)
            elif state.seq < head:
                state = await log.fold_after_txn(conn, session, state)
        if state is not None and state.seq >= head:
            self._read[session] = state
        return state

    async def _run(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), writer_cache.CHECKPOINT_MS / 1000)
            except TimeoutError:
                await self._run_step(self._checkpoint_idle, [])
                continue
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._run_step(self._commit, batch)

    async def _run_step(
        self, step: Callable[[list[Pending]], Awaitable[None]], batch: list[Pending]
    ) -> None:
        # A task of its own, awaited through a shield: stopping cancels the loop, not a
        # transaction that is already on its way to the database (see stop()).
        self._step_batch = batch
        self._step = asyncio.ensure_future(self._guarded(step, batch))
        await asyncio.shield(self._step)

    async def _guarded(
        self, step: Callable[[list[Pending]], Awaitable[None]], batch: list[Pending]
    ) -> None:
        try:
            await step(batch)
        except Exception:
            logger.exception("append transaction failed; %d commands refused", len(batch))
            self._tails_unchecked = True
            if not batch:  # the idle checkpoint may have touched any cached session
                self._cache.clear()
            for pending in batch:
                self._cache.pop(pending.principal.session, None)
                if not pending.future.done():
                    pending.future.set_exception(
                        CommandError(Code.INTERNAL, "could not store; resend the command")
                    )

    async def _commit(self, batch: list[Pending]) -> None:
        by_session: dict[str, list[Pending]] = {}
        for pending in batch:
            by_session.setdefault(pending.principal.session, []).append(pending)
        try:
            await self._commit_once(by_session, careful=False)
        except (log.StaleHead, IntegrityError):
            self.retries += 1
            # The fast path trusted its cache and did not look for stored acks. Either another
            # writer moved a head, or a command id was already committed (a resend): the
            # transaction rolled back, so drop what it touched and decide again carefully.
            for session in by_session:
                self._cache.pop(session, None)
            await self._commit_once(by_session, careful=True)

    async def _commit_once(self, by_session: dict[str, list[Pending]], careful: bool) -> None:
        results: list[tuple[Pending, dict[str, Any] | CommandError]] = []
        published: dict[str, list[Committed]] = {}
        writes = BatchWrites()
        now = self._clock()
        async with append_scope(self._engine, self._writer, list(by_session)) as scope:
            for session, pendings in by_session.items():
                committed = await self._append_session_txn(
                    scope, session, pendings, now, results, writes, careful
                )
                if committed:
                    published[session] = committed
                    final = any(ends_a_stage(c.event) for c in committed)
                    checkpoint = self._cache.due_checkpoint(session, now, final)
                    if checkpoint is not None:
                        writes.checkpoints.append(checkpoint)
            await scope.write(writes)
        signed = writes.checkpoints
        self.batches += 1
        for pending, result in results:
            if pending.future.done():
                continue
            if isinstance(result, CommandError):
                pending.future.set_exception(result)
            else:
                pending.future.set_result(result)
        self._deliver(published, signed)

    async def _checkpoint_idle(self, _batch: list[Pending]) -> None:
        """Sign a checkpoint for every session whose newest events waited a whole period."""
        now = self._clock()
        due = {s for s, c in self._cache.items() if c.checkpoint_due(now, force=False)}
        tails: set[str] = set()
        if self._tails_unchecked and self._sign is not None:
            async with self._engine.connect() as conn:
                tails = set(await audit.unsigned_tails_txn(conn))
            self._tails_unchecked = False
        if not (due or tails) or self._sign is None:
            return
        writes = BatchWrites()
        async with append_scope(self._engine, self._writer, sorted(due | tails)) as scope:
            for session in sorted(due | tails):
                if await self._cache.load_txn(scope, session) is None:
                    continue
                checkpoint = self._cache.due_checkpoint(session, now, force=session in tails)
                if checkpoint is not None:
                    writes.checkpoints.append(checkpoint)
            await scope.write(writes)
        self._deliver({}, writes.checkpoints)

    async def _publish_checkpoints(self, signed: list[StoredCheckpoint]) -> None:
        if self._on_checkpoint is not None:
            for checkpoint in signed:
                await self._on_checkpoint(checkpoint)

    async def _append_session_txn(
        self,
        scope: AppendScope,
        session: str,
        pendings: list[Pending],
        now: int,
        results: list[tuple[Pending, dict[str, Any] | CommandError]],
        writes: BatchWrites,
        careful: bool,
    ) -> list[Committed]:
        cached = await self._cache.load_txn(scope, session, careful)
        if cached is None:
            error = CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
            results.extend((p, error) for p in pendings)
            return []
        state = cached.state
        keys = [(p.principal.actor, p.command_id) for p in pendings]
        # Resends are rare: the fast path skips the lookup and lets the acks' primary key refuse
        # a duplicate (IntegrityError), after which the batch is decided again with it.
        stored = await log.find_acks_txn(await scope.conn(), session, keys) if careful else {}
        seen: dict[tuple[str, str], StoredAck] = dict(stored)
        committed: list[Committed] = []
        refused: dict[int, tuple[str, str]] = {}  # index in results -> key, for resends
        snapshot_due = False
        for pending, key in zip(pendings, keys, strict=True):
            if key in seen:  # a resend: the original answer, nothing applied twice
                results.append((pending, answer_resend(seen[key], key[1], pending.digest)))
                continue
            try:
                sealed = check_one(state, pending, now)
            except CommandError as error:
                refused[len(results)] = key
                results.append((pending, error.detached()))  # kept until the batch is answered
                continue
            new = []
            for event in sealed:
                apply_event(state, event)
                for level, index, node in cached.tree.append_nodes(event.hash):
                    writes.nodes.append((session, level, index, node))
                if cached.tree.size - cached.checkpoint_size >= writer_cache.CHECKPOINT_EVERY:
                    inline = self._cache.sign_head(session, cached, now)  # mid-batch: every 100
                    if inline is not None:
                        writes.checkpoints.append(inline)
                new.append(event)
                committed.append(Committed(event, state.revealed))
                snapshot_due |= event.seq % log.SNAPSHOT_EVERY == 0
            ack = StoredAck(ack_for(new), pending.digest)
            seen[key] = ack
            results.append((pending, ack.ack))
            writes.acks.append(log.ack_row(session, key[0], key[1], ack))
        if refused and not careful:
            # A refusal may be a resend of a committed command (e.g. a second sign-in):
            # then the client gets the original ack, as on the careful path.
            found = await log.find_acks_txn(await scope.conn(), session, list(refused.values()))
            for index, key in refused.items():
                if key in found:
                    pending = results[index][0]
                    answer = answer_resend(found[key], key[1], pending.digest)
                    results[index] = (pending, answer)
        if committed:
            first, last = committed[0].event.seq, committed[-1].event.seq
            writes.heads.append((session, first - 1, last))
            writes.events.extend(c.event for c in committed)
            if snapshot_due:
                writes.snapshots.append(state)  # serialized when written, later in this txn
        return committed
