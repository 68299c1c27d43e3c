"""The auditor page (/auditor/{session}, client_web/auditor*.js) in Chromium under the server's CSP.

The session is the sample day of tests/domain/driver.py through a real server (chair rounds, blind
codes and the reveal, a flag explained, a time extension, a rejection voted through, the report
issued and signed with a dissent), so every part of the fold is exercised. The page loads the
whole log with the auditor token; its view at many seqs must equal the domain's fold
(``state_view(fold(events[:n]), auditor)``). Checks go ✓ on real events and ✗ on events tampered
with in flight; the archive file read in the browser gives the same states, verifies whole, and a
copy with one byte of one event changed fails naming that event.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from server.auditlog.canonical import canonical_bytes
from server.domain.events import Event, event_from_bytes
from server.domain.folding import apply_event, fold
from server.domain.roles import Role
from server.domain.state import SessionState
from server.domain.views import Viewer, state_view
from tests.app.conftest import Room, create_session, load_lot
from tests.app.harness import give_draw, send_step
from tests.domain.driver import SEATS, sample_day
from tests.e2e.browser import chromium_page, until

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
# What Evalroom.applyView (client_web/fold.js) maintains for a full-view role.
FOLDED = (
    *("seq", "phase", "lot", "seats", "cells", "committee", "blind", "report", "phase_times"),
    *("paused", "sealed", "rollbacks", "conduct", "inspection"),
    # in the sample day empty from session.created on (tests/e2e/test_fold_browser.py folds
    # every event of these: recusal, replacement, clarification, fees)
    *("replacements", "recusals", "clarifications", "fees", "draw"),
)
DISSENT = "对 B4 的否决有保留意见"


async def _sample_day_with_report(server: str) -> Room:
    """The sample day through the server; the report issued in review and signed (one dissent)."""
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    seats = {seat: await room.seat(seat) for seat in SEATS}
    draw: dict[str, Any] | None = None
    revealed = False
    for n, step in enumerate(sample_day()):
        if step[0] == "staff":
            envelope = step[1]
            if envelope.get("to") == "closed":
                await _issue_and_sign(sup, seats)
            assert (await sup.command({"id": f"staff-{n}", **envelope}))["ok"]
            if envelope.get("to") == "scoring":
                draw = await give_draw(sup, seats.values())
            continue
        _, name, kind, fields = step
        seat = seats[name]
        revealed = revealed or kind == "blind.close"
        ack = await send_step(seat, kind, fields, draw, not revealed)
        assert ack["ok"], ack
    return room


async def _issue_and_sign(sup: Any, seats: dict[str, Any]) -> None:
    ack = await sup.command({"id": "report-1", "type": "report.issue"})
    assert ack["ok"], ack
    for n, seat in enumerate(list(seats.values())[:4]):
        extra = {"dissent": DISSENT} if n == 3 else {}
        signed = seat.signed("report.sign", seat.next_id(), report=ack["report"], **extra)
        assert (await seat.command(signed))["ok"]


async def _get(url: str, token: str | None = None) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        await response.read()
        return response


async def _events(room: Room) -> list[Event]:
    return await _events_after(room, 0)


async def _events_after(room: Room, after: int) -> list[Event]:
    """Every event after ``after`` as the auditor reads it (pages of at most 2,000 from there)."""
    headers = {"Authorization": f"Bearer {room.created['auditor']}"}
    events: list[Event] = []
    async with aiohttp.ClientSession() as http:
        while True:
            url = f"{room.base}/api/sessions/{room.session}/events?after={after + len(events)}"
            async with http.get(url, headers=headers) as response:
                answer = await response.json()
            if "snapshot" in answer:  # far behind: the archive holds them all
                return await _archived_events(room)
            for view in answer["events"]:
                body = {k: v for k, v in view.items() if k != "hash"}
                event = event_from_bytes(canonical_bytes(body))
                assert event.hash.hex() == view["hash"]
                events.append(event)
            if not answer["limited"]:
                return events


async def _archived_events(room: Room) -> list[Event]:
    url = f"{room.base}/api/sessions/{room.session}/archive"
    headers = {"Authorization": f"Bearer {room.created['auditor']}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    lines = archive.read("events.jsonl").split(b"\n")
    events = [event_from_bytes(line) for line in lines if line]
    return events + await _events_after(room, len(events)) if events else events


def _expected_views(events: list[Event], seqs: set[int]) -> dict[int, dict[str, Any]]:
    """``state_view`` for an auditor after the first n events, for each n in ``seqs``."""
    state: SessionState = fold(events[:1])
    views = {}
    for n in range(1, max(seqs) + 1):
        if n > 1:
            apply_event(state, events[n - 1])
        if n in seqs:
            views[n] = json.loads(json.dumps(state_view(state, Viewer(Role.AUDITOR))))
    return views


def _changed_cells(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[str, str]]:
    changed = set()
    for seat in a["cells"].keys() | b["cells"].keys():
        before, after = a["cells"].get(seat, {}), b["cells"].get(seat, {})
        for key in before.keys() | after.keys():
            x, y = before.get(key) or {}, after.get(key) or {}
            if (x.get("value"), x.get("comment")) != (y.get("value"), y.get("comment")):
                changed.add((seat, key))
    return changed


async def _open(page: Page, url: str) -> None:
    await page.goto(url)
    await until(page, "window.evalroomAuditor && window.evalroomAuditor.loaded", 30)


async def _checks(page: Page, seq: int) -> dict[str, Any]:
    results = await page.evaluate(f"window.evalroomAuditor.select({seq})")
    return {r["name"]: r["ok"] for r in results}


async def test_the_state_at_any_seq_equals_the_domain_fold(server: str) -> None:
    room = await _sample_day_with_report(server)
    try:
        events = await _events(room)
        head = len(events)
        kinds = {e.type for e in events}
        assert {"chair.round_ended", "time.extended", "rejection.decided", "report.signed"} <= kinds
        # every event that is not a score, and 30 random seqs besides
        special = {e.seq for e in events if e.type != "score.set"}
        seqs = special | set(random.Random(11).sample(range(1, head + 1), 30)) | {head}
        expected = _expected_views(events, seqs)
        errors: list[str] = []
        async with chromium_page(errors, width=1366, height=768, enforce_csp=True) as page:
            await _open(page, f"{server}/auditor/{room.session}#token={room.created['auditor']}")
            assert await page.evaluate("window.evalroomAuditor.head()") == head
            got = await page.evaluate(
                f"{sorted(seqs)}.map((n) => window.evalroomAuditor.viewAt(n))"
            )
            for n, view in zip(sorted(seqs), got, strict=True):
                want = expected[n]
                for key in FOLDED:
                    # common.js leaves `blind` and `report` out until their first event where the
                    # server's view says null (reported; the same "none" either way).
                    assert view.get(key) == want[key], (n, key, view.get(key), want[key])
            # one event's checks, then the state at the head
            signed = next(e.seq for e in events if e.type == "report.signed")
            checks = await _checks(page, signed)
            assert checks == {
                "leaf": True,
                "signature": True,
                "inclusion": True,
                "checkpoint": True,
            }
            await page.evaluate(f"window.evalroomAuditor.seek({head})")
            # the charts follow the shown seq; the diff of two seqs is the domain's
            await until(page, "document.querySelectorAll('#charts figure.chart').length === 8")
            assert await page.locator("#chart-experts rect").count() == len(SEATS)
            pairs = [sorted(random.Random(k).sample(sorted(seqs), 2)) for k in range(5)]
            for a, b in [*pairs, [1, head]]:
                changed = await page.evaluate(f"window.evalroomAuditor.diff({a}, {b})")
                want_changed = _changed_cells(expected[a], expected[b])
                assert {(d["seat"], d["cell"]) for d in changed} == want_changed, (a, b)
            assert len(want_changed) == 7 * 5 * 7  # from the start to the end: every cell
            assert f"#{a} → #{b}" in (await page.locator("#diff-summary").text_content() or "")
            assert "保留意见" in (await page.locator("#report-signatures").text_content() or "")
            assert "已否决 Rejected" in (await page.locator("#proposals").text_content() or "")
            assert "延时 Time extensions: 1" in (
                await page.locator("#time-ext").text_content() or ""
            )
            verdict = await page.evaluate("window.evalroomAuditor.verify()")
            assert verdict["ok"], verdict["problems"][:5]
            await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "auditor-1366.png"))
            await page.set_viewport_size({"width": 1920, "height": 1080})
            mid = next(e.seq for e in events if e.type == "flag.explained")
            await _checks(page, mid)
            await page.screenshot(path=str(SHOTS / "auditor-1920.png"))
            await page.screenshot(path=str(SHOTS / "auditor-1920-full.png"), full_page=True)
        assert errors == []
    finally:
        await room.close()


def _flip_sig(sig: str) -> str:
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


async def test_checks_pass_on_real_events_and_fail_on_tampered_ones(server: str) -> None:
    room = await _sample_day_with_report(server)
    try:
        events = await _events(room)
        scores = [e for e in events if e.type == "score.set"]
        changed, forged, real = scores[10].seq, scores[20].seq, scores[30].seq
        served = {"first": True}

        async def tamper(route: Route) -> None:
            if served["first"]:  # the first page is refused once: the page waits and asks again
                served["first"] = False
                body = {"ok": False, "error": {"code": "rate_limited", "message": "slow down"}}
                await route.fulfill(status=429, headers={"Retry-After": "1"}, json=body)
                return
            response = await route.fetch()
            answer = await response.json()
            for view in answer["events"]:
                if view["seq"] == changed:
                    view["data"]["value"] = "0" if view["data"]["value"] != "0" else "1"
                elif view["seq"] == forged:
                    view["data"]["sig"] = _flip_sig(view["data"]["sig"])
            await route.fulfill(response=response, json=answer)

        errors: list[str] = []
        async with chromium_page(errors, enforce_csp=True) as page:
            await page.route("**/api/sessions/*/events?after=*", tamper)
            await _open(page, f"{server}/auditor/{room.session}#token={room.created['auditor']}")
            assert served["first"] is False
            real_checks = await _checks(page, real)
            assert real_checks == {
                "leaf": True,
                "signature": True,
                "inclusion": True,
                "checkpoint": True,
            }
            assert await page.locator("#checks li.ok").count() == 4
            assert await _checks(page, changed) == {
                "leaf": False,
                "signature": False,  # the event's value differs from the signed one
                "inclusion": False,
                "checkpoint": True,
            }
            assert "✗" in (
                await page.locator('#checks li[data-check="signature"]').text_content() or ""
            )
            forged_checks = await _checks(page, forged)
            assert forged_checks["signature"] is False
            assert forged_checks["leaf"] is False
            text = await page.locator('#checks li[data-check="signature"]').text_content() or ""
            assert "does not verify" in text
            verdict = await page.evaluate("window.evalroomAuditor.verify()")
            assert not verdict["ok"]
            first = verdict["problems"][0]
            assert (first["kind"], first["item"]) == ("event", f"seq {changed}")
            items = {(p["kind"], p["item"]) for p in verdict["problems"]}
            assert ("signature", f"seq {forged}") in items
            assert ("signature", f"seq {changed}") in items
            assert f"seq {changed}" in (await page.locator("#verify-first").text_content() or "")
        assert errors == []
    finally:
        await room.close()


def _tampered(archive: bytes, seq: int) -> tuple[bytes, str]:
    """The archive re-zipped with one byte of event ``seq`` changed (a digit of its value)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "events.jsonl":
                lines = data.split(b"\n")
                line = lines[seq - 1]
                at = line.index(b'"value":"') + len(b'"value":"')
                digit = b"1" if line[at : at + 1] != b"1" else b"2"
                lines[seq - 1] = line[:at] + digit + line[at + 1 :]
                data = b"\n".join(lines)
            target.writestr(info.filename, data)
    return out.getvalue(), source.read("events.jsonl").split(b"\n")[seq - 1].decode()


