"""The expert draw's target: 7 experts + 3 reserves from a pool of 10,000 in <= 50 ms, and the
verifier's recomputation identical.

Measured in one run, each figure the median of ``--rounds`` rounds with a fresh seed:
- ``parse_ms``: parsing and hashing the pool document (what the node does when the admin opens
  the draw, and the verifier when it reads ``draw/<sha256>.json``);
- ``draw_ms``: :func:`server.domain.draw.select` over the parsed pool (eligibility, the stream,
  the per-specialty shuffles, the seats);
- ``verify_ms``: the verifier's whole recomputation (parse + hash + select + commitments);
- ``baseline_ms``: sorting the pool's ids, the cheapest pass over every expert, so that
  ``draw_ratio`` (draw / baseline) reads the same on a slow or a busy machine.
``identical`` is whether every round's verifier outcome equals the node's. The last line printed
is one JSON object.

    .venv/bin/python bench/draw.py --pool 10000 --rounds 21
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.client.expert_pool import sample_pool, sample_rules
from server.domain.draw import outcome_json, parse_pool, parse_rules, select

SEATS = ("host-1", "host-2", "host-3", "host-4", "guest-1-1", "guest-1-2", "guest-2-1")
BIDDERS = ("山东鲁建水务工程有限公司", "济宁市政建设集团有限公司")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def run(pool_size: int, rounds: int) -> dict[str, Any]:
    document = sample_pool(pool_size, seed=11)
    rules = parse_rules(sample_rules(), len(SEATS), BIDDERS)
    figures: dict[str, list[float]] = {"parse": [], "draw": [], "verify": [], "baseline": []}
    identical = True
    for n in range(rounds):
        seed = n.to_bytes(32, "big")
        start = time.perf_counter()
        sorted(e["id"] for e in document["experts"])
        figures["baseline"].append(_ms(start))
        start = time.perf_counter()
        pool = parse_pool(document)
        figures["parse"].append(_ms(start))
        start = time.perf_counter()
        outcome = select(pool, rules, seed, SEATS)
        figures["draw"].append(_ms(start))
        node = outcome_json(outcome, seed.hex())
        start = time.perf_counter()
        again = parse_pool(json.loads(pool.raw))
        recomputed = outcome_json(select(again, rules, seed, SEATS), seed.hex())
        figures["verify"].append(_ms(start))
        identical &= recomputed == node and again.hash == pool.hash
    medians = {f"{k}_ms": round(statistics.median(v), 2) for k, v in figures.items()}
    return {
        "pool": pool_size,
        "members": len(SEATS),
        "reserves": sum(n.reserves for n in rules.needs),
        "rounds": rounds,
        **medians,
        "draw_ratio": round(medians["draw_ms"] / medians["baseline_ms"], 1),
        "identical": identical,
        "target_draw_ms": 50,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    print(json.dumps(run(args.pool, args.rounds), ensure_ascii=False))


if __name__ == "__main__":
    main()
