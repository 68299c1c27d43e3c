"""Audit benchmark: build an N-event session archive, then time its verification, single core.

Figures, each against a raw baseline measured in the same run on the same bytes:
* hashes + tree: the verifier's streaming pass (leaf hash, leaves.txt compare, RFC 6962 tree,
  roots at every checkpoint) vs bare ``hashlib.sha256(0x00 || line)`` over the same lines;
* signatures: the verifier's per-signature check (parse signed payload, bindings, key lookup,
  Ed25519 verify) vs bare ``cryptography`` ``Ed25519PublicKey.verify`` over the same tuples;
* inclusion proofs at N: generation from a level cache and verification, and the proof length;
* the whole ``verify_archive`` on the zip (decompression, every check).
The last line printed is one JSON object.

    .venv/bin/python bench/audit.py --events 1000000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from server.auditlog.archive import verify_archive  # noqa: E402
from server.auditlog.archive_write import write_archive  # noqa: E402
from server.auditlog.merkle import (  # noqa: E402
    CompactRange,
    inclusion_proof_from,
    verify_inclusion,
)
from server.auditlog.note import (  # noqa: E402
    SIG_COSIGNATURE_V1,
    NoteSigner,
    add_signature_lines,
    checkpoint_body,
    cosign,
    sign_note,
)
from server.auditlog.verify import LogWalk, Report, check_signed, needed_subtrees  # noqa: E402

SESSION = "bench-session"
ORIGIN = "evalroom.bench/bench-session"
T0 = 1_790_000_000_000


def dumps(value: Any) -> bytes:
    # Plain str/int values: json.dumps with these options is exactly canonical_bytes.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Generator:
    """Yields event bytes of a realistic session and signs a checkpoint every ``every`` events."""

    def __init__(self, events: int, seats: int, every: int) -> None:
        self.total, self.every = events, every
        self.node = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
        self.witness = NoteSigner("witness.bench/w1", Ed25519PrivateKey.generate())
        self.seats = {f"s{i}": Ed25519PrivateKey.generate() for i in range(1, seats + 1)}
        self.notes: list[str] = []
        self.tree = CompactRange()
        self.rng = random.Random(7)

    def _steps(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        lot = {"id": "lot-1", "bidders": [f"B{i}" for i in range(1, 9)], "criteria": ["c1", "c2"]}
        yield "session.created", "supervisor", {"lot": lot, "seats": sorted(self.seats)}
        for seat, key in self.seats.items():
            public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
            yield "seat.enrolled", "system", {"seat": seat, "key": public}
        yield "phase.changed", "supervisor", {"from": "setup", "to": "scoring"}
        names = list(self.seats)
        for n in range(self.total - len(self.seats) - 3):
            seat = names[n % len(names)]
            cell = {"bidder": f"B{self.rng.randint(1, 8)}", "criterion": f"c{n % 2 + 1}"}
            value = f"{self.rng.randint(0, 100)}.{self.rng.randint(0, 9)}"
            payload = {"type": "score.set", "session": SESSION, "seat": seat, "cmd": f"{seat}-{n}"}
            raw = dumps({**payload, "t": T0 + n, **cell, "value": value})
            sig = base64.b64encode(self.seats[seat].sign(raw)).decode()
            proof = {"signed": raw.decode(), "sig": sig}
            yield "score.set", f"expert:{seat}", {"seat": seat, **cell, "value": value, **proof}
        yield "phase.changed", "supervisor", {"from": "scoring", "to": "review"}

    def events(self) -> Iterator[bytes]:
        for seq, (kind, actor, data) in enumerate(self._steps(), start=1):
            body = {"v": 1, "session": SESSION, "seq": seq, "t": T0 + seq, "type": kind}
            raw = dumps({**body, "actor": actor, "data": data})
            self.tree.append(hashlib.sha256(b"\x00" + raw).digest())
            if seq % self.every == 0 or seq == self.total:
                body_text = checkpoint_body(ORIGIN, seq, self.tree.root())
                note = sign_note(body_text, self.node)
                line = cosign(body_text, self.witness, (T0 + seq) // 1000)
                self.notes.append(add_signature_lines(note, [line]))
            yield raw


def build(path: Path, events: int, seats: int, every: int) -> Generator:
    gen = Generator(events, seats, every)
    with path.open("wb") as out:
        write_archive(
            out,
            session=SESSION,
            origin=ORIGIN,
            node_key=gen.node.verifier_key(),
            witness_keys=[gen.witness.verifier_key(SIG_COSIGNATURE_V1)],
            events=gen.events(),
            notes=(note for note in gen.notes),  # lazy: filled while the events stream
            created_ms=T0 + 10 * events,
        )
    return gen


def bare_sha256(blob: bytes) -> tuple[int, float]:
    """Leaf-hash every line and nothing else, reading the same 1 MiB chunks the verifier reads."""
    start = time.perf_counter()
    sha, stream, rest, count = hashlib.sha256, io.BytesIO(blob), b"", 0
    while chunk := stream.read(1 << 20):
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            sha(b"\x00" + line).digest()
        count += len(lines)
    return count, time.perf_counter() - start


def bench_tree(events_blob: bytes, leaves_blob: bytes, sizes: list[int]) -> dict[str, float]:
    """The verifier's hashes + tree pass vs bare SHA-256 over the same lines, same chunking."""
    count, before = bare_sha256(events_blob)
    start = time.perf_counter()
    report = Report()
    walk = LogWalk(report, SESSION, sizes, semantics=False)
    walk.run(io.BytesIO(events_blob), io.BytesIO(leaves_blob))
    ours = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"the generated archive does not verify: {report.problems[:3]}")
    raw = (before + bare_sha256(events_blob)[1]) / 2  # before and after: drift hits both alike
    return {
        "tree_seconds": ours,
        "tree_events_per_s": walk.count / ours,
        "sha256_seconds": raw,
        "sha256_events_per_s": count / raw,
        "tree_vs_sha256": raw / ours,
    }


