"""Where a server's memory grows: ``bench/fuzz.py --trace-memory`` runs the server with this.

``install()`` sets a SIGUSR1 handler: the first signal starts ``tracemalloc`` (not before: traced
imports take a minute) and counts the live objects by type; every later one writes to
``$EVALROOM_MEMTRACE_OUT`` the 30 allocation sites holding the most memory allocated since then
and still alive (and their total, to hold against the growth of the resident set: what is not
in it was allocated outside Python), what SQLite's own allocator, Python's small-object arenas
and glibc's heaps hold, the types whose live count grew most, the objects in reference cycles
waiting for a full collection, and the engine.io sessions open (a diagnostic only: tracing makes
the server several times slower). With ``EVALROOM_MEMTRACE_TRACE=0`` it leaves tracemalloc off and
writes only what the allocators hold, before and after, at the server's own speed.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType

FRAMES = 6
TOP = 30


def _type_counts() -> Counter[str]:
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def _cyclic_garbage() -> list[str]:
    """What the next full collection would free, by type: the objects that live in reference
    cycles until then (the collector only runs full collections now and then: gc_policy.py)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        # where the frames caught in cycles run (a caught exception's traceback keeps them)
        frames = Counter(
            f"{o.f_code.co_filename.rsplit('/', 2)[-1]}:{o.f_code.co_name}"
            for o in gc.garbage
            if isinstance(o, FrameType)
        )
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
    lines = [f"cyclic garbage: {found} objects"]
    lines.extend(f"  {count} {name}" for name, count in kinds.most_common(TOP))
    lines.extend(f"  {count} frames of {where}" for where, count in frames.most_common(TOP))
    return lines


def _engineio_sessions() -> list[str]:
    """The engine.io sessions open and what the tasks alive are waiting in (at the end of a run:
    the start-up heap, the server included, is unfrozen to be seen; see gc_policy.py)."""
    gc.unfreeze()
    found = []
    for server in (o for o in gc.get_objects() if type(o).__name__ == "AsyncServer"):
        if hasattr(server, "sockets"):
            sockets = list(server.sockets.values())
            closed = sum(1 for s in sockets if s.closed)
            found.append(f"engine.io sessions: {len(sockets)} ({closed} closed)")
    waits: Counter[str] = Counter()
    for task in asyncio.all_tasks(asyncio.get_event_loop()):
        stack = task.get_stack()
        where = [f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno}" for f in stack]
        waits[" > ".join(where[-3:])] += 1
    found.extend(f"{count} tasks at {where}" for where, count in waits.most_common(12))
    return found


def _sqlite_memory() -> list[str]:
    """What SQLite's own allocator holds (page caches, schemas, statements): outside Python's."""
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return ["sqlite memory: libsqlite3 not found"]
    library = ctypes.CDLL(name)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    library.sqlite3_memory_highwater.restype = ctypes.c_int64
    library.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    used, high = library.sqlite3_memory_used(), library.sqlite3_memory_highwater(0)
    return [f"sqlite memory: {used / 1024 / 1024:.1f} MiB in use, {high / 1024 / 1024:.1f} at most"]


def _debugmallocstats() -> str:
    """What ``sys._debugmallocstats`` prints: pymalloc's figures, by size class and in all."""
    with tempfile.TemporaryFile("w+") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)  # _debugmallocstats writes to the C stderr
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return captured.read()


def _pymalloc() -> list[str]:
    """Python's small-object allocator: its arenas (1 MiB each, given back only when empty) and
    how much of them live objects use; arenas held by a few live blocks show as fragmentation."""
    text = _debugmallocstats()
    wanted = ("# arenas allocated current", "# bytes in allocated blocks", "# bytes in available")
    return [f"pymalloc {line.strip()}" for line in text.splitlines() if line.startswith(wanted)]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _glibc_heap() -> list[str]:
    """glibc's heaps (every arena): bytes in use, bytes free but kept, and big blocks mapped apart
    (what C libraries and Python's large objects take, outside pymalloc's arenas)."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        return ["glibc heap: no mallinfo2"]
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    mib = 1024 * 1024
    return [
        f"glibc heap: {info.uordblks / mib:.1f} MiB in use, {info.fordblks / mib:.1f} free and "
        f"kept, {info.hblkhd / mib:.1f} mapped apart in {info.hblks} blocks"
    ]


_statements: Counter[str] = Counter()


def _count_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
    _statements[statement] += 1


def _statement_texts() -> list[str]:
    """How many distinct SQL texts the engine ran: each is prepared and cached apart by every
    SQLite connection (``sqlite3``'s statement cache), so texts that vary with a list's length
    fill each connection's cache with near copies."""
    shapes = Counter(" ".join(text.split())[:90] for text in _statements)
    lines = [f"sql texts: {len(_statements)} distinct"]
    lines.extend(f"  {count} texts starting {shape!r}" for shape, count in shapes.most_common(5))
    return lines


def _allocators() -> list[str]:
    return _sqlite_memory() + _pymalloc() + _glibc_heap()


def install() -> None:
    out = Path(os.environ.get("EVALROOM_MEMTRACE_OUT", "memtrace.txt"))
    trace = os.environ.get("EVALROOM_MEMTRACE_TRACE", "1") != "0"
    baseline: Counter[str] = Counter()
    at_baseline: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not trace:
            gc.collect()
            # by size class, beside the summary: which classes hold the arenas' free blocks
            stats = out.with_name(
                out.stem + ("-pymalloc-end.txt" if at_baseline else "-pymalloc-baseline.txt")
            )
            stats.write_text(_debugmallocstats(), "utf-8")
            if not at_baseline:
                at_baseline.extend(_allocators())
                return
            lines = [
                f"{line} (at the baseline: {was})"
                for line, was in zip(_allocators(), at_baseline, strict=True)
            ]
            lines += _statement_texts()
            out.write_text("\n".join(lines) + "\n", "utf-8")
            return
        if not tracemalloc.is_tracing():
            baseline.update(_type_counts())
            at_baseline.extend(_allocators())
            tracemalloc.start(FRAMES)
            return
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        traced, _peak = tracemalloc.get_traced_memory()
        garbage = _cyclic_garbage()
        grown = _type_counts()
        grown.subtract(baseline)
        # what Python allocated since the baseline and still holds, beside the process's growth:
        # the difference is memory outside Python's allocator (C libraries, the C heap itself)
        lines = [f"python allocations alive since the baseline: {traced / 1024 / 1024:.1f} MiB"]
        lines.append(
            f"tracemalloc's own: {tracemalloc.get_tracemalloc_memory() / 1024 / 1024:.1f} MiB"
        )
        lines += [
            f"{line} (at the baseline: {was})"
            for line, was in zip(_allocators(), at_baseline, strict=True)
        ]
        lines += garbage + _engineio_sessions()
        lines.extend(f"{count:+d} live {name}" for name, count in grown.most_common(TOP))
        for stat in snapshot.statistics("traceback")[:TOP]:
            lines.append(f"{stat.size / 1024:+.1f} KiB in {stat.count:+d} blocks")
            lines.extend(f"    {line}" for line in stat.traceback.format()[-2 * FRAMES :])
        out.write_text("\n".join(lines) + "\n", "utf-8")

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _count_statement)
    signal.signal(signal.SIGUSR1, on_signal)
