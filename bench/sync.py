"""Sync benchmark: R rooms x E experts x S supervisors sending signed scores at a set rate.

Runs the same load against the full evalroom pipeline (verify signature, check, durable commit,
fan-out) and against a bare python-socketio broadcast server, both as subprocesses on loopback, and
prints throughput, send->ack and send->received-by-every-room-member latency (p50/p99),
server RSS and the ratios. The last line is one JSON object.

    .venv/bin/python bench/sync.py --rooms 50 --experts 7 --supervisors 2 --rate 1 \
        --seconds 20 --workers 2 --rounds 3

With ``--rounds`` above 1 the two servers alternate (ABBA) and the summary takes each figure's
median round, because one run on a shared 2-core machine can swing p99 by a factor of two.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.client.seat import Client, SeatClient  # noqa: E402

LOT = json.loads((ROOT / "server" / "app" / "demo-lot.json").read_text("utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(argv: list[str], port: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status in (200, 404):
                        return proc
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"server {argv} did not start")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def evalroom_rooms(base: str, args: argparse.Namespace) -> list[tuple[list[Any], list[Any]]]:
    rooms = []
    headers = {"Authorization": "Bearer bench-admin"}
    lot = {
        **LOT,
        "committee": {**LOT["committee"], "size": args.experts},
        "venues": [{"id": "host", "name": "主场", "seats": args.experts}],
    }
    async with aiohttp.ClientSession() as http:
        for _ in range(args.rooms):
            async with http.post(f"{base}/api/sessions", json=lot, headers=headers) as r:
                created = await r.json()
            sups = [
                Client(base, created["session"], t)
                for t in created["supervisor"][: args.supervisors]
            ]
            seats = [SeatClient(base, created["session"], s) for s in created["seats"]]
            for seat in seats:
                await seat.enrol(created["codes"][seat.seat])
            for client in [*sups, *seats]:
                await client.connect()
            await sups[0].command({"id": "p1", "type": "phase.advance", "to": "sign_in"})
            await asyncio.gather(*(s.sign_in() for s in seats))
            await sups[0].command({"id": "p2", "type": "phase.advance", "to": "scoring"})
            rooms.append((seats, sups))
    return rooms


async def run_load(
    rooms: list[tuple[list[Any], list[Any]]], args: argparse.Namespace, send: Any
) -> dict[str, Any]:
    sent: dict[tuple[int, int], float] = {}
    acked: list[float] = []
    stop_at = time.perf_counter() + args.seconds

    rng = random.Random(args.worker_index)  # the load shape, not a secret

    async def expert_loop(r: int, seat: Any) -> None:
        # Experts do not type in lockstep: each starts at its own offset within the period, so
        # the load is spread over the second instead of arriving as one burst per second.
        await asyncio.sleep(rng.uniform(0, 1.0 / args.rate))
        n = 0
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            ack = await send(seat, n)
            t1 = time.perf_counter()
            sent[(r, ack["seq"])] = t0
            acked.append(t1 - t0)
            n += 1
            await asyncio.sleep(max(0.0, 1.0 / args.rate - (time.perf_counter() - t0)))

    started = time.perf_counter()
    await asyncio.gather(
        *(expert_loop(r, seat) for r, (seats, _) in enumerate(rooms) for seat in seats)
    )
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)  # let the last fan-out arrive
    delivered: list[float] = []
    for r, (seats, sups) in enumerate(rooms):
        members = [*seats, *sups]
        for (room, seq), t0 in sent.items():
            if room != r:
                continue
            arrivals = [m.arrival_times.get(seq) for m in members]
            if all(a is not None for a in arrivals):
                delivered.append(max(arrivals) - t0)  # type: ignore[type-var]
    return {"acked": acked, "delivered": delivered, "sent": len(sent), "elapsed": elapsed}


class BareClient:
    def __init__(self, base: str, room: str) -> None:
        self.base, self.room = base, room
        self.sio = socketio.AsyncClient(reconnection=False)
        self.arrival_times: dict[int, float] = {}
        self.sio.on("events", self._on)

    async def _on(self, views: list[dict[str, Any]]) -> None:
        for v in views:
            self.arrival_times[v["seq"]] = time.perf_counter()

    async def connect(self) -> None:
        await self.sio.connect(self.base, transports=["websocket"])
        await self.sio.call("join", {"room": self.room})


async def setup_bare(base: str, args: argparse.Namespace) -> tuple[list[Any], Any]:
    rooms = []
    for r in range(args.rooms):
        room = f"w{args.worker_index}-r{r}"
        members = [BareClient(base, room) for _ in range(args.experts + args.supervisors)]
        for m in members:
            await m.connect()
        rooms.append((members[: args.experts], members[args.experts :]))
    payload = "x" * 400  # about the size of a signed score envelope

    async def send(client: BareClient, n: int) -> Any:
        return await client.sio.call("command", {"room": client.room, "n": n, "p": payload})

    return rooms, send


async def setup_evalroom(base: str, args: argparse.Namespace) -> tuple[list[Any], Any]:
    rooms = await evalroom_rooms(base, args)
    # The sample lot's subjective items are blind (暗标): each seat scores them by its own codes.
    blind = [c["id"] for c in LOT["criteria"] if c["kind"] == "subjective"]

    async def send(seat: SeatClient, n: int) -> Any:
        criterion = blind[n % len(blind)]
        if not seat.codes:
            await seat.state()  # learns the seat's codes if the blind.assigned view is late
        code = seat.codes[(n // len(blind)) % len(seat.codes)]
        return await seat.score(code, criterion, "3")

    return rooms, send


async def worker(args: argparse.Namespace) -> None:
    """One load process: set up its rooms, say ready, wait for go, load, print raw figures."""
    setup = setup_bare if args.worker == "bare" else setup_evalroom
    rooms, send = await setup(args.base, args)
    # The load generator must not pause on its own: a collector pause here releases a burst of
    # delayed sends at once and the servers are then measured on bursts of this process's
    # making. The same for both servers; a load run is short, so its garbage is bounded.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    raw = await run_load(rooms, args, send)
    print(json.dumps(raw), flush=True)
    for seats, sups in rooms:
        for client in [*seats, *sups]:
            await client.sio.disconnect()


def combine(raws: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput and percentiles over the raw figures of every load worker."""
    acked = [x for r in raws for x in r["acked"]]
    delivered = [x for r in raws for x in r["delivered"]]
    elapsed = max(r["elapsed"] for r in raws)
    return {
        "commands": len(acked),
        "throughput": len(acked) / elapsed,
        "ack_p50_ms": pct(acked, 0.5),
        "ack_p99_ms": pct(acked, 0.99),
        "all_p50_ms": pct(delivered, 0.5),
        "all_p99_ms": pct(delivered, 0.99),
        "delivered_fraction": len(delivered) / max(1, sum(r["sent"] for r in raws)),
    }


