"""Abuse benchmark (issue 10, deliverable 4): an honest seat's command latency, unloaded and
while an attacker holds 20,000 half-open connections, keeps 10 sockets that never read, and
floods catch-up (32 whole-history requests at once, again and again).

    .venv/bin/python bench/abuse.py [--half-open 20000] [--commands 200]

The server is ``evalroom serve`` on loopback (SQLite) in its own process; the half-open
connections come from two attacker processes over 80 loopback addresses (250 each, under the
per-address cap, so the node's total cap and its shedding are what is measured). The last line
is one JSON object: the honest seat's p50/p99 unloaded and attacked, their ratio (the target is
≤ 2), health checks answered during the attack, and what the attacker saw.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cpu_shares import CpuShares  # noqa: E402
from server.client.seat import Client, SeatClient  # noqa: E402

ADMIN = "bench-admin"
LOT = REPO / "server" / "app" / "demo-lot.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


SERVER_FDS = 65_536  # what docs/DEPLOY.md asks a node to be given (LimitNOFILE)


def server_fd_limit(wanted: int) -> None:
    """Give the server ``wanted`` descriptors where this user may (root may raise the hard
    limit); otherwise it runs with what it has, and the figures say how many that was."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), max(hard, wanted)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_server(data: Path, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "EVALROOM_ADMIN_TOKEN": ADMIN, "EVALROOM_TOKEN_KEY": "bench-key"}
    out = (data / "server.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from server.app.cli import main; main()",
        "--data-dir", str(data), "--port", str(port), "serve",
        env=env, stdout=out, stderr=asyncio.subprocess.STDOUT, cwd=str(REPO),
        preexec_fn=lambda: server_fd_limit(SERVER_FDS),
    )  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for _ in range(400):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return process
            await asyncio.sleep(0.05)
    raise SystemExit("the server did not start")


async def setup(base: str, history: int) -> tuple[dict[str, Any], SeatClient, list[SeatClient]]:
    """A session in scoring with ``history`` events; the honest seat and the others."""
    lot = json.loads(LOT.read_text("utf-8"))
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/api/sessions", json=lot, headers=headers) as response,
    ):
        created: dict[str, Any] = await response.json()
    session = created["session"]
    sup = Client(base, session, created["supervisor"][0])
    await sup.connect()
    seats = [SeatClient(base, session, s) for s in created["seats"]]
    for seat in seats:
        await seat.enrol(created["codes"][seat.seat])
        await seat.connect()
    await sup.command({"id": "p1", "type": "phase.advance", "to": "sign_in"})
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    await sup.command({"id": "p2", "type": "phase.advance", "to": "scoring"})
    others = seats[1:]
    made = 0
    while made < history:
        await asyncio.gather(*(s.score("B1", "T1", str(1 + made % 4)) for s in others))
        made += len(others)
        if made % 1050 < len(others):
            log(f"history: {made} events")
            await asyncio.sleep(1.0)  # stay under each seat's command rate
    await sup.disconnect()
    return created, seats[0], others


async def honest_latencies(seat: SeatClient, commands: int) -> list[float]:
    """One score every 50 ms, as a fast expert types: the ack latency of each, in ms."""
    latencies = []
    for n in range(commands):
        started = time.perf_counter()
        await seat.score("B2", "T1", str(1 + n % 4))
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.05)
    return latencies


def rss_mb(pid: int) -> float:
    """A process's resident memory in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def gate_pids(server: int) -> list[int]:
    """The server's head-gate process (``EVALROOM_HEAD_GATE=process``, the default), if any."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == server and b"gate_process" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the attacker --------------------------------------------------------------------------