def bench_signatures(events_blob: bytes, sample: int) -> dict[str, float]:
    """The verifier's per-signature check vs bare Ed25519 verify over the same tuples."""
    parsed, keys = [], {}
    for line in events_blob.split(b"\n", sample + 20)[: sample + 20]:
        if not line:
            continue
        body = json.loads(line)
        if body["type"] == "seat.enrolled":
            raw_key = base64.b64decode(body["data"]["key"])
            keys[body["data"]["seat"]] = Ed25519PublicKey.from_public_bytes(raw_key)
        elif "signed" in body["data"]:
            parsed.append((body["type"], body["data"]))
    tuples = [
        (keys[d["seat"]], base64.b64decode(d["sig"]), d["signed"].encode()) for _, d in parsed
    ]
    # Alternate blocks of the two loops so load from other processes hits both alike.
    ours = raw = 0.0
    for begin in range(0, len(parsed), 100):
        start = time.perf_counter()
        for kind, data in parsed[begin : begin + 100]:
            if check_signed(SESSION, kind, data, keys):
                raise SystemExit("a signature failed")
        middle = time.perf_counter()
        for key, sig, message in tuples[begin : begin + 100]:
            key.verify(sig, message)
        ours, raw = ours + middle - start, raw + time.perf_counter() - middle
    n = len(parsed)
    return {
        "signatures": n,
        "sig_per_s": n / ours,
        "raw_sig_per_s": n / raw,
        "sig_vs_raw": raw / ours,
    }


