"""Where a server's memory grows: ``bench/fuzz.py --trace-memory`` runs the server with this.

``install()`` sets a SIGUSR1 handler: the first signal starts ``tracemalloc`` (not before: traced
imports take a minute), every later one writes the 30 allocation sites holding the most memory
allocated since then and still alive to ``$EVALROOM_MEMTRACE_OUT`` (a diagnostic only: tracing
makes the server several times slower).
"""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 6
TOP = 30


def install() -> None:
    out = Path(os.environ.get("EVALROOM_MEMTRACE_OUT", "memtrace.txt"))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
            return
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        lines = []
        for stat in snapshot.statistics("traceback")[:TOP]:
            lines.append(f"{stat.size / 1024:+.1f} KiB in {stat.count:+d} blocks")
            lines.extend(f"    {line}" for line in stat.traceback.format()[-2 * FRAMES :])
        out.write_text("\n".join(lines) + "\n", "utf-8")

    signal.signal(signal.SIGUSR1, on_signal)
