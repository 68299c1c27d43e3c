"""Random mutations of a real closed session's archive: does ``evalroom verify`` catch each one and
name what was touched?

A node on loopback runs a whole simulated session to its close and an auditor downloads the
archive (``tests/auditlog/closed_archive.py``: 7 seats, a chair, blind scoring, no witness, no
media). Beside it, the test suite's archive (``build_session``: a witness cosigning, an issued
report two members sign, a recording logged after the close). Mutations alternate between the
two; ``--mutations N`` random mutations from
``tests/auditlog/mutations.py`` (byte flips in any member, deleted members, the log cut back to
each earlier checkpoint with every unsigned file rewritten by the project's own writer, events
dropped or reordered, signatures swapped or stripped, a report signature removed from the
listing, files slipped in) are each zipped and verified with the node key pinned. The last line
printed is one JSON object: mutations, caught, missed, unnamed (caught, but no problem names the
touched item), and counts per kind.

    .venv/bin/python bench/archive_mutations.py --mutations 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.auditlog.archive import verify_archive
from server.auditlog.verify import Report
from tests.auditlog.closed_archive import closed_session_archive
from tests.auditlog.mutations import Mutation, members_of, mutate, rezip
from tests.auditlog.test_archive_verify import build_session


def named(report: Report, mutation: Mutation) -> bool:
    """Whether some problem names one of the items the mutation touched."""
    return any(
        name in problem.item or name in problem.message
        for problem in report.problems
        for name in mutation.names
    )


def run(
    archives: dict[str, tuple[dict[str, bytes], str]], count: int, seed: int, folder: Path
) -> dict[str, Any]:
    """Apply ``count`` mutations, alternating between ``archives``, and tally the verdicts."""
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    per_archive: dict[str, Counter[str]] = {name: Counter() for name in archives}
    kinds: Counter[str] = Counter()
    examples: list[str] = []
    path = folder / "mutated.zip"
    names = sorted(archives)
    for index in range(count):
        which = names[index % len(names)]
        members, node_key = archives[which]
        mutation = mutate(rng, members)
        kinds[mutation.kind.split(" ")[0]] += 1
        path.write_bytes(rezip(mutation.members))
        report = verify_archive(path, node_key)
        verdict = "missed" if report.ok else "caught"
        per_archive[which][verdict] += 1
        tally[verdict] += 1
        if report.ok:
            examples.append(f"missed ({which}): {mutation.kind}")
        elif not named(report, mutation):
            tally["unnamed"] += 1
            per_archive[which]["unnamed"] += 1
            problems = "; ".join(f"{p.kind} {p.item}: {p.message}" for p in report.problems[:3])
            examples.append(f"unnamed ({which}): {mutation.kind} -> {problems}")
    for line in examples[:20]:
        print(line)
    return {
        "mutations": count,
        "caught": tally["caught"],
        "missed": tally["missed"],
        "unnamed": tally["unnamed"],
        "archives": {name: dict(sorted(c.items())) for name, c in per_archive.items()},
        "kinds": dict(sorted(kinds.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        data, node_key = asyncio.run(closed_session_archive(folder / "node"))
        built = time.perf_counter() - start
        (folder / "archive.zip").write_bytes(data)
        clean = verify_archive(folder / "archive.zip", node_key)
        if not clean.ok:
            raise SystemExit(f"the clean archive does not verify: {clean.problems}")
        print(
            f"real archive: {len(data):,} bytes, {clean.counts['events']} events, "
            f"{clean.counts['checkpoints']} checkpoints, built in {built:.1f} s; "
            f"{'; '.join(clean.statements)}"
        )
        suite = build_session(report=True, scores_per_seat=4, every=4)
        (folder / "suite.zip").write_bytes(suite.data)
        if not verify_archive(folder / "suite.zip", suite.node_key).ok:
            raise SystemExit("the test suite's archive does not verify")
        archives = {"real": (members_of(data), node_key), "suite": (suite.members, suite.node_key)}
        start = time.perf_counter()
        figures = run(archives, args.mutations, args.seed, folder)
        figures["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