def bench_inclusion(leaves_blob: bytes, proofs: int) -> dict[str, float]:
    """Inclusion proofs at full size from a per-level hash cache (what a store would keep)."""
    leaves = [bytes.fromhex(x) for x in leaves_blob.decode().split()]
    size = len(leaves)
    start = time.perf_counter()
    levels = [b"".join(leaves)]
    while len(levels[-1]) > 32:
        row = levels[-1]
        levels.append(
            b"".join(
                hashlib.sha256(b"\x01" + row[i : i + 64]).digest()
                for i in range(0, len(row) - 63, 64)
            )
        )
    cache_seconds = time.perf_counter() - start

    def subtree(begin: int, end: int) -> bytes:
        level = (end - begin).bit_length() - 1
        at = (begin >> level) * 32
        return levels[level][at : at + 32]

    tree = CompactRange()
    tree.extend(leaves)
    root = tree.root()
    rng = random.Random(3)
    indexes = [rng.randrange(size) for _ in range(proofs)]
    start = time.perf_counter()
    made = [inclusion_proof_from(subtree, i, size) for i in indexes]
    generate = time.perf_counter() - start
    start = time.perf_counter()
    for i, proof in zip(indexes, made, strict=True):
        verify_inclusion(leaves[i], i, size, proof, root)
    check = time.perf_counter() - start
    return {
        "inclusion_generate_per_s": proofs / generate,
        "inclusion_verify_per_s": proofs / check,
        "inclusion_proof_max_hashes": max(len(p) for p in made),
        "level_cache_seconds": cache_seconds,
    }


def measure_append_with_checkpoints(args: argparse.Namespace) -> dict[str, Any] | None:
    """The committer's throughput with the audit trail against without it (bench/append_cost.py)."""
    if args.append_commands <= 0:
        return None
    import asyncio

    from bench.append_cost import main_async

    cost_args = argparse.Namespace(
        commands=args.append_commands, inflight=64, rounds=args.append_rounds, database_url=None
    )
    result: dict[str, Any] = asyncio.run(main_async(cost_args))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seats", type=int, default=7)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--signature-sample", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the archive at this path")
    parser.add_argument("--append-commands", type=int, default=3000, help="0 skips append cost")
    parser.add_argument("--append-rounds", type=int, default=6)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "archive.zip"
        start = time.perf_counter()
        gen = build(path, args.events, args.seats, args.checkpoint_every)
        figures: dict[str, Any] = {
            "events": args.events,
            "checkpoints": len(gen.notes),
            "build_seconds": time.perf_counter() - start,
            "archive_bytes": path.stat().st_size,
        }
        print(
            f"built {args.events:,} events, {len(gen.notes):,} checkpoints, "
            f"{figures['archive_bytes'] / 1e6:.0f} MB in {figures['build_seconds']:.1f} s"
        )
        with zipfile.ZipFile(path) as zf:
            events_blob, leaves_blob = zf.read("events.jsonl"), zf.read("leaves.txt")
        sizes = [int(n.split("\n")[1]) for n in gen.notes]
        figures["needed_subtrees"] = len(needed_subtrees(sizes))
        figures |= bench_tree(events_blob, leaves_blob, sizes)
        print(
            f"hashes+tree: {figures['tree_seconds']:.2f} s, {figures['tree_events_per_s']:,.0f} "
            f"events/s; bare sha256 {figures['sha256_events_per_s']:,.0f}/s; "
            f"ratio {figures['tree_vs_sha256']:.2f}"
        )
        figures |= bench_signatures(events_blob, args.signature_sample)
        print(
            f"signatures: {figures['sig_per_s']:,.0f}/s vs bare Ed25519 "
            f"{figures['raw_sig_per_s']:,.0f}/s; ratio {figures['sig_vs_raw']:.2f} "
            f"({figures['signatures']:,} signatures)"
        )
        figures |= bench_inclusion(leaves_blob, args.proofs)
        print(
            f"inclusion proofs at {args.events:,}: generate "
            f"{figures['inclusion_generate_per_s']:,.0f}/s, verify "
            f"{figures['inclusion_verify_per_s']:,.0f}/s, at most "
            f"{figures['inclusion_proof_max_hashes']} hashes"
        )
        del events_blob, leaves_blob
        start = time.perf_counter()
        report = verify_archive(path, allow_open=True)  # a generated log without the close
        figures["verify_archive_seconds"] = time.perf_counter() - start
        figures["verify_archive_ok"] = report.ok
        print(
            f"verify_archive (everything): {figures['verify_archive_seconds']:.1f} s, "
            f"ok={report.ok}, {report.counts}"
        )
        figures["append_with_checkpoints"] = measure_append_with_checkpoints(args)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