async def drive(kind: str, base: str, server_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """Spread the rooms over ``--workers`` load processes and combine their figures."""
    share = [
        args.rooms // args.workers + (i < args.rooms % args.workers) for i in range(args.workers)
    ]
    procs = []
    for index, rooms in enumerate(share):
        if rooms == 0:
            continue
        argv = [
            sys.executable,
            __file__,
            "--worker",
            kind,
            "--base",
            base,
            "--worker-index",
            str(index),
            "--rooms",
            str(rooms),
            "--experts",
            str(args.experts),
            "--supervisors",
            str(args.supervisors),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
        ]
        procs.append(
            await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**26,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"load worker failed during setup: {line!r}")
    server = psutil.Process(server_pid)
    cpu_before = sum(server.cpu_times()[:2])
    loaders = [psutil.Process(proc.pid) for proc in procs]
    load_before = sum(sum(p.cpu_times()[:2]) for p in loaders)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    raws = []
    rss = 0.0
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        rss = max(rss, psutil.Process(server_pid).memory_info().rss / 2**20)
        raws.append(json.loads(line))
    cpu = sum(server.cpu_times()[:2]) - cpu_before  # user + system, every thread of the server
    load_cpu = sum(sum(p.cpu_times()[:2]) for p in loaders) - load_before
    for proc in procs:
        await proc.wait()
    combined = combine(raws)
    per_command = 1000 * cpu / max(1, combined["commands"])
    return {
        **combined,
        "rss_mb": rss,
        "server_cpu_ms_per_command": per_command,
        # The load workers share the machine's cores with the server: their CPU is reported so
        # that a reader can tell a busy server from a busy load generator.
        "load_cpu_ms_per_command": 1000 * load_cpu / max(1, combined["commands"]),
    }


async def bench_bare(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "bare_server.py"), str(port)]
    proc = await start(argv, port, {})
    try:
        return await drive("bare", f"http://127.0.0.1:{port}", proc.pid, args)
    finally:
        proc.kill()
        await proc.wait()