async def test_an_archive_file_opens_in_the_browser_and_verifies(
    server: str, tmp_path: Path
) -> None:
    room = await _sample_day_with_report(server)
    try:
        events = await _events(room)
        token = room.created["auditor"]
        url = f"{server}/api/sessions/{room.session}/archive"
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
            assert response.status == 200
            archive = await response.read()
        path = tmp_path / "archive.zip"
        path.write_bytes(archive)
        seqs = [1, 40, 120, len(events) - 5, len(events)]
        errors: list[str] = []
        async with chromium_page(errors, enforce_csp=True) as page:
            await _open(page, f"{server}/auditor/{room.session}#token={token}")
            by_token = await page.evaluate(f"{seqs}.map((n) => window.evalroomAuditor.viewAt(n))")
            await page.goto(f"{server}/auditor")
            await page.set_input_files("#archive-file", str(path))
            await until(page, "window.evalroomAuditor.loaded", 30)
            assert await page.evaluate("window.evalroomAuditor.source") == "archive"
            by_file = await page.evaluate(f"{seqs}.map((n) => window.evalroomAuditor.viewAt(n))")
            assert by_file == by_token
            checks = await _checks(page, 40)
            assert checks == {
                "leaf": True,
                "signature": True,
                "inclusion": True,
                "checkpoint": True,
            }
            verdict = await page.evaluate("window.evalroomAuditor.verify()")
            assert verdict["ok"], verdict["problems"][:5]
            assert verdict["counts"]["events"] == len(events)
            assert verdict["counts"]["expert signatures"] > 200
            assert verdict["counts"]["files"] >= 5
            assert await page.locator("#verify-verdict").get_attribute("data-ok") == "true"

            # CSV of the filtered list and of the sheets at the shown seq
            await page.select_option("#filter-type", "score.set")
            async with page.expect_download() as download_info:
                await page.click("#csv-events")
            rows = (await (await download_info.value).path()).read_text("utf-8-sig").splitlines()
            assert len(rows) == 1 + sum(e.type == "score.set" for e in events)
            async with page.expect_download() as download_info:
                await page.click("#csv-sheets")
            sheet = (await (await download_info.value).path()).read_text("utf-8-sig").splitlines()
            assert len(sheet) == 1 + 7 * 5 * 7  # seats × bidders × typed criteria

            scores = [e for e in events if e.type == "score.set"]
            target = scores[5].seq
            bad, _line = _tampered(archive, target)
            (tmp_path / "bad.zip").write_bytes(bad)
            await page.reload()
            await page.set_input_files("#archive-file", str(tmp_path / "bad.zip"))
            await until(page, "window.evalroomAuditor.loaded", 30)
            verdict = await page.evaluate("window.evalroomAuditor.verify()")
            assert not verdict["ok"]
            first = verdict["problems"][0]
            assert (first["kind"], first["item"]) == ("event", f"seq {target}")
            items = {(p["kind"], p["item"]) for p in verdict["problems"]}
            assert ("file", "events.jsonl") in items  # and its SHA-256 is not manifest.json's
            assert f"seq {target}" in (await page.locator("#verify-first").text_content() or "")
            assert (await _checks(page, target))["leaf"] is False
        assert errors == []
    finally:
        await room.close()
    await asyncio.sleep(0)