def attacker_main(port: int, first: int, count: int, seconds: float) -> None:
    """A child process: hold ``count`` half-open connections from 40 addresses, reconnecting.

    At the lowest priority: a real attacker is on other machines, and on this benchmark's two
    cores an attacker at full priority would measure how the kernel shares the CPU, not how the
    server isolates an honest seat. (The kernel's own work for its connections is not niced.)
    """
    os.nice(19)

    async def run() -> None:
        stats = {"opened": 0, "closed_by_server": 0, "failed": 0, "held_max": 0}
        held = 0
        stop = time.monotonic() + seconds

        async def hold(address: str) -> None:
            nonlocal held
            while time.monotonic() < stop:
                try:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", port, local_addr=(address, 0)
                    )
                except OSError:
                    stats["failed"] += 1
                    await asyncio.sleep(0.5)
                    continue
                stats["opened"] += 1
                held += 1
                stats["held_max"] = max(stats["held_max"], held)
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
                with contextlib.suppress(Exception):
                    left = max(0.0, stop - time.monotonic())
                    if await asyncio.wait_for(reader.read(1), left) != b"x":
                        stats["closed_by_server"] += 1
                held -= 1
                writer.close()
                await asyncio.sleep(0.2)

        addresses = [f"127.0.{1 + (first + n) // 250}.{1 + (first + n) % 250}" for n in range(40)]
        per_address = count // len(addresses)
        tasks = []
        for address in addresses:
            for _ in range(per_address):
                tasks.append(asyncio.create_task(hold(address)))
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks, return_exceptions=True)
        print(json.dumps(stats), flush=True)

    asyncio.run(run())


async def start_attackers(port: int, total: int, seconds: float) -> list[Any]:
    """Two attacker processes, each holding half of ``total`` from 40 addresses of its own."""
    half = str(total // 2)
    made = []
    for n in range(2):
        command = ["--attacker", str(port), str(n * 40), half, str(seconds)]
        made.append(
            await asyncio.create_subprocess_exec(
                sys.executable, __file__, *command, stdout=asyncio.subprocess.PIPE, cwd=str(REPO)
            )
        )
    return made


def _ws_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def non_reading_sockets(port: int, tokens: list[str]) -> list[socket.socket]:
    """Sockets that join the live stream and then never read a byte."""
    held = []
    for token in tokens:
        sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.3.1", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        sock.recv(4096)
        sock.sendall(_ws_frame("40" + json.dumps({"token": token})))
        sock.sendall(_ws_frame('421["join",{"after":0}]'))
        held.append(sock)
    return held


async def catch_up_flood(base: str, session: str, token: str, stop: float) -> dict[str, int]:
    """Eight sockets of one token, each with four whole-history syncs in flight, over and over."""
    counts = {"answered": 0, "rate_limited": 0, "events": 0, "snapshots": 0}
    clients = []
    for _ in range(8):
        client = Client(base, session, token)
        await client.sio.connect(base, auth={"token": token}, transports=["websocket"])
        clients.append(client)

    async def flood(client: Client) -> None:
        while time.monotonic() < stop:
            answers = await asyncio.gather(
                *(client.sio.call("sync", {"after": 0}, timeout=60) for _ in range(4)),
                return_exceptions=True,
            )
            for answer in answers:
                if isinstance(answer, dict) and answer.get("ok"):
                    counts["answered"] += 1
                    counts["events"] += len(answer.get("events", ()))
                    counts["snapshots"] += "snapshot" in answer
                elif isinstance(answer, dict):
                    counts["rate_limited"] += answer["error"]["code"] == "rate_limited"
                    await asyncio.sleep(
                        answer["error"].get("details", {}).get("retry_after_ms", 0) / 1000
                    )

    await asyncio.gather(*(flood(c) for c in clients))
    for client in clients:
        with contextlib.suppress(Exception):
            await client.sio.disconnect()
    return counts


def flood_main(base: str, session: str, token: str, seconds: float) -> None:
    """A child process: the catch-up flood, its counts as JSON on stdout."""
    os.nice(19)  # an attacker on another machine: see attacker_main
    stop = time.monotonic() + seconds
    print(json.dumps(asyncio.run(catch_up_flood(base, session, token, stop))), flush=True)


async def start_flood(base: str, session: str, token: str, stop: float) -> Any:
    seconds = str(stop - time.monotonic())
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--flood", base, session, token, seconds,
        stdout=asyncio.subprocess.PIPE, cwd=str(REPO),
    )  # fmt: skip


