"""Exporting a session as an ``evalroom-archive/1`` zip (电子档案一键归档).

The pure writer (:func:`server.auditlog.archive.write_archive`) consumes plain iterables; here a
worker thread runs it while each page of events, leaf hashes and checkpoints is fetched from the
database on the event loop, so a long session streams through in pages of ``PAGE`` rows and the
loop keeps serving seats meanwhile.

What goes in: every event's exact stored bytes, the stored leaf hashes, every checkpoint with its
cosignatures, files under ``<data dir>/recordings/<session>/`` (the recording issue fills it), and
``<data dir>/reports/<session>/report.pdf`` + ``report.json`` when a report exists.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.notary import Notary
from server.app.report_desk import reports_folder
from server.auditlog.archive import ArchiveInfo, Recording, write_archive
from server.store import audit, log

PAGE = 10_000
RECORDING_SUFFIXES = (".webm", ".mkv", ".opus", ".manifest.json")
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
    # The recordings and their manifests; not the writer's bookkeeping (``.part.json`` of a
    # file still being written, ``.logged`` markers) nor Janus's raw ``.mjr`` captures.
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


def _report(data_dir: Path, session: str) -> tuple[bytes, bytes] | None:
    folder = reports_folder(data_dir, session)
    pdf, meta = folder / "report.pdf", folder / "report.json"
    if pdf.is_file() and meta.is_file():
        return pdf.read_bytes(), meta.read_bytes()
    return None


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
                    report=_report(data_dir, session),
                    report_files=_issued_files(data_dir, session),
                )
            os.replace(temporary, out)
            return info
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    return await asyncio.to_thread(write)
