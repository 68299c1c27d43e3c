"""The public screen (候标区大屏) in Chromium at 1920x1080, under the server's CSP, for a session
driven through every phase by headless seats.

At each phase the page's whole DOM (``document.documentElement.outerHTML``) is checked:

* no bidder name, bidder id, blind code (of ``blind.assigned``), seat id or expert name, each as
  a whole token, and no event type (the raw log is not shown);
* no score: score values are short numbers ("8", "7.5") that a clock or a count may contain
  innocently, so the check is stricter than a search for them. Every text with a digit must sit in
  one of a few known elements (clock, date, elapsed time, counts, percentages, step numbers,
  milestone times, project code) and match that element's strict format, and every attribute with
  a digit must be a ``<progress>`` value or max; so no score can be anywhere on the page;
* the only ``data-*`` attributes are the body's ``data-phase`` and ``data-paused`` (yes or no).

The phase shown must be the session's, the bars reach 100% at the close, and a screen opened
after the close shows the scoring time taken from the log's event times. Screenshots go to
/tmp/shots/public-<phase>.png.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from server.client.seat import Client, SeatClient
from server.client.simulate import sample_value
from server.domain.lot import parse_lot
from tests.app.conftest import advance, create_session, load_lot
from tests.e2e.browser import chromium_page, until

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
LABELS = {
    "prepared": "准备 Prepared",
    "sign_in": "签到 Sign-in",
    "scoring": "评分 Scoring",
    "review": "复核 Review",
    "closed": "结束 Closed",
}
EVENT_TYPES = ("session.created", "phase.changed", "score.set", "blind.assigned", "seat.enrolled")
CLOCK = r"\d{2}:\d{2}:\d{2}"
# Where a digit may appear, by the innermost element's id or class, and in what shape.
DIGIT_TEXT = {
    "clock": re.compile(CLOCK),
    "date": re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 星期[日一二三四五六]"),
    "elapsed": re.compile(r"\d+:\d{2}:\d{2}"),
    "count": re.compile(r"\d+ / \d+"),
    "pct": re.compile(r"\d{1,3}%"),
    "step-no": re.compile(r"[1-5]"),
    "ms-time": re.compile(r"\d{2}:\d{2}"),
}
DIGIT_ATTRS = {("progress", "max"), ("progress", "value")}
# The page's own head, the same on every load.
STATIC_ATTRS = {
    ("meta", "charset", "utf-8"),
    ("meta", "content", "width=device-width, initial-scale=1"),
}


class ScreenDom(HTMLParser):
    """Digits and ``data-*`` attributes where the page may not have them, as ``problems``."""

    def __init__(self, project_code: str) -> None:
        super().__init__()
        self.project_code = project_code
        self.problems: list[str] = []
        self.stack: list[tuple[str, str, str]] = []  # the open elements: (tag, id, class)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in found.items():
            flag = name in ("data-paused", "data-sealed") and value in ("yes", "no")
            body_state = name == "data-phase" or flag
            if name.startswith("data-") and not (tag == "body" and body_state):
                self.problems.append(f"<{tag} {name}={value!r}>: no data attributes")
            digit = value is not None and any(ch.isdigit() for ch in value)
            allowed = (tag, name) in DIGIT_ATTRS or (tag, name, value) in STATIC_ATTRS
            if digit and not allowed:
                self.problems.append(f"<{tag} {name}={value!r}>: a digit in an attribute")
        if tag not in ("meta", "link", "br", "img", "input"):  # void elements never close
            self.stack.append((tag, found.get("id") or "", found.get("class") or ""))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if not any(ch.isdigit() for ch in text):
            return
        tag, ident, classes = self.stack[-1] if self.stack else ("", "", "")
        if ident == "project-code" and text == self.project_code:
            return
        for name in (ident, *classes.split()):
            if name in DIGIT_TEXT and DIGIT_TEXT[name].fullmatch(text):
                return
        self.problems.append(f"<{tag} id={ident!r} class={classes!r}> {text!r}: unexpected digits")


@dataclass
class Secrets:
    """What the public screen must never show, gathered from the lot and the full log."""

    names: set[str]  # bidder and expert names: plain substrings
    tokens: set[str]  # bidder ids, blind codes, seat ids: whole tokens
    scores: set[str]  # every score value sent (kept out by the digit rules above)


def check_screen(html: str, secrets: Secrets, project_code: str) -> list[str]:
    """Everything on the page that it must not show (empty when the page is clean)."""
    problems = [f"name {n!r}" for n in secrets.names if n in html]
    for token in secrets.tokens:
        if re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", html):
            problems.append(f"token {token!r}")
    problems += [f"event type {t!r}" for t in EVENT_TYPES if t in html]
    # The digit rules keep every score out; a decimal one is distinctive enough to look for too.
    problems += [f"score {v!r}" for v in secrets.scores if "." in v and v in html]
    dom = ScreenDom(project_code)
    dom.feed(html)
    dom.close()
    return problems + dom.problems


def _count(bar: str, done: int, total: int) -> str:
    return f"document.querySelector('#bar-{bar} .count').textContent === '{done} / {total}'"


async def _auditor_events(base: str, session: str, token: str) -> list[dict[str, Any]]:
    url = f"{base}/api/sessions/{session}/events?after=0"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
    assert not answer["limited"]
    events: list[dict[str, Any]] = answer["events"]
    return events


@dataclass
class Drive:
    """The session driven by headless clients, one step at a time (as simulate.py does it)."""

    base: str
    created: dict[str, Any]
    lot_json: dict[str, Any]
    seats: list[SeatClient] = field(default_factory=list)
    supervisor: Client | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    async def enrol(self) -> None:
        session = self.created["session"]
        self.supervisor = Client(self.base, session, self.created["supervisor"][0])
        await self.supervisor.connect()
        for seat in self.created["seats"]:
            client = SeatClient(self.base, session, seat)
            await client.enrol(self.created["codes"][seat])
            await client.connect()
            self.seats.append(client)

    async def advance(self, to: str) -> None:
        assert self.supervisor is not None
        await advance(self.supervisor, to)

    async def score(self, blind_part: bool) -> int:
        """Every seat fills its blind cells (by its codes) or the rest; the count filled."""
        lot = parse_lot(self.lot_json)
        bidders = [b.id for b in lot.bidders]

        async def sheet(seat: SeatClient) -> int:
            filled = 0
            for bidder, criterion_id in lot.typed_cells():
                criterion = lot.criterion(criterion_id)
                assert criterion is not None
                assert criterion.step is not None
                blind = criterion_id in seat.blind_criteria and bool(seat.codes)
                if blind != blind_part:
                    continue
                value = sample_value(self.rng, criterion.min, criterion.max, criterion.step)
                if criterion.kind == "objective":
                    value = format(criterion.max.normalize(), "f")
                target = seat.codes[bidders.index(bidder)] if blind else bidder
                await seat.score(target, criterion_id, value)
                filled += 1
            return filled

        return sum(await asyncio.gather(*(sheet(seat) for seat in self.seats)))

    async def close(self) -> None:
        for client in [*self.seats, *([self.supervisor] if self.supervisor else [])]:
            if client.sio.connected:
                await client.disconnect()


async def _secrets(base: str, created: dict[str, Any], lot: dict[str, Any]) -> Secrets:
    events = await _auditor_events(base, created["session"], created["auditor"])
    scores = {e["data"]["value"] for e in events if e["type"] == "score.set"}
    codes = {
        pair[0]
        for e in events
        if e["type"] == "blind.assigned"
        for pairs in e["data"]["seats"].values()
        for pair in pairs
    }
    experts = [p.get("name") for p in lot.get("experts", []) if isinstance(p, dict)]
    names = {b["name"] for b in lot["bidders"]} | {n for n in experts if n}
    tokens = {b["id"] for b in lot["bidders"]} | codes | set(created["seats"])
    return Secrets(names, tokens, scores)


async def _shoot(page: Page, phase: str, base: str, created: dict[str, Any]) -> None:
    """The phase shown is ``phase``; the DOM shows nothing secret; a screenshot is saved."""
    lot = load_lot()
    await until(page, f"document.body.dataset.phase === '{phase}'")
    assert await page.locator("#phase").text_content() == LABELS[phase]
    current = await page.locator(".step.current .step-zh").all_text_contents()
    assert current == [LABELS[phase].split(" ")[0]]
    secrets = await _secrets(base, created, lot)
    html = await page.evaluate("document.documentElement.outerHTML")
    assert check_screen(html, secrets, lot["project"]["code"]) == [], phase
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"public-{phase}.png"))


async def test_public_screen_follows_every_phase_and_shows_nothing_secret(server: str) -> None:
    lot = load_lot()
    created = await create_session(server, lot)
    session = created["session"]
    seats = len(created["seats"])
    cells = seats * len(parse_lot(lot).typed_cells())
    url = f"{server}/public/{session}#token={created['public']}"
    drive = Drive(server, created, lot)
    errors: list[str] = []
    try:
        async with chromium_page(errors, width=1920, height=1080, enforce_csp=True) as page:
            await page.emulate_media(reduced_motion="reduce")  # bars drawn at once: screenshots
            await page.goto(url)
            await until(page, "document.getElementById('conn').className === 'online'")
            # online is the socket; the view comes with the join's answer, a moment later
            await until(page, "document.getElementById('project-name').textContent !== '—'")
            assert await page.locator("#project-name").text_content() == lot["project"]["name"]
            await drive.enrol()
            await until(page, _count("enrolled", seats, seats))
            await _shoot(page, "prepared", server, created)

            await drive.advance("sign_in")
            half = drive.seats[: seats // 2 + 1]
            await asyncio.gather(*(seat.sign_in() for seat in half))
            await until(page, _count("signedIn", len(half), seats))
            await _shoot(page, "sign_in", server, created)
            await asyncio.gather(*(seat.sign_in() for seat in drive.seats[len(half) :]))
            chair = drive.seats[0]
            await asyncio.gather(*(seat.vote_chair(1, chair.seat) for seat in drive.seats))

            await drive.advance("scoring")
            for seat in drive.seats:
                await seat.state()  # its blind codes, in its own order
            blind_cells = await drive.score(blind_part=True)
            await until(page, _count("cells", blind_cells, cells))
            elapsed = await page.locator("#elapsed").text_content()
            assert re.fullmatch(r"0:0\d:\d{2}", elapsed or ""), elapsed
            await _shoot(page, "scoring", server, created)  # codes only: the blind part is open
            # a pause shows that the evaluation stopped, never why
            assert drive.supervisor is not None
            reason = "专家甲身份存疑"
            pause = {"id": "pause-1", "type": "session.pause", "reason": reason}
            await drive.supervisor.command(pause)
            await until(page, "document.body.dataset.paused === 'yes'")
            assert "暂停" in (await page.locator("#phase").text_content() or "")
            html = await page.evaluate("document.documentElement.outerHTML")
            assert reason not in html
            await drive.supervisor.command({"id": "resume-1", "type": "session.resume"})
            await until(page, "document.body.dataset.paused === 'no'")
            await chair.close_blind()
            await drive.score(blind_part=False)
            await asyncio.gather(*(seat.submit() for seat in drive.seats))
            await until(page, _count("submitted", seats, seats))

            await drive.advance("review")
            await _shoot(page, "review", server, created)  # after the reveal
            await drive.advance("closed")
            await _shoot(page, "closed", server, created)
            pcts = await page.locator(".pct").all_text_contents()
            assert pcts == ["100%"] * 4
            full = "[...document.querySelectorAll('progress')].every((p) => p.value === p.max)"
            assert await page.evaluate(full)
            assert await page.locator("#bar-cells .count").text_content() == f"{cells} / {cells}"
            assert "评分用时" in (await page.locator("#elapsed-label").text_content() or "")

            # a screen opened later (here: reloaded) takes the scoring time from the events' times
            await page.reload()
            await until(page, "document.body.dataset.phase === 'closed'")
            events = await _auditor_events(server, session, created["auditor"])
            changed = {e["data"]["to"]: e["t"] for e in events if e["type"] == "phase.changed"}
            took = (changed["review"] - changed["scoring"]) // 1000
            shown = f"{took // 3600}:{took // 60 % 60:02d}:{took % 60:02d}"
            assert await page.locator("#elapsed").text_content() == shown
            milestones = await page.locator("#events li .ms-label").all_text_contents()
            assert milestones == ["创建 Created", *(LABELS[p] for p in list(LABELS)[1:])]
    finally:
        await drive.close()
    assert errors == []
