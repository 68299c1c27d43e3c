"""Auditor page benchmark (issue 11): seeking, loading and verifying a long log in Chromium.

Builds an ``evalroom-archive/1`` zip of N events (default 100,000: the demo lot's seven seats
enrol, sign in, then re-score their sheets over and over with real Ed25519 signatures; a
checkpoint signed every 100 events, as the node does), serves the page from a real node on
loopback and opens the archive with the page's file input (read in the browser), under the
server's Content-Security-Policy at 1366x768. Figures:

- ``load_s``: file chosen until the log is folded and shown (zip read, inflate, parse, fold);
- ``seek_*_ms``: ``evalroomAuditor.seek(n)`` to random seqs, the fold from the nearest kept view
  plus the render, and a forced layout (measured in the page around the call); ``seek_page_*``
  is the page's own figure without the layout; ``drag_p95_ms`` is consecutive small steps
  forward (a slider dragged), which fold on from the shown view;
- baseline ``full_fold_ms``: one fold of the whole log from the empty view with the same
  ``Evalroom.applyView``, what every seek would cost without the kept views;
- ``select_first_ms`` / ``select_p50_ms``: one event's checks (leaf hash, signature, inclusion
  proof from the archive's leaves: the first builds the tree's levels);
- ``verify_s``: the whole verification in the browser, with ``verify_ok``.

    .venv/bin/python bench/ui_auditor.py [--events 100000] [--seeks 200]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from server.auditlog.archive_write import write_archive  # noqa: E402
from server.auditlog.merkle import CompactRange, leaf_hash  # noqa: E402
from server.auditlog.note import NoteSigner, checkpoint_body, sign_note  # noqa: E402
from server.domain.lot import parse_lot  # noqa: E402
from tests.app.conftest import load_lot, running_node  # noqa: E402
from tests.e2e.browser import chromium_page, until  # noqa: E402

SESSION = "s-bench0auditor"
SHOTS = Path(tempfile.gettempdir()) / "shots"
NODE = "evalroom.bench"
T0 = 1_795_000_000_000
SEEK = """(n) => { const t0 = performance.now(); window.evalroomAuditor.seek(n);
  document.body.getBoundingClientRect(); void document.body.offsetHeight;
  return performance.now() - t0; }"""
FULL_FOLD = """() => { const A = window.evalroomAuditor; const t0 = performance.now();
  const v = A.viewAt(0);
  for (const ev of A.log().events) Evalroom.applyView(v, ev, null);
  return performance.now() - t0; }"""


def dumps(value: Any) -> bytes:
    # Plain str/int values: json.dumps with these options is exactly canonical_bytes.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Session:
    """Yields the event bytes of a long session and signs a checkpoint every 100 events."""

    def __init__(self, total: int) -> None:
        raw = load_lot()
        for criterion in raw["criteria"]:
            criterion.pop("blind", None)  # scored by bidder id from the start
        self.lot = parse_lot(raw)
        self.total = total
        self.node = NoteSigner(NODE, Ed25519PrivateKey.generate())
        self.seats = {s: Ed25519PrivateKey.generate() for s in self._seat_ids()}
        self.notes: list[str] = []
        self.tree = CompactRange()
        self.rng = random.Random(7)
        self.t = T0
        self.cmd = 0

    def _seat_ids(self) -> list[str]:
        return [seat for venue in self.lot.venues for seat in venue.seat_ids()]

    def _signed(self, seat: str, kind: str, **fields: Any) -> dict[str, Any]:
        self.cmd += 1
        body = {"cmd": f"{seat}-{self.cmd}", "seat": seat, "session": SESSION, "t": self.t}
        signed = dumps({**body, "type": kind, **fields}).decode()
        sig = self.seats[seat].sign(signed.encode())
        return {"seat": seat, **fields, "signed": signed, "sig": base64.b64encode(sig).decode()}

    def _scores(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        cells = self.lot.typed_cells()
        while True:
            for seat in self.seats:
                bidder, criterion_id = cells[self.rng.randrange(len(cells))]
                criterion = self.lot.criterion(criterion_id)
                assert criterion is not None
                assert criterion.step is not None
                steps = int((criterion.max - criterion.min) / criterion.step)
                value = criterion.min + criterion.step * self.rng.randint(steps // 3, steps)
                text = format(value.normalize(), "f")
                fields = {"bidder": bidder, "criterion": criterion_id, "value": text}
                yield "score.set", f"expert:{seat}", self._signed(seat, "score.set", **fields)

    def _steps(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        seats = list(self.seats)
        yield "session.created", "admin:admin", {"lot": dict(self.lot.raw), "seats": seats}
        for seat, key in self.seats.items():
            public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
            yield (
                "seat.enrolled",
                f"expert:{seat}",
                {"seat": seat, "key": {"public": public, "scheme": "ed25519"}},
            )
        yield "phase.changed", "supervisor:sup-1", {"from": "prepared", "to": "sign_in"}
        for seat in seats:
            pledge = {"pledge": "evalroom-pledge-v1"}
            yield (
                "expert.signed_in",
                f"expert:{seat}",
                self._signed(seat, "expert.sign_in", **pledge),
            )
        yield "phase.changed", "supervisor:sup-1", {"from": "sign_in", "to": "scoring"}
        tail = len(seats) + 2
        scores = self._scores()
        for _ in range(self.total - 2 * len(seats) - 3 - tail):
            yield next(scores)
        for seat in seats:
            cells = len(self.lot.typed_cells())
            yield (
                "sheet.submitted",
                f"expert:{seat}",
                self._signed(seat, "sheet.submit", cells=cells),
            )
        yield "phase.changed", "supervisor:sup-1", {"from": "scoring", "to": "review"}
        yield "phase.changed", "supervisor:sup-1", {"from": "review", "to": "closed"}

    def events(self) -> Iterator[bytes]:
        for seq, (kind, actor, data) in enumerate(self._steps(), start=1):
            self.t += self.rng.randint(20, 900)
            body = {"v": 1, "session": SESSION, "seq": seq, "t": self.t, "type": kind}
            raw = dumps({**body, "actor": actor, "data": data})
            self.tree.append(leaf_hash(raw))
            if seq % 100 == 0 or seq == self.total:
                body_text = checkpoint_body(f"{NODE}/{SESSION}", seq, self.tree.root())
                self.notes.append(sign_note(body_text, self.node))
            yield raw


def build(path: Path, total: int) -> int:
    session = Session(total)
    events = list(session.events())
    with path.open("wb") as out:
        info = write_archive(
            out,
            session=SESSION,
            origin=f"{NODE}/{SESSION}",
            node_key=session.node.verifier_key(),
            witness_keys=[],
            events=events,
            notes=session.notes,
            created_ms=session.t + 1000,
        )
    return info.events


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of ``values`` (nearest rank), rounded to 0.01."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def measure(base: str, archive: Path, head: int, seeks: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"events": head}
    errors: list[str] = []
    rng = random.Random(3)
    async with chromium_page(errors, 1366, 768, enforce_csp=True) as page:
        await page.goto(f"{base}/auditor")
        started = time.perf_counter()
        await page.set_input_files("#archive-file", str(archive))
        await until(page, "window.evalroomAuditor.loaded", 600)
        figures["load_s"] = round(time.perf_counter() - started, 2)
        assert await page.evaluate("window.evalroomAuditor.head()") == head
        await page.evaluate("window.evalroomAuditor.seekTimes.length = 0")
        seek = [await page.evaluate(SEEK, rng.randint(1, head)) for _ in range(seeks)]
        own = await page.evaluate("window.evalroomAuditor.seekTimes.slice()")
        figures.update(
            seek_p50_ms=percentile(seek, 0.5),
            seek_p95_ms=percentile(seek, 0.95),
            seek_max_ms=percentile(seek, 1),
        )
        figures.update(
            seek_page_p50_ms=percentile(own, 0.5), seek_page_p95_ms=percentile(own, 0.95)
        )
        start = rng.randint(1, head - 2000)
        drag = [await page.evaluate(SEEK, start + 7 * i) for i in range(200)]
        figures["drag_p95_ms"] = percentile(drag, 0.95)
        figures["full_fold_ms"] = round(await page.evaluate(FULL_FOLD), 1)
        selects = []
        for _ in range(6):
            t0 = time.perf_counter()
            await page.evaluate("(n) => window.evalroomAuditor.select(n)", rng.randint(1, head))
            selects.append((time.perf_counter() - t0) * 1000)
        figures["select_first_ms"] = round(selects[0], 1)
        figures["select_p50_ms"] = round(statistics.median(selects[1:]), 1)
        checks = await page.evaluate("window.evalroomAuditor.lastChecks.results.map(r => r.ok)")
        figures["select_checks"] = checks
        verdict = await page.evaluate("window.evalroomAuditor.verify()")
        figures.update(verify_s=round(verdict["seconds"], 1), verify_ok=verdict["ok"])
        figures["verify_counts"] = verdict["counts"]
        await page.screenshot(path=str(SHOTS / "auditor-bench-1366.png"))
    figures["page_errors"] = errors
    return figures


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "archive.zip"
        started = time.perf_counter()
        head = build(archive, args.events)
        print(f"built {head} events in {time.perf_counter() - started:.1f} s", flush=True)
        SHOTS.mkdir(exist_ok=True)
        size = archive.stat().st_size
        async with running_node(Path(folder) / "node") as base:
            figures = await measure(base, archive, head, args.seeks)
    figures["archive_bytes"] = size
    for key in ("load_s", "seek_p95_ms", "drag_p95_ms", "full_fold_ms", "verify_s"):
        print(f"{key}: {figures[key]}", flush=True)
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seeks", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
