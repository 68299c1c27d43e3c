"""Exporting a session as an ``evalroom-archive/1`` zip (电子档案一键归档).

The pure writer (:func:`server.auditlog.archive_write.write_archive`) consumes plain iterables;
here a worker thread runs it while each page of events, leaf hashes and checkpoints is fetched
from the database on the event loop, so a long session streams through in pages of ``PAGE`` rows
and the loop keeps serving seats meanwhile.

What goes in: every event's exact stored bytes, the stored leaf hashes, every checkpoint with its
cosignatures, the recordings under ``<data dir>/recordings/<session>/`` that a ``recording.closed``
names, the expert pools a ``draw.opened`` names (``<data dir>/draw/<session>/``), and each
issued report (``<sha256>.pdf`` and ``.json`` from
``<data dir>/reports/<session>/``) that a ``report.issued`` names; the writer leaves out every
file the log does not bind and builds ``report/report.json`` (the signatures) from the events.
The signed rendering's PDF is not taken: no event holds its hash (the node serves it at
``/report/signed.pdf``, and it is re-rendered from the archive).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.draw_desk import pool_folder
from server.app.notary import Notary
from server.app.report_desk import reports_folder
from server.auditlog.archive_write import ArchiveInfo, Recording, write_archive
from server.store import audit, log

PAGE = 10_000
RECORDING_SUFFIXES = (".webm", ".mkv", ".opus")
T = TypeVar("T")
Progress = Callable[[int, int], None]


class _Bridge:
    """Runs coroutines on the loop from the writer thread, one page at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


async def _column_page(
    engine: AsyncEngine, session: str, after: int, column: str
) -> list[tuple[int, bytes]]:
    async with engine.connect() as conn:
        return await audit.event_column_page_txn(conn, session, after, PAGE, column)


async def _notes_page(engine: AsyncEngine, session: str, after: int) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        found = await audit.checkpoints_txn(conn, session, after, PAGE)
    return [(c.size, c.text()) for c in found]


def _column(
    bridge: _Bridge,
    engine: AsyncEngine,
    session: str,
    head: int,
    column: str,
    progress: Progress | None,
) -> Iterator[bytes]:
    after = 0
    while after < head:
        page = bridge.run(_column_page(engine, session, after, column))
        if not page:
            return
        for seq, value in page:
            if seq > head:
                return
            yield value
        after = page[-1][0]
        if progress is not None:
            progress(min(after, head), head)


def _notes(bridge: _Bridge, engine: AsyncEngine, session: str, head: int) -> Iterator[str]:
    after = 0
    while True:
        page = bridge.run(_notes_page(engine, session, after))
        for size, text in page:
            if size <= head:
                yield text
        if len(page) < PAGE:
            return
        after = page[-1][0]


def _recordings(data_dir: Path, session: str) -> list[Recording]:
    folder = data_dir / "recordings" / session
    if not folder.is_dir():
        return []
    # The recordings; not their sidecar manifests (``recording.closed`` holds the same facts),
    # the writer's bookkeeping (``.part.json``, ``.logged``) nor Janus's raw ``.mjr`` captures.
    return [
        Recording(path.name, path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name.endswith(RECORDING_SUFFIXES)
    ]


def _issued_files(data_dir: Path, session: str) -> list[tuple[str, bytes]]:
    folder = reports_folder(data_dir, session)
    if not folder.is_dir():
        return []
    return [
        (path.name, path.read_bytes())
        for path in sorted(folder.iterdir())
        if path.suffix in (".pdf", ".json") and len(path.stem) == 64
    ]


def _pool_files(data_dir: Path, session: str) -> list[tuple[str, bytes]]:
    folder = pool_folder(data_dir, session)
    if not folder.is_dir():
        return []
    return [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.json"))]


async def export_archive(
    engine: AsyncEngine,
    notary: Notary,
    witness_keys: list[str],
    data_dir: Path,
    session: str,
    out: Path,
    now_ms: int,
    progress: Progress | None = None,
) -> ArchiveInfo:
    """Write the archive of ``session`` up to its newest checkpoint to ``out`` (atomically).

    The archive ends at the newest checkpoint, so every event in it is covered by a signed root;
    a closed session's newest checkpoint is its whole log.
    """
    async with engine.connect() as conn:
        latest = await audit.latest_checkpoint_txn(conn, session)
        if await log.head_txn(conn, session) is None or latest is None:
            raise LookupError(f"no session {session} with a checkpoint")
    head = latest.size
    bridge = _Bridge(asyncio.get_running_loop())
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=".archive-", suffix=".zip")

    def write() -> ArchiveInfo:
        try:
            with os.fdopen(fd, "wb") as handle:
                info = write_archive(
                    handle,
                    session=session,
                    origin=notary.origin(session),
                    node_key=notary.verifier_key,
                    witness_keys=witness_keys,
                    events=_column(bridge, engine, session, head, "body", progress),
                    leaves=_column(bridge, engine, session, head, "hash", None),
                    notes=_notes(bridge, engine, session, head),
                    created_ms=now_ms,
                    recordings=_recordings(data_dir, session),
                    report_files=_issued_files(data_dir, session),
                    pool_files=_pool_files(data_dir, session),
                )
            os.replace(temporary, out)
            return info
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    return await asyncio.to_thread(write)