async def bench_evalroom(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            "EVALROOM_ADMIN_TOKEN": "bench-admin",
            "EVALROOM_TOKEN_KEY": "bench",
            # every seat of every room connects from 127.0.0.1 here, not from a machine of its
            # own: the per-address cap (256) would refuse the 451st socket
            "EVALROOM_LIMIT_CONNECTIONS_PER_SOURCE": "65536",
        }
        if args.database_url:
            env["EVALROOM_DATABASE_URL"] = args.database_url
        code = "from server.app.cli import main; main()"
        argv = [sys.executable, "-c", code, "--data-dir", data, "--port", str(port), "serve"]
        if args.profile:  # cProfile the server; SIGINT lets it stop cleanly and write the file
            argv[1:3] = ["-m", "cProfile", "-o", args.profile, "-m", "server.app.cli"]
        proc = await start(argv, port, env)
        try:
            return await drive("evalroom", f"http://127.0.0.1:{port}", proc.pid, args)
        finally:
            if args.profile:
                proc.send_signal(signal.SIGINT)
                await asyncio.wait_for(proc.wait(), 60)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--experts", type=int, default=7)
    parser.add_argument("--supervisors", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0, help="scores per second per expert")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2, help="load-generating processes")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    parser.add_argument("--rounds", type=int, default=1, help="bare/evalroom pairs (ABBA)")
    parser.add_argument("--profile", help="write a cProfile of the evalroom server here")
    parser.add_argument("--worker", choices=["bare", "evalroom"], help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args))
        return
    pairs = []
    for round_ in range(args.rounds):
        # ABBA: neither server always runs first (a warm page cache, a cooler CPU).
        if round_ % 2 == 0:
            bare = asyncio.run(bench_bare(args))
            full = asyncio.run(bench_evalroom(args))
        else:
            full = asyncio.run(bench_evalroom(args))
            bare = asyncio.run(bench_bare(args))
        pairs.append((bare, full))
        print(f"round {round_ + 1} of {args.rounds}", flush=True)
        for name, r in (("bare broadcast", bare), ("evalroom", full)):
            print(
                f"  {name:15} {r['commands']:6d} cmds {r['throughput']:8.1f}/s"
                f"  ack p50 {r['ack_p50_ms']:6.1f} p99 {r['ack_p99_ms']:6.1f} ms"
                f"  all-members p50 {r['all_p50_ms']:6.1f} p99 {r['all_p99_ms']:6.1f} ms"
                f"  delivered {r['delivered_fraction']:.3f}  RSS {r['rss_mb']:.0f} MiB"
                f"  CPU server {r['server_cpu_ms_per_command']:.2f} load"
                f" {r['load_cpu_ms_per_command']:.2f} ms/cmd",
                flush=True,
            )
    # The median round of each figure: one noisy round (a GC pause, a neighbour) moves no ratio.
    bare = {k: statistics.median(b[k] for b, _ in pairs) for k in pairs[0][0]}
    full = {k: statistics.median(f[k] for _, f in pairs) for k in pairs[0][1]}
    summary = {
        "rooms": args.rooms,
        "experts": args.experts,
        "supervisors": args.supervisors,
        "rate": args.rate,
        "workers": args.workers,
        "rounds": args.rounds,
        "bare": bare,
        "evalroom": full,
        "throughput_ratio": full["throughput"] / bare["throughput"],
        "p99_ratio": full["all_p99_ms"] / bare["all_p99_ms"],
        "ack_p99_ratio": full["ack_p99_ms"] / bare["ack_p99_ms"],
        "p99_ratio_by_round": [f["all_p99_ms"] / b["all_p99_ms"] for b, f in pairs],
    }
    print(
        f"median of {args.rounds} rounds: all-members p99 {full['all_p99_ms']:.1f} ms vs "
        f"{bare['all_p99_ms']:.1f} ms bare (ratio {summary['p99_ratio']:.2f}), "
        f"throughput ratio {summary['throughput_ratio']:.2f}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
