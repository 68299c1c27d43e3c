"""What the audit trail costs the committer: commit throughput with and without it, same run.

The baseline is the foundation's pipeline (signature check, decide, group commit, durable SQLite
or PostgreSQL transaction) with the audit trail switched off: no subtree hashes stored and no
checkpoints signed. The measured run is the real committer: every append stores its completed
subtrees and a signed checkpoint is written every 100 events (and at least every second). Both
runs push the same signed score commands through ``Committer.submit`` with ``--inflight``
commands outstanding, alternating baseline and audit (ABBA, each on a fresh database) for
``--rounds`` rounds so drift hits both; the medians are compared.

    .venv/bin/python bench/append_cost.py [--commands 3000] [--database-url URL]

Prints figures and, last, one JSON object; ``cost`` = 1 - audit/baseline throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from server.app.committer import Committer  # noqa: E402
from server.app.notary import Notary  # noqa: E402
from server.auditlog.canonical import canonical_bytes  # noqa: E402
from server.auditlog.merkle import CompactRange  # noqa: E402
from server.domain.commands import AdvancePhase, CreateSession, Enrol, SignedCommand  # noqa: E402
from server.domain.roles import Principal, Role  # noqa: E402
from server.store import audit  # noqa: E402
from server.store.engine import migrate, open_engine  # noqa: E402

LOT = json.loads((ROOT / "server" / "app" / "demo-lot.json").read_text("utf-8"))


def _signed(key: Ed25519PrivateKey, session: str, seat: str, kind: str, cmd: str, **fields: Any):
    raw = canonical_bytes(
        {"type": kind, "session": session, "seat": seat, "cmd": cmd, "t": 1, **fields}
    )
    return SignedCommand(kind, raw.decode(), base64.b64encode(key.sign(raw)).decode())


class _AuditOff:
    """Switch the audit trail off for the baseline (restored on exit)."""

    def __enter__(self) -> None:
        self._nodes = audit.node_rows
        self._append = CompactRange.append_nodes

        def no_nodes(*_args: Any) -> list[Any]:
            return []

        def cheap_append(tree: CompactRange, leaf: bytes) -> list[Any]:
            tree._size += 1
            return []

        audit.node_rows = no_nodes  # type: ignore[assignment]
        CompactRange.append_nodes = cheap_append  # type: ignore[method-assign]

    def __exit__(self, *_exc: object) -> None:
        audit.node_rows = self._nodes  # type: ignore[assignment]
        CompactRange.append_nodes = self._append  # type: ignore[method-assign]


async def _run(url: str, commands: int, inflight: int, with_audit: bool) -> dict[str, float]:
    engine = open_engine(url)
    await migrate(engine)
    clock = itertools.count(1_700_000_000_000)
    notary = Notary("bench.local", Ed25519PrivateKey.generate())
    checkpoints = 0

    async def on_checkpoint(_c: Any) -> None:
        nonlocal checkpoints
        checkpoints += 1

    async def on_commit(*_args: Any) -> None:
        return None

    committer = Committer(
        engine,
        lambda: next(clock),
        on_commit,
        notary.sign_checkpoint if with_audit else None,
        on_checkpoint,
    )
    await committer.start()
    session = f"bench-{with_audit}-{time.monotonic_ns()}"
    admin = Principal(Role.ADMIN, session, "admin")
    first = await committer.create_session(admin, CreateSession(LOT), {})
    seats: list[str] = first.data["seats"]
    keys = {seat: Ed25519PrivateKey.generate() for seat in seats}
    sup = Principal(Role.SUPERVISOR, session, "sup-1")
    for seat in seats:
        public = keys[seat].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        await committer.submit(
            Principal(Role.EXPERT, session, seat), "enrol", Enrol(base64.b64encode(public).decode())
        )
    await committer.submit(sup, "p1", AdvancePhase("sign_in"))
    for seat in seats:
        cmd = _signed(
            keys[seat], session, seat, "expert.sign_in", "si", pledge="evalroom-pledge-v1"
        )
        await committer.submit(Principal(Role.EXPERT, session, seat), "si", cmd)
    await committer.submit(sup, "p2", AdvancePhase("scoring"))
    work = []
    for n in range(commands):
        seat = seats[n % len(seats)]
        cmd = _signed(
            keys[seat],
            session,
            seat,
            "score.set",
            f"c{n}",
            bidder="B1",
            criterion="T1",
            value=str(n % 10),
        )
        work.append((Principal(Role.EXPERT, session, seat), f"c{n}", cmd))
    limit = asyncio.Semaphore(inflight)

    async def one(item: tuple[Principal, str, SignedCommand]) -> None:
        async with limit:
            await committer.submit(*item)

    started = time.perf_counter()
    await asyncio.gather(*(one(item) for item in work))
    elapsed = time.perf_counter() - started
    await committer.stop()
    await engine.dispose()
    return {"per_s": commands / elapsed, "seconds": elapsed, "checkpoints": checkpoints}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    base, full = [], []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            # ABBA order on fresh database files, so neither side always runs first or warm.
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for with_audit in order:
                name = f"r{round_}-{'audit' if with_audit else 'base'}.db"
                url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / name}"
                if with_audit:
                    full.append(await _run(url, args.commands, args.inflight, with_audit=True))
                else:
                    with _AuditOff():
                        base.append(await _run(url, args.commands, args.inflight, False))
            print(
                f"round {round_ + 1}: baseline {base[-1]['per_s']:.0f}/s, "
                f"audit {full[-1]['per_s']:.0f}/s ({full[-1]['checkpoints']:.0f} checkpoints)",
                flush=True,
            )
    baseline = statistics.median(r["per_s"] for r in base)
    audited = statistics.median(r["per_s"] for r in full)
    result = {
        "commands": args.commands,
        "inflight": args.inflight,
        "rounds": args.rounds,
        "database": "postgresql" if args.database_url else "sqlite",
        "baseline_commits_per_s": round(baseline, 1),
        "audit_commits_per_s": round(audited, 1),
        "throughput_ratio": round(audited / baseline, 3),
        "cost": round(1 - audited / baseline, 3),
        "checkpoints_per_run": full[-1]["checkpoints"],
    }
    print(
        f"append with checkpoints: {audited:.0f}/s vs {baseline:.0f}/s without the audit trail "
        f"(cost {result['cost']:.1%}, target <= 10%)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
