"""The supervisor's console in Chromium: venue names, rejection proposals approved and declined,
the phase moved with a confirmation, a pause and its resume, the blind part closed, results
provisional until every sheet is in, the report issued; seven headless seats play the committee.
Read back from the log.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from server.client.seat import ClientError
from tests.app.conftest import Room, create_session, load_lot
from tests.e2e.browser import chromium_page, confirm, until
from tests.e2e.seat_steps import events_by_type, session_log
from tests.e2e.test_seat_committee import SHOTS, _score_all

if TYPE_CHECKING:
    from playwright.async_api import Page


def _rollback(rollback: str) -> str:
    return f"document.querySelector('#console-rollbacks tr[data-rollback=\"{rollback}\"]')"


def _row(proposal: str) -> str:
    return f"document.querySelector('#console-proposals tr[data-proposal=\"{proposal}\"]')"


async def _advance(page: Page, phase_zh: str) -> None:
    await until(page, "!document.getElementById('advance-button').disabled")
    await page.click("#advance-button")
    await confirm(page)
    await until(page, f"document.getElementById('phase').textContent.includes('{phase_zh}')")


pytestmark = pytest.mark.browser


async def test_the_supervisor_runs_the_committees_steps_from_the_console(server: str) -> None:
    lot = {**load_lot(), "inspection": {}}  # the default thresholds: these seats score fast
    room = Room(server, await create_session(server, lot), lot)
    await room.supervisor(1)  # reads the log (room.clients[0])
    seats = [await room.seat(s) for s in room.created["seats"]]
    token = room.created["supervisor"][0]
    errors: list[str] = []
    async with chromium_page(errors, 1920, 1080, enforce_csp=True) as page:
        await page.goto(f"{server}/supervisor/{room.session}#token={token}")
        await until(page, "document.getElementById('conn').className === 'online'")
        venue = lot["venues"][2]["name"]
        await until(page, f"document.getElementById('seats').textContent.includes('{venue}')")

        # a phase moves only after the confirmation; cancelling keeps it
        await page.click("#advance-button")
        await page.click("dialog.confirm button[value=no]")
        await asyncio.sleep(0.3)
        assert "准备" in (await page.locator("#phase").text_content() or "")
        await _advance(page, "签到")
        await asyncio.gather(*(seat.sign_in() for seat in seats))
        for seat in seats:
            assert (await seat.vote_chair(1, seats[0].seat))["ok"]
        await until(
            page, "document.getElementById('console-chair').textContent.includes('组长 Chair')"
        )

        # two proposals: one approved for the vote, one declined with a reason
        await seats[1].propose_rejection("B5", "unqualified", "资质证书已过期")
        await seats[2].propose_rejection("B4", "not_responsive", "工期不满足要求")
        await until(page, f"{_row('R2')} !== null")
        await page.click('#console-proposals tr[data-proposal="R1"] button[data-act="approve"]')
        await until(page, f"{_row('R1')}.dataset.status === 'approved'")
        await page.click('#console-proposals tr[data-proposal="R2"] button[data-act="decline"]')
        await until(page, "document.getElementById('console-error').textContent.includes('理由')")
        await page.fill('#console-proposals tr[data-proposal="R2"] input', "理由不充分")
        await page.click('#console-proposals tr[data-proposal="R2"] button[data-act="decline"]')
        await until(page, f"{_row('R2')}.dataset.status === 'declined'")
        for seat in seats:
            assert (await seat.vote_rejection("R1", "no"))["ok"]
        await until(page, f"{_row('R1')}.dataset.status === 'kept'")

        # scoring: the console closes the blind part once every sheet is scored
        await _advance(page, "评分")
        assigned = next(e for e in await session_log(room) if e["type"] == "blind.assigned")["data"]
        for seat in seats:
            seat.know_draw(assigned)

        # a pause needs a reason; while paused a seat's score is refused and the phase stays
        await page.click("#pause-button")
        await until(page, "document.getElementById('advance-error').textContent.includes('理由')")
        await page.fill("#pause-reason", "副场网络中断")
        await page.click("#pause-button")
        await confirm(page)
        await until(page, "document.getElementById('pause-state').dataset.paused === 'yes'")
        assert await page.locator("#advance-button").is_disabled()
        assert await page.locator("#paused-flag").is_visible()  # in the header, whatever scrolls
        with pytest.raises(ClientError) as paused:
            await _score_all(seats[0], lot)
        assert paused.value.code == "paused"
        await page.click("#resume-button")
        await confirm(page)
        await until(page, "document.getElementById('pause-state').dataset.paused === 'no'")
        await asyncio.gather(*(_score_all(seat, lot) for seat in seats))
        await until(page, "!document.getElementById('console-blind').hidden")
        flagged = "document.querySelector('#inspection-flags tr[data-rule=\"fast_scoring\"]')"
        await until(page, f"{flagged} !== null")  # the node's inspector, within a second or so
        await page.click("#console-blind")
        await confirm(page)
        await until(page, "document.getElementById('console-blind').hidden")
        for seat in seats[:-1]:
            assert (await seat.submit())["ok"]
        await until(page, "document.getElementById('provisional').textContent.includes('暂定')")
        assert (await seats[-1].submit())["ok"]
        await until(page, "document.getElementById('provisional').textContent === ''")

        # a seat asks to reopen its sheet; the console approves it and the seat submits again
        asked = await seats[0].send("rollback.request", what="sheet", reason="B2 技术分误填")
        await until(page, f"{_rollback('RB1')} !== null")
        await page.click('#console-rollbacks tr[data-rollback="RB1"] button[data-act="approve"]')
        await confirm(page)
        await until(page, f"{_rollback('RB1')}.dataset.status === 'approved'")
        assert (await seats[0].submit())["seq"] > asked["seq"] + 1

        # review: the console asks to go back to scoring for one sheet; the other supervisor
        # approves (four eyes); that seat submits again and review comes back
        await _advance(page, "复核")
        await until(page, "!document.getElementById('console-back').hidden")
        await page.fill("#back-reason", "复核发现漏评")
        await page.check(f'#back-seats input[value="{seats[1].seat}"]')
        await page.click("#back-button")
        await confirm(page)
        await until(page, f"{_rollback('RB2')} !== null")
        own = page.locator('#console-rollbacks tr[data-rollback="RB2"] [data-act="other"]')
        assert await own.is_visible()  # four eyes: not this supervisor's to approve
        other = room.clients[0]
        await other.command({"id": "rb2-ok", "type": "rollback.approve", "rollback": "RB2"})
        await until(page, "document.getElementById('phase').textContent.includes('评分')")
        assert (await seats[1].submit())["ok"]

        # review again: the report is issued from the console
        await _advance(page, "复核")

        # conduct: a misconduct record with its evidence, and a member's rating
        await page.select_option("#conduct-seat", seats[2].seat)
        await page.select_option("#conduct-category", "left_post")
        await page.fill("#conduct-note", "离席 12 分钟未报告")
        await page.fill("#conduct-seq", "5")
        await page.click("#conduct-button")
        await confirm(page)
        await until(
            page, "document.querySelector('#conduct-records tr[data-misconduct=\"M1\"]') !== null"
        )
        rate = f'#conduct-ratings tr[data-unrated="{seats[0].seat}"]'
        await page.select_option(f"{rate} select", "excellent")
        await page.click(f"{rate} button")
        rated = f'#conduct-ratings tr[data-rated="{seats[0].seat}"]'
        await until(page, f"document.querySelector('{rated}') !== null")
        await until(page, "!document.getElementById('console-report').hidden")
        await page.click("#console-report-button")
        await confirm(page)
        await until(
            page,
            "document.getElementById('console-report-state').textContent.includes('已出具')",
            60,
        )
        # a seat's device fails: the console revokes its key and shows the new one-time code
        await page.select_option("#recover-seat", seats[-1].seat)
        await page.fill("#recover-reason", "笔记本电脑故障")
        await page.click("#recover-button")
        await confirm(page)
        await until(page, "document.getElementById('recover-code').textContent.includes('登记码')")
        shown = await page.locator("#recover-code").text_content() or ""
        rows = "[...document.querySelectorAll('#seats tr')]"
        row = f"{rows}.find(r => r.textContent.startsWith('{seats[-1].seat}'))"
        await until(page, f"{row}.children[2].textContent === '—'")  # not enrolled any more
        await page.screenshot(path=str(SHOTS / "supervisor-console.png"), full_page=True)

    by_type = events_by_type(await session_log(room))
    assert [e["data"]["proposal"] for e in by_type["rejection.approved"]] == ["R1"]
    declined = by_type["rejection.declined"][0]["data"]
    assert (declined["proposal"], declined["reason"]) == ("R2", "理由不充分")
    assert by_type["blind.revealed"][0]["actor"].startswith("supervisor:")
    changes = [e["data"]["to"] for e in by_type["phase.changed"]]
    assert changes == ["sign_in", "scoring", "review", "review"]
    assert [e["data"]["seat"] for e in by_type["sheet.reopened"]] == ["host-1", "host-2"]
    (back,) = by_type["phase.rolled_back"]
    assert (back["actor"], back["data"]["to"]) == ("supervisor:sup-2", "scoring")
    assert len(by_type["report.issued"]) == 1
    (pause,) = by_type["session.paused"]
    assert (pause["actor"], pause["data"]) == ("supervisor:sup-1", {"reason": "副场网络中断"})
    assert len(by_type["session.resumed"]) == 1
    (recorded,) = by_type["misconduct.recorded"]
    assert recorded["data"]["evidence"] == {"seq": 5}
    assert by_type["expert.rated"][0]["data"] == {"seat": seats[0].seat, "rating": "excellent"}
    (revoked,) = by_type["seat.key_revoked"]
    assert (revoked["actor"], revoked["data"]["seat"]) == ("supervisor:sup-1", seats[-1].seat)
    assert revoked["data"]["reason"] == "笔记本电脑故障"
    code = shown.split("code: ")[1].split("（")[0]
    assert len(code.replace("-", "")) == 12
    assert code not in str(by_type)  # the code is a secret: it never enters the log
    assert errors == []
    await room.close()