async def _long_scoring_log(server: str, rescores: int) -> tuple[Room, dict[str, Any]]:
    """A session in scoring whose seats re-score one cell ``rescores`` times each (no blind part).

    Returns the room and the seat clients, still connected.
    """
    lot = load_lot()
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    seats = {seat: await room.seat(seat) for seat in room.created["seats"]}
    assert (await sup.command({"id": "p1", "type": "phase.advance", "to": "sign_in"}))["ok"]
    await asyncio.gather(*(seat.sign_in() for seat in seats.values()))
    assert (await sup.command({"id": "p2", "type": "phase.advance", "to": "scoring"}))["ok"]

    async def rescore(seat: Any) -> None:
        for n in range(rescores):
            assert (await seat.score("B1", "T1", str(n % 10)))["ok"]

    await asyncio.gather(*(rescore(seat) for seat in seats.values()))
    return room, seats


@pytest.mark.slow
async def test_a_log_longer_than_a_page_loads_page_by_page_and_follows_live(
    server: str,
) -> None:
    """``GET …/events`` pages a long log (never a snapshot over HTTP): the page reads every
    page with the token, then follows new events live."""
    room, seats = await _long_scoring_log(server, 300)
    try:
        events = await _events_after(room, 0)
        head = len(events)
        assert head > 2000
        errors: list[str] = []
        async with chromium_page(errors, enforce_csp=True) as page:
            await _open(page, f"{server}/auditor/{room.session}#token={room.created['auditor']}")
            assert await page.evaluate("window.evalroomAuditor.head()") >= head
            assert "审计令牌" in (await page.locator("#source").text_content() or "")
            want = _expected_views(events, {head})[head]
            got = await page.evaluate(f"window.evalroomAuditor.viewAt({head})")
            assert {k: got.get(k) for k in FOLDED} == {k: want[k] for k in FOLDED}
            assert await _checks(page, head - 50) == {
                "leaf": True,
                "signature": True,
                "inclusion": True,
                "checkpoint": True,
            }
            await until(page, "window.evalroomAuditor.live()", 15)
            await page.evaluate(f"window.evalroomAuditor.seek({head})")  # at the head: it follows
            seat = next(iter(seats.values()))
            for value in ("4", "5", "6"):
                assert (await seat.score("B2", "T2", value))["ok"]
            await until(page, f"window.evalroomAuditor.head() === {head + 3}", 15)
            await until(page, f"document.getElementById('seq-input').value === '{head + 3}'")
            assert "B2/T2 = 6" in (await page.locator("#seq-event").text_content() or "")
            verdict = await page.evaluate("window.evalroomAuditor.verify()")
            assert verdict["ok"], verdict["problems"][:5]
        assert errors == []
    finally:
        await room.close()