async def health_checks(base: str, stop: float) -> dict[str, Any]:
    ok, failed, slowest = 0, 0, 0.0
    connector = aiohttp.TCPConnector(local_addr=("127.0.4.1", 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(5)) as r:
                    ok += r.status == 200
                    failed += r.status != 200
            except (aiohttp.ClientError, TimeoutError):
                failed += 1
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.5)
    return {"ok": ok, "failed": failed, "slowest_ms": round(slowest * 1000, 1)}


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="evalroom-abuse-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await start_server(data, port)
    try:
        created, honest, _others = await setup(base, args.history)
        log("baseline: the honest seat alone")
        quiet = CpuShares(
            {"server": [server.pid], "gate": gate_pids(server.pid), "bench": [os.getpid()]}
        )
        baseline = await honest_latencies(honest, args.commands)
        quiet_shares = quiet.shares()
        seconds = args.commands * 0.06 + 30
        attackers = await start_attackers(port, args.half_open, seconds)
        tokens = [created["auditor"]] * 5 + [created["public"]] * 5
        silent = await asyncio.to_thread(non_reading_sockets, port, tokens[: args.non_reading])
        log(f"attack: {args.half_open} half-open, {len(silent)} non-reading, catch-up flood")
        await asyncio.sleep(15)  # let the attackers reach their numbers
        stop = time.monotonic() + args.commands * 0.06 + 2
        flood = (
            await start_flood(base, created["session"], created["supervisor"][1], stop)
            if args.flood
            else None
        )
        health = asyncio.create_task(health_checks(base, stop))
        shares = CpuShares(
            {
                "server": [server.pid],
                "gate": gate_pids(server.pid),
                "attackers": [a.pid for a in attackers],
                "flood": [flood.pid] if flood is not None else [],
                "bench": [os.getpid()],  # the honest seat, the health checks, the silent sockets
            }
        )
        attacked = await honest_latencies(honest, args.commands)
        cpu_shares = shares.shares()
        server_rss_mb = rss_mb(server.pid)
        gate_rss_mb = sum(rss_mb(pid) for pid in gate_pids(server.pid))
        healthz = await health
        flooded = json.loads((await flood.communicate())[0]) if flood is not None else {}
        seen = []
        for process in attackers:
            out, _ = await process.communicate()
            seen.append(json.loads(out.decode().strip().splitlines()[-1]))
        for sock in silent:
            sock.close()
        figures = {
            "commands": args.commands,
            "baseline_p50_ms": round(statistics.median(baseline), 2),
            "baseline_p99_ms": round(p(baseline, 0.99), 2),
            "attacked_p50_ms": round(statistics.median(attacked), 2),
            "attacked_p99_ms": round(p(attacked, 0.99), 2),
            "p99_ratio": round(p(attacked, 0.99) / p(baseline, 0.99), 2),
            "attacked_slowest_ms": [round(x, 1) for x in sorted(attacked)[-5:]],
            "baseline_slowest_ms": [round(x, 1) for x in sorted(baseline)[-5:]],
            "healthz": healthz,
            "half_open_target": args.half_open,
            "half_open_held_max": sum(s["held_max"] for s in seen),
            "half_open_opened": sum(s["opened"] for s in seen),
            "half_open_failed": sum(s["failed"] for s in seen),
            "catch_up_flood": flooded,
            "non_reading": len(silent),
            "server_rss_mb_attacked": server_rss_mb,
            "head_gate": os.environ.get("EVALROOM_HEAD_GATE", "process"),
            "gate_rss_mb_attacked": gate_rss_mb,
            "cpu_share_baseline": quiet_shares,
            "cpu_share_attacked": cpu_shares,
        }
        log(json.dumps(figures, indent=1))
        print(json.dumps(figures, sort_keys=True))
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--attacker":
        attacker_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--flood":
        flood_main(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half-open", type=int, default=20_000)
    parser.add_argument("--commands", type=int, default=600)
    parser.add_argument("--history", type=int, default=3_000)
    parser.add_argument("--non-reading", type=int, default=10, help="sockets that never read")
    parser.add_argument("--no-flood", dest="flood", action="store_false", help="no catch-up flood")
    asyncio.run(main(parser.parse_args()))
