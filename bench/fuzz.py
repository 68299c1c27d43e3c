"""Fuzz a real ``evalroom serve`` with N Hypothesis-drawn inputs (issue 10, item 10).

Every HTTP endpoint and socket.io event of docs/PROTOCOL.md (and unknown ones), as every role and
with bad tokens, drawn by ``tests/fuzz`` (the CI test replays a few hundred of the same inputs
in-process). The server runs as a child process on loopback with its own data directory; inputs
run ``--concurrency`` at a time. Progress goes to stderr; the last line of stdout is one JSON
object:

- ``inputs``: inputs sent; ``unhandled``: tracebacks in the server's log; ``http_5xx``;
  ``unanswered``: calls, requests and CONNECTs without an answer within ``--timeout`` s on a
  connection that stayed open (a frame over the server's limit is answered by closing the
  connection with 1009, "message too big": counted under ``answers``; a call in flight on a
  connection the server closed for another input is counted as ``cut_by_close``);
- ``rss_growth``: (end - start) / start of the server's VmRSS, start taken after ``--warmup``
  inputs; ``honest_seq``: the seq of an honest seat's score committed after the run (0: failed).

    .venv/bin/python bench/fuzz.py --inputs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.app.conftest import free_port
from tests.app.processes import SERVE, kill, start_server
from tests.fuzz.draw import BATCH, draw_batch
from tests.fuzz.health import honest_score
from tests.fuzz.inputs import FuzzInput
from tests.fuzz.known import known_defect
from tests.fuzz.logs import tracebacks_in
from tests.fuzz.target import Target


def vm_rss_kb(pid: int) -> int:
    """The process's resident set size in KiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def run_batch(target: Target, inputs: list[FuzzInput], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: FuzzInput) -> None:
        async with gate:
            await target.run(item)

    await asyncio.gather(*(one(item) for item in inputs))


async def fuzz(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    log = data_dir / "server.log"
    port = free_port()
    traced = data_dir / "memtrace.txt"
    if args.trace_memory or args.allocators:
        code = (
            f"import sys; sys.path.insert(0, 'bench'); import memtrace; memtrace.install(); {SERVE}"
        )
        trace = "0" if args.allocators else "1"
        env = {"EVALROOM_MEMTRACE_OUT": str(traced), "EVALROOM_MEMTRACE_TRACE": trace}
        server = await start_server(data_dir, port, log, env, code)
    else:
        server = await start_server(data_dir, port, log)
    traced_run = args.trace_memory or args.allocators
    base = f"http://127.0.0.1:{port}"
    target = Target(base, timeout=args.timeout)
    started = time.monotonic()
    rss_start = rss_end = 0
    try:
        await target.setup()
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1) as pool:
            batch, done, next_report = 0, 0, args.progress
            pending = loop.run_in_executor(pool, draw_batch, BATCH, args.seed * 1_000_003)
            while done < args.inputs:
                inputs = [i for i in await pending if not (args.skip_known and known_defect(i))]
                inputs = inputs[: args.inputs - done]
                batch += 1
                pending = loop.run_in_executor(
                    pool, draw_batch, BATCH, args.seed * 1_000_003 + batch
                )
                await run_batch(target, inputs, args.concurrency)
                done += len(inputs)
                if not rss_start and done >= args.warmup:
                    rss_start = vm_rss_kb(server.pid)
                    if traced_run:
                        server.send_signal(signal.SIGUSR1)  # memtrace's baseline
                if done >= next_report or done >= args.inputs:
                    next_report += args.progress
                    report_progress(target, done, started, server.pid)
            pending.cancel()
        rss_end = vm_rss_kb(server.pid)
        if traced_run:
            server.send_signal(signal.SIGUSR1)  # memtrace's comparison
            for _ in range(600):
                if traced.exists():
                    break
                await asyncio.sleep(0.1)
        try:
            honest: int | str = await honest_score(base)
        except Exception as error:  # the figures above still count: say why it failed
            honest = f"failed: {error!r}"
    finally:
        await target.close()
        run_end = log.stat().st_size  # what the server logs while it stops is counted apart
        await stop(server)
    unhandled, examples = tracebacks_in(log, end=run_end)
    at_stop, stop_examples = tracebacks_in(log, start=run_end)
    tally = target.tally
    return {
        "inputs": tally.inputs,
        "unhandled": unhandled,
        "http_5xx": tally.http_5xx,
        "unanswered": tally.unanswered,
        "cut_by_close": tally.cut_by_close,
        "rss_growth": round((rss_end - rss_start) / rss_start, 4) if rss_start else None,
        "rss_start_kb": rss_start,
        "rss_end_kb": rss_end,
        "skipped": tally.skipped,
        "honest_seq": honest,
        "seconds": round(time.monotonic() - started, 1),
        "seed": args.seed,
        "skip_known": args.skip_known,
        "concurrency": args.concurrency,
        "kinds": dict(tally.kinds),
        "answers": dict(tally.statuses.most_common(40)),
        "failures": tally.failures,
        "tracebacks": examples[:3],
        "unhandled_at_stop": at_stop,
        "tracebacks_at_stop": stop_examples[:2],
        "memory_growth": traced.read_text("utf-8").splitlines()[:120] if traced.exists() else None,
    }


async def stop(server: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a service manager stops it; SIGKILL after 15 s."""
    server.terminate()
    try:
        await asyncio.wait_for(server.wait(), 15)
    except TimeoutError:
        await kill(server)


def report_progress(target: Target, done: int, started: float, pid: int) -> None:
    tally = target.tally
    seconds = time.monotonic() - started
    print(
        f"{done} inputs in {seconds:.0f} s ({done / seconds:.0f}/s): "
        f"unanswered {tally.unanswered}, 5xx {tally.http_5xx}, skipped {tally.skipped}, "
        f"server RSS {vm_rss_kb(pid) / 1024:.1f} MiB",
        file=sys.stderr,
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for answers")
    parser.add_argument("--warmup", type=int, default=5_000, help="inputs before RSS is taken")
    parser.add_argument("--progress", type=int, default=5_000, help="report every N inputs")
    parser.add_argument(
        "--skip-known", action="store_true", help="leave out tests/fuzz/known.py's classes"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the server's data and log here")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="run the server under tracemalloc (bench/memtrace.py); report where it grew",
    )
    parser.add_argument(
        "--allocators",
        action="store_true",
        help="without tracemalloc: report what pymalloc, glibc and SQLite hold, before and after",
    )
    args = parser.parse_args()
    args.warmup = min(args.warmup, max(args.inputs // 10, 1))
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(fuzz(args, args.data_dir))
    else:
        with tempfile.TemporaryDirectory(prefix="evalroom-fuzz-") as tmp:
            result = asyncio.run(fuzz(args, Path(tmp)))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
