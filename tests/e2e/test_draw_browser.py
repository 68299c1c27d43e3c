"""The expert draw (专家抽取) from browsers only, under the server's Content-Security-Policy.

The admin creates a session on the home page and opens the draw over a pool file of 300 experts
and a rules file (the sample lot's); the three venues commit their shares on their draw pages
(``/draw/{session}#token=…`` from the home page's links) and the supervisors on the console;
every page reveals by itself once all have committed, the node makes the draw, every page says
the experts are drawn, and the admin's notice names the seven members and three reserves. The
commitments in the log are the ones of the shares the pages kept; client_web/fold.js folds the
draw's events to the server's state view for a venue, the public screen and a supervisor.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from server.auditlog.canonical import canonical_bytes
from server.client.expert_pool import sample_pool, sample_rules
from server.client.seat import Client
from tests.app.conftest import ADMIN, DEMO_LOT_PATH
from tests.e2e.browser import another_page, chromium_page, confirm, until
from tests.e2e.test_home_browser import get_json, watch

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
VENUES = ("host", "guest-1", "guest-2")
LINKS = """[...document.querySelectorAll('#draw-links tbody tr')].map((r) => [
  r.dataset.participant, r.querySelector('a').href])"""
STAGE = "document.getElementById('draw-panel').dataset.stage"
FOLD = """(events) => { const view = { seq: 0 };
  for (const e of events) Evalroom.applyView(view, e, null); return view.draw; }"""


@pytest.fixture(autouse=True)
def _shots_dir() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


async def create_on_home(page: Page, server: str) -> str:
    """Create a session of the demo lot from the home page; its id."""
    await page.goto(f"{server}/")
    await page.fill("#admin-token", ADMIN)
    await page.set_input_files("#lot-file", DEMO_LOT_PATH)
    await until(page, "document.getElementById('lot-summary').textContent.includes('席位')")
    await page.click("#create-button")
    await until(page, "!document.getElementById('draw').hidden")
    return await page.text_content("#sheet-session") or ""


async def open_draw(page: Page, pool: Path, rules: Path) -> None:
    """Choose the pool and rules files on the home page and open the draw (confirmed)."""
    await page.set_input_files("#pool-file", str(pool))
    await until(page, "document.getElementById('pool-summary').textContent.includes('300 位专家')")
    await page.set_input_files("#rules-file", str(rules))
    await until(page, "document.getElementById('draw-rules').value.includes('微山县')")
    await page.click("#draw-open")
    await confirm(page)
    await until(page, "document.getElementById('draw-result').textContent.includes('seq #')")


async def commit_share(page: Page) -> None:
    """Commit this page's share: the button, then 确定 in the confirmation."""
    await until(page, "document.getElementById('conn').className === 'online'")
    await until(page, "!document.getElementById('draw-commit').hidden")
    await until(page, "!document.getElementById('draw-commit').disabled")
    await page.click("#draw-commit")
    await confirm(page)


def commitment(session: str, participant: str, share: str) -> str:
    body = {"participant": participant, "session": session, "share": share}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


async def kept_share(page: Page, session: str, participant: str) -> dict[str, Any] | None:
    text = await page.evaluate(f"localStorage.getItem('evalroom.draw/{session}/{participant}')")
    return None if text is None else json.loads(text)


def files(tmp_path: Path) -> tuple[Path, Path]:
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps(sample_pool(300), ensure_ascii=False, indent=1), "utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(sample_rules(), ensure_ascii=False, indent=2), "utf-8")
    return pool, rules


async def open_draw_over_http(server: str, session: str) -> dict[str, Any]:
    """Open the draw as the admin over the API (sample pool of 300, sample rules)."""
    body = {"pool": sample_pool(300), "rules": sample_rules()}
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server}/api/sessions/{session}/draw", json=body, headers=headers) as response,
    ):
        answer: dict[str, Any] = await response.json()
    assert response.status == 201, answer
    return answer


