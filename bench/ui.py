"""Browser benchmark (issue 11): how fast the pages are for the people using them.

A real node on loopback (SQLite in a temporary directory) and headless Debian Chromium:

- ``seat_interactive_ms``: an enrolled seat in ``scoring`` reloaded; from navigation start to the
  sheet's first cell enabled with the socket online (p50 over the reloads). Baseline in the same
  run: a static file's load event (``static_load_ms``, the stylesheet), for the ratio.
- ``seat_to_supervisor_p50_ms`` / ``_p95_ms``: a score typed at the seat (the change event) until
  the supervisor's page shows the seat's progress moved. Baseline: the same score's ack at the
  seat (the cell says 已保存 saved), ``seat_ack_p50_ms``.
- ``auditor_seek_p50_ms`` / ``_p95_ms``: the auditor page's seek to a random seq of a
  100,000-event archive opened in the page (bench/ui_auditor.py builds it and measures; every
  ``auditor_*`` figure is its own). Baseline: one fold of the whole log in the same page,
  ``auditor_full_fold_ms``, what a seek would cost without the views the page keeps.

    .venv/bin/python bench/ui.py [--reloads 15] [--scores 40] [--auditor-events 100000]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ui_auditor  # noqa: E402
from tests.app.conftest import Room, advance, create_session, load_lot, running_node  # noqa: E402
from tests.e2e.browser import another_page, chromium_page, until  # noqa: E402
from tests.e2e.seat_steps import enrol_and_sign_in  # noqa: E402

# Set in the page before its scripts run: when the sheet first became usable.
INTERACTIVE_PROBE = """
(() => {
  const poll = () => {
    const input = document.querySelector('#grid input[data-cell]');
    const conn = document.getElementById('conn');
    if (input && !input.disabled && conn && conn.className === 'online') {
      window.__interactiveMs = performance.now();
      return;
    }
    setTimeout(poll, 2);
  };
  poll();
})();
"""

# In the supervisor page: the time (Date.now) the seat's progress cell first reads "N / ".
WATCH_PROGRESS = """([seat, n]) => new Promise((resolve) => {
  const seen = () => {
    const row = document.querySelector(`#seats tr[data-seat="${seat}"]`);
    const cell = row && row.querySelector('td.progress');
    return cell && cell.textContent.startsWith(`${n} /`);
  };
  if (seen()) { resolve(Date.now()); return; }
  const observer = new MutationObserver(() => {
    if (seen()) { observer.disconnect(); resolve(Date.now()); }
  });
  const what = {childList: true, subtree: true, characterData: true};
  observer.observe(document.getElementById('seats'), what);
})"""

# In the seat page: type a value in a cell, return when the change was dispatched and when the
# cell said saved.
TYPE_SCORE = """([key, value]) => new Promise((resolve) => {
  const input = document.querySelector(`input[data-cell="${key}"]`);
  const state = document.querySelector(`[data-state-for="${key}"]`);
  input.value = value;
  const sent = Date.now();
  input.dispatchEvent(new Event('change'));
  const poll = () => {
    if (state.textContent.includes('已保存')) resolve([sent, Date.now()]);
    else setTimeout(poll, 1);
  };
  setTimeout(poll, 1);
})"""


async def _seat_in_scoring(base: str, page: Any) -> tuple[Room, str]:
    lot = load_lot()
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)  # every cell in the named grid: one kind of cell to time
    room = Room(base, await create_session(base, lot), lot)
    sup = await room.supervisor(1)
    seat = str(room.created["seats"][0])
    others = [await room.seat(s) for s in room.created["seats"][1:]]
    await advance(sup, "sign_in")
    await enrol_and_sign_in(page, base, room.session, seat, room.created["codes"][seat], others)
    await advance(sup, "scoring")
    return room, seat


async def _static_load(page: Any, base: str, times: int) -> float:
    loads = []
    for _ in range(times):
        await page.goto(f"{base}/client/style.css")
        loads.append(
            await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        )
    return statistics.median(loads)


async def measure(base: str, reloads: int, scores: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with chromium_page(None, 1366, 768, enforce_csp=True) as page:
        room, seat = await _seat_in_scoring(base, page)
        await page.add_init_script(INTERACTIVE_PROBE)
        interactive = []
        for _ in range(reloads):
            await page.reload()
            await until(page, "window.__interactiveMs !== undefined", 30)
            interactive.append(await page.evaluate("window.__interactiveMs"))
        static = await _static_load(await another_page(page, None, 800, 600), base, reloads)
        figures["seat_interactive_ms"] = round(statistics.median(interactive), 1)
        figures["seat_interactive_p95_ms"] = ui_auditor.percentile(interactive, 0.95)
        figures["static_load_ms"] = round(static, 1)
        figures["seat_interactive_ratio"] = round(statistics.median(interactive) / static, 2)

        sup = await another_page(page, None, 1920, 1080)
        await sup.goto(f"{base}/supervisor/{room.session}#token={room.created['supervisor'][0]}")
        await until(sup, "document.getElementById('conn').className === 'online'", 30)
        await until(page, "!document.querySelector('#grid input[data-cell]').disabled", 30)
        keys: list[str] = await page.eval_on_selector_all(
            "#grid input[data-cell]", "xs => xs.map(x => x.dataset.cell)"
        )
        shown, acked = [], []
        for n, key in enumerate(keys[:scores], start=1):
            seen = asyncio.ensure_future(sup.evaluate(WATCH_PROGRESS, [seat, n]))
            await asyncio.sleep(0.05)  # the observer is in place before the score is typed
            typed = page.evaluate(TYPE_SCORE, [key, "3"])  # valid in every criterion here
            sent, saved = await asyncio.wait_for(typed, 30)
            shown.append(await asyncio.wait_for(seen, 30) - sent)
            acked.append(saved - sent)
        figures["seat_to_supervisor_p50_ms"] = ui_auditor.percentile(shown, 0.5)
        figures["seat_to_supervisor_p95_ms"] = ui_auditor.percentile(shown, 0.95)
        figures["seat_ack_p50_ms"] = ui_auditor.percentile(acked, 0.5)
        figures["seat_to_supervisor_ratio"] = round(
            statistics.median(shown) / max(1.0, statistics.median(acked)), 2
        )
        figures["scores"] = len(shown)

    return figures


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as data:
        async with running_node(Path(data) / "node") as base:
            figures = await measure(base, args.reloads, args.scores)
            if args.auditor_events:
                archive = Path(data) / "archive.zip"
                head = await asyncio.to_thread(ui_auditor.build, archive, args.auditor_events)
                auditor = await ui_auditor.measure(base, archive, head, args.seeks)
                figures.update({f"auditor_{k}": v for k, v in auditor.items()})
                figures["auditor_seek_p95_ms"] = auditor["seek_p95_ms"]
                figures["auditor_seek_ratio"] = round(
                    auditor["seek_p95_ms"] / max(0.1, auditor["full_fold_ms"]), 2
                )
    for key in ("seat_interactive_ms", "seat_to_supervisor_p95_ms", "auditor_seek_p95_ms"):
        print(f"{key}: {figures.get(key)}", flush=True)
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reloads", type=int, default=15)
    parser.add_argument("--scores", type=int, default=40)
    parser.add_argument("--auditor-events", type=int, default=100_000, help="0: skip the auditor")
    parser.add_argument("--seeks", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