class HeadlessShare:
    """A participant's share committed and revealed by a headless socket.io client."""

    def __init__(self, server: str, session: str, participant: str, token: str) -> None:
        self.client = Client(server, session, token)
        self.session = session
        self.participant = participant
        self.share = secrets.token_hex(32)

    async def commit(self) -> None:
        await self.client.connect()
        envelope = {"id": f"commit-{self.participant}", "type": "draw.commit"}
        envelope["commitment"] = commitment(self.session, self.participant, self.share)
        await self.client.command(envelope)

    async def reveal(self) -> None:
        envelope = {"id": f"reveal-{self.participant}", "type": "draw.reveal", "share": self.share}
        await self.client.command(envelope)
        await self.client.disconnect()


async def check_fold(page: Page, server: str, session: str, token: str) -> None:
    """fold.js over the log as ``token`` reads it gives the server's state view of the draw."""
    status, read = await get_json(f"{server}/api/sessions/{session}/events?after=0", token)
    assert status == 200, read
    assert not read["limited"]
    _, state = await get_json(f"{server}/api/sessions/{session}/state", token)
    assert await page.evaluate(FOLD, read["events"]) == state["state"]["draw"]


async def test_the_draw_is_made_from_the_pages_and_the_notice_names_the_members(
    server: str, tmp_path: Path
) -> None:
    pool_file, rules_file = files(tmp_path)
    errors: list[str] = []
    blocked: list[list[str]] = []  # Chromium's reports of content the CSP blocked, per page
    async with chromium_page(errors, 1366, 900, enforce_csp=True) as home:
        blocked.append(watch(home)[1])
        session = await create_on_home(home, server)
        assert json.loads(await home.input_value("#draw-rules"))["specialties"][0]["count"] == 7
        links: dict[str, str] = dict(await home.evaluate(LINKS))
        assert set(links) == {*VENUES, "supervisor"}
        for link in links.values():
            assert link.startswith(f"{server}/draw/{session}#token=v1.")

        # a venue's page before the draw is opened
        venues: dict[str, Page] = {}
        for venue in VENUES:
            venues[venue] = await another_page(home, errors, 1366, 768)
            blocked.append(watch(venues[venue])[1])
            await venues[venue].goto(links[venue])
        await until(venues["host"], f"{STAGE} === 'none'")
        assert "尚未发起" in (await venues["host"].text_content("#draw-state") or "")

        # cancelling the confirmation opens nothing
        await home.set_input_files("#pool-file", str(pool_file))
        await until(home, "document.getElementById('pool-summary').textContent.includes('300')")
        await home.click("#draw-open")
        await home.click("dialog.confirm button[value=no]")
        # rules whose counts miss the lot's seven seats: the server's reason, in both languages
        wrong = sample_rules()
        wrong["specialties"][0]["count"] = 2
        await home.fill("#draw-rules", json.dumps(wrong, ensure_ascii=False))
        await home.click("#draw-open")
        await confirm(home)
        await until(home, "document.getElementById('draw-open-error').dataset.code === 'malformed'")
        said = await home.text_content("#draw-open-error") or ""
        assert "请求格式不正确 Malformed request" in said
        assert "7 seats" in said
        await open_draw(home, pool_file, rules_file)
        await until(home, "document.getElementById('draw-progress').dataset.stage === 'commit'")

        for venue, page in venues.items():
            await commit_share(page)
            await until(
                page,
                f"document.querySelector('#draw-participants tr[data-participant=\"{venue}\"]')"
                ".dataset.committed === 'yes'",
            )
            kept = await kept_share(page, session, venue)
            assert kept is not None
            assert kept["commitment"] == commitment(session, venue, kept["share"])
        await until(venues["guest-2"], f"{STAGE} === 'commit'")
        assert "3 / 4" in (await venues["guest-2"].text_content("#draw-state") or "")
        # a reload keeps the share (it reveals it below); another device holds none
        await venues["guest-1"].reload()
        await until(venues["guest-1"], f"{STAGE} === 'commit'")
        own = await venues["guest-1"].text_content("#draw-own") or ""
        assert "各方均提交后本页自动公开" in own
        other = await another_page(home, errors, 1366, 768)
        await other.goto(links["host"])
        await until(other, "document.getElementById('draw-own').textContent.includes('其他设备')")
        assert await other.locator("#draw-commit").is_hidden()
        await other.close()

        sup_token = links["supervisor"].split("#token=", 1)[1]
        console = await another_page(home, errors, 1920, 1080)
        blocked.append(watch(console)[1])
        await console.goto(f"{server}/supervisor/{session}#token={sup_token}")
        await until(console, "!document.getElementById('draw-section').hidden")
        await commit_share(console)

        # every page reveals by itself; the node makes the draw after the last share
        for page in [*venues.values(), console]:
            await until(page, f"{STAGE} === 'made'", 30)
            assert "专家已抽定" in (await page.text_content("#draw-state") or "")
        for venue, page in venues.items():
            assert await kept_share(page, session, venue) is None  # public in the log now
        facts = await console.text_content("#draw-facts") or ""
        assert "种子 Seed" in facts
        assert "7 名委员 members + 3 名候补 reserves" in facts
        await venues["host"].screenshot(path=str(SHOTS / "draw-page.png"), full_page=True)
        await console.locator("#draw-section").screenshot(path=str(SHOTS / "draw-console.png"))

        # the log holds the commitments of the shares revealed, one per participant
        _, log = await get_json(f"{server}/api/sessions/{session}/events?after=0", sup_token)
        draws = [e for e in log["events"] if e["type"].startswith("draw.")]
        committed = {
            e["data"]["participant"]: e["data"]["commitment"]
            for e in draws
            if e["type"] == "draw.committed"
        }
        revealed = {
            e["data"]["participant"]: e["data"]["share"]
            for e in draws
            if e["type"] == "draw.revealed"
        }
        assert set(committed) == set(revealed) == {*VENUES, "supervisor"}
        for who, share in revealed.items():
            assert committed[who] == commitment(session, who, share)
        assert draws[-1]["type"] == "draw.made"

        # the admin's notice: seven seats with names from the pool, three reserves
        await until(home, "!document.getElementById('notice-button').hidden", 30)
        await home.click("#notice-button")
        await until(home, "!document.getElementById('notice').hidden")
        seats = await home.eval_on_selector_all(
            "#notice-members tbody tr", "rows => rows.map(r => r.dataset.seat)"
        )
        _, lot_seats = await get_json(f"{server}/api/sessions/{session}/state", sup_token)
        assert seats == list(lot_seats["state"]["seats"])
        assert len(seats) == 7
        status, notice = await get_json(f"{server}/api/sessions/{session}/draw/notice", ADMIN)
        assert status == 200, notice
        names = await home.eval_on_selector_all(
            "#notice-members .notice-name", "cells => cells.map(c => c.textContent)"
        )
        assert names == [m["name"] for m in notice["members"]]
        pool_names = {e["id"]: e["name"] for e in sample_pool(300)["experts"]}
        assert all(pool_names[m["expert"]] == m["name"] for m in notice["members"])
        assert await home.locator("#notice-reserves tbody tr").count() == 3
        assert "保密" in (await home.text_content("#notice") or "")
        await home.locator("#notice").screenshot(path=str(SHOTS / "draw-notice.png"))
        # nobody's name reaches a venue's page
        host_html = await venues["host"].content()
        assert not any(m["name"] in host_html for m in notice["members"])

        # printing the notice prints it alone
        await home.evaluate("document.body.classList.add('print-notice')")
        await home.emulate_media(media="print")
        assert await home.locator("#notice").is_visible()
        assert await home.locator("#sheet").is_hidden()
        assert await home.locator("#draw").is_hidden()

        for token in (links["host"].split("#token=", 1)[1], sup_token):
            await check_fold(venues["host"], server, session, token)
    assert errors == []
    assert [report for page in blocked for report in page] == []
