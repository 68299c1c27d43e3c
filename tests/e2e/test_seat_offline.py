"""The seat page reloaded while the server is down (issue 11, deliverable 2; deliverable 7).

A real ``evalroom serve`` child process (tests/app/processes.py) is SIGKILLed and started again on
the same data dir and port: the browser sees a server that is really gone, not an emulation
(Playwright's ``set_offline`` is not used). The node serves a copy of client_web so that the test
can deploy a changed page and check the worker is network-first.

The browser seat enrols, signs in and scores online; a reload while online shows a deploy made
meanwhile and data its stored view did not have. With the node down, a reload opens the sheet from
the service worker's shell and the view the page stored, marked offline; the expert types more
(one cell twice), reloads again (the queued values are still shown), the token in IndexedDB is
made unusable (the reconnect must sign in again with the seat key); the node comes back and every
queued command reaches the log exactly once, signed with the seat's enrolled key, each cell ending
at the value typed last.

Page errors: none are expected, the offline period included (net::ERR lines are console messages,
not page errors; any page error fails the test).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.app.http import CLIENT_DIR
from tests.app.conftest import Room, advance, create_session, free_port, load_lot
from tests.app.harness import blind_draw
from tests.app.processes import ServerProcess
from tests.e2e.browser import chromium_page, until
from tests.e2e.seat_steps import enrol_and_sign_in

if TYPE_CHECKING:
    from playwright.async_api import Page

SW_SOURCE = CLIENT_DIR / "seat_sw.js"
CACHE = re.search(r'const CACHE = "([^"]+)"', SW_SOURCE.read_text("utf-8"))[1]  # type: ignore[index]
SCREENSHOT = Path("/tmp/seat-offline.png")
OFFLINE_NOTE = "离线 Offline · 显示本席位已有的数据"
STALE_TOKEN = "v1.stale.token"  # noqa: S105 - a token the server refuses
# A value of the page's IndexedDB store "seats", as a function of its key.
_IDB_GET = (
    "(async (key) => { const db = await new Promise((ok, no) => {"
    " const r = indexedDB.open('evalroom', 1); r.onsuccess = () => ok(r.result);"
    " r.onerror = () => no(r.error); });"
    " const got = await new Promise((ok, no) => {"
    " const r = db.transaction('seats').objectStore('seats').get(key);"
    " r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });"
    " db.close(); return got; })"
)


def _shell() -> list[str]:
    """The worker's SHELL list, read from its source."""
    text = SW_SOURCE.read_text("utf-8")
    page = re.search(r'const SHELL_PAGE = "([^"]+)";', text)
    listed = re.search(r"const SHELL = \[(.*?)\];", text, re.S)
    assert page
    assert listed
    items = [item.strip() for item in listed.group(1).split(",") if item.strip()]
    return [page.group(1) if item == "SHELL_PAGE" else json.loads(item) for item in items]


def test_the_worker_keeps_every_file_the_seat_page_loads() -> None:
    html = (CLIENT_DIR / "seat.html").read_text("utf-8")
    scripts = re.findall(r'<script src="([^"]+)"></script>', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert scripts
    assert styles
    assert sorted(_shell()) == sorted(["/client/seat.html", *styles, *scripts])
    for path in _shell():
        assert (CLIENT_DIR / path.removeprefix("/client/")).is_file(), path


async def test_the_worker_is_served_with_the_seat_pages_scope(server: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server}/seat/sw.js") as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        assert response.headers["Cache-Control"] == "no-cache"  # a new deploy's worker is seen
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "Service-Worker-Allowed" not in response.headers  # /seat/ is its own folder
        assert await response.text() == SW_SOURCE.read_text("utf-8")


def _cell(key: str) -> str:
    return f'input[data-cell="{key}"]'


def _state_is(key: str, text: str) -> str:
    element = f"document.querySelector('[data-state-for=\"{key}\"]')"
    return f"!!{element} && {element}.textContent.includes('{text}')"


async def _type(page: Page, key: str, value: str) -> None:
    cell = page.locator(_cell(key))
    await cell.fill(value)
    await cell.press("Tab")


async def _value_of(page: Page, key: str) -> str:
    return await page.locator(_cell(key)).input_value()


async def _stored_view(page: Page, session: str, seat: str) -> dict[str, Any]:
    """The view the page keeps in IndexedDB (key ["view", session, seat])."""
    key = json.dumps(["view", session, seat])
    stored: dict[str, Any] = await page.evaluate(f"{_IDB_GET}({key})")
    return stored


async def _token(page: Page, key_id: str) -> str:
    """The seat record's token in IndexedDB (the record's keys cannot leave the page)."""
    token: str = await page.evaluate(f"{_IDB_GET}({json.dumps(key_id)}).then(r => r.token)")
    return token


async def _spoil_token(page: Page, key_id: str) -> None:
    """Replace the seat's stored token with one the server refuses (the key stays)."""
    await page.evaluate(
        "(async () => { const db = await new Promise((ok, no) => {"
        " const r = indexedDB.open('evalroom', 1); r.onsuccess = () => ok(r.result);"
        " r.onerror = () => no(r.error); });"
        " await new Promise((ok, no) => {"
        " const tx = db.transaction('seats', 'readwrite'); const store = tx.objectStore('seats');"
        f" const r = store.get({json.dumps(key_id)});"
        f" r.onsuccess = () => store.put({{ ...r.result, token: '{STALE_TOKEN}' }},"
        f" {json.dumps(key_id)});"
        " tx.oncomplete = ok; tx.onerror = () => no(tx.error); });"
        " db.close(); })()"
    )


async def _queue(page: Page) -> list[dict[str, Any]]:
    queue: list[dict[str, Any]] = await page.evaluate(
        "Object.entries(localStorage).filter(([k]) => k.startsWith('evalroom:pending:'))"
        ".flatMap(([, v]) => JSON.parse(v))"
    )
    return queue


_STORED = "window.evalroomSeat.storedSeq()"  # the seq of the view the page last stored


async def _store_now(page: Page) -> None:
    """Store the page's view now (not waiting for the page's own throttle)."""
    await page.evaluate("window.evalroomSeat.saveView()")
    await until(page, f"{_STORED} === window.evalroomSeat.stream.view.seq", 10)


async def _events(base: str, session: str, token: str) -> list[dict[str, Any]]:
    """The whole log as the auditor reads it over HTTP, page after page."""
    found: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        while True:
            after = found[-1]["seq"] if found else 0
            url = f"{base}/api/sessions/{session}/events?after={after}"
            async with http.get(url, headers=headers) as response:
                assert response.status == 200, await response.text()
                answer = await response.json()
            found += answer["events"]
            if not answer.get("limited") or not answer["events"]:
                return found


async def _worker_ready(page: Page) -> None:
    """The worker controls the page and holds exactly the shell."""
    await until(page, "!!navigator.serviceWorker.controller", 20)
    names = await page.evaluate("caches.keys()")
    assert names == [CACHE]
    cached = await page.evaluate(
        f"caches.open('{CACHE}').then(c => c.keys())"
        ".then(ks => ks.map(r => new URL(r.url).pathname))"
    )
    assert sorted(cached) == sorted(_shell())  # never /api/* nor /socket.io/*


@pytest.mark.browser
async def test_a_seat_reloaded_offline_keeps_its_sheet_and_sends_its_queue_on_reconnect(
    tmp_path: Path,
) -> None:
    client_dir = tmp_path / "client"
    shutil.copytree(CLIENT_DIR, client_dir)
    node = ServerProcess(
        tmp_path / "data",
        free_port(),
        tmp_path / "server.log",
        {"EVALROOM_CLIENT_DIR": str(client_dir)},
    )
    await node.start()
    errors: list[str] = []
    try:
        lot = load_lot()
        room = Room(node.base, await create_session(node.base, lot), lot)
        session, seat = room.session, str(room.created["seats"][0])
        sup = await room.supervisor()
        others = [await room.seat(s) for s in room.created["seats"][1:]]
        await advance(sup, "sign_in")
        async with chromium_page(errors, enforce_csp=True) as page:
            blocked: list[str] = []  # Chromium's console reports of what the policy blocked
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
            )
            code = room.created["codes"][seat]
            await enrol_and_sign_in(page, room.base, room.session, seat, code, others)
            await _worker_ready(page)
            await advance(sup, "scoring")
            codes = [code for code, _ in (await blind_draw(sup))["seats"][seat]]
            blind_a, blind_b = f"{codes[0]}/T1", f"{codes[1]}/T2"
            await until(page, f"document.querySelector('{_cell(blind_a)}')?.disabled === false")

            # online: three cells saved
            typed_online = {blind_a: "7.5", "B1/C1": "6", "B2/C1": "5"}
            for key, value in typed_online.items():
                await _type(page, key, value)
            for key in typed_online:
                await until(page, _state_is(key, "已保存"))

            # a reload while online: the page and the data are the server's, not the stored ones
            await _store_now(page)
            await page.evaluate("window.evalroomSeat.stream.socket.disconnect()")
            for other in others[:3]:  # more than a third of seven: the time is extended
                await other.request_time()
            stored = await _stored_view(page, session, seat)
            assert stored["view"]["committee"]["time"]["extensions"] == 0
            html = client_dir / "seat.html"
            html.write_text(
                html.read_text("utf-8").replace(
                    "<head>", '<head>\n<meta name="evalroom-deploy" content="2">'
                ),
                "utf-8",
            )
            with (client_dir / "errors.js").open("a", encoding="utf-8") as script:
                script.write("\nwindow.evalroomDeploy = 2;\n")
            await page.reload()
            await until(
                page, "document.getElementById('time-state').textContent.includes('已延长 1 次')"
            )
            assert await page.evaluate("!!document.querySelector('meta[name=evalroom-deploy]')")
            assert await page.evaluate("window.evalroomDeploy") == 2
            for key, value in typed_online.items():
                await until(page, _state_is(key, "已保存"))
                assert await _value_of(page, key) == value
            assert await page.locator("#offline-note").is_hidden()
            await _worker_ready(page)
            # one more cell: the page stores its view by itself once its own score is folded
            await _type(page, "B5/C1", "1")
            await until(page, _state_is("B5/C1", "已保存"))
            typed_online["B5/C1"] = "1"
            await until(page, f"{_STORED} === window.evalroomSeat.stream.view.seq", 5)

            # the node goes away; the token the page holds will be refused when it is back
            await room.close()
            await node.kill()
            await until(page, "document.getElementById('conn').className === 'offline'")
            await _spoil_token(page, f"{session}/{seat}")
            await page.reload()

            # the shell (with the new deploy) and the stored sheet, marked offline
            await until(page, "!document.getElementById('offline-note').hidden")
            note = await page.locator("#offline-note").text_content() or ""
            assert OFFLINE_NOTE in note
            assert await page.evaluate("!!document.querySelector('meta[name=evalroom-deploy]')")
            assert await page.evaluate("window.evalroomDeploy") == 2
            assert "评分 Scoring" in (await page.locator("#phase").text_content() or "")
            assert "已延长 1 次" in (await page.locator("#time-state").text_content() or "")
            for key, value in typed_online.items():
                assert await _value_of(page, key) == value
                assert await page.evaluate(_state_is(key, "已保存"))

            # typing goes on: signed, queued, shown offline (B3/C2 twice: the last value counts)
            typed_offline = [
                (blind_a, "8"),
                (blind_b, "4"),
                ("B3/C2", "3"),
                ("B3/C2", "4"),
                ("B4/C1", "2"),
            ]
            for key, value in typed_offline:
                assert await page.locator(_cell(key)).is_enabled()
                await _type(page, key, value)
                await until(page, _state_is(key, "离线"))
            await until(page, "window.evalroomSeat.pending.size === 5")
            queue = await _queue(page)
            assert [item["cell"] for item in queue] == [key for key, _ in typed_offline]

            # a second reload offline: the queue and its values are still there
            await page.reload()
            await until(page, "!document.getElementById('offline-note').hidden")
            last = dict(typed_offline)
            for key, value in last.items():
                await until(page, _state_is(key, "离线"))
                assert await _value_of(page, key) == value
            assert await _queue(page) == queue
            assert await _token(page, f"{session}/{seat}") == STALE_TOKEN  # no sign-in offline
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            # the node is back on the same data and port: the page signs in again and sends
            await node.start()
            await until(page, "window.evalroomSeat.pending.size === 0", 60)
            expected = {**typed_online, **last}
            for key, value in expected.items():
                await until(page, _state_is(key, "已保存"))
                assert await _value_of(page, key) == value
            assert await _queue(page) == []
            assert await page.locator("#offline-note").is_hidden()
            # signed in again with the seat key
            assert await _token(page, f"{session}/{seat}") != STALE_TOKEN

            # and a last reload online shows the server's values
            await page.reload()
            for key, value in expected.items():
                await until(page, _state_is(key, "已保存"))
                assert await _value_of(page, key) == value

            assert not blocked, blocked
        events = await _events(node.base, session, str(room.created["auditor"]))
        _check_log(events, seat, queue, codes, expected)
    finally:
        await node.kill()
    assert not errors, errors


def _check_log(
    events: list[dict[str, Any]],
    seat: str,
    queue: list[dict[str, Any]],
    codes: list[str],
    expected: dict[str, str],
) -> None:
    """Every queued command once, signed by the seat's enrolled key; each cell at its last value."""
    enrolled = [e for e in events if e["type"] == "seat.enrolled" and e["data"]["seat"] == seat]
    assert len(enrolled) == 1
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(enrolled[0]["data"]["key"]["public"]))
    scores = [e for e in events if e["type"] == "score.set" and e["data"]["seat"] == seat]
    commands = [json.loads(e["data"]["signed"])["cmd"] for e in scores]
    assert len(commands) == len(set(commands)), commands  # no command twice
    for event in scores:
        key.verify(base64.b64decode(event["data"]["sig"]), event["data"]["signed"].encode())
        assert event["actor"] == f"expert:{seat}"
    by_command = {json.loads(e["data"]["signed"])["cmd"]: e for e in scores}
    for item in queue:
        event = by_command[item["id"]]  # every queued command reached the log
        assert event["data"]["signed"] == item["envelope"]["signed"]
        assert event["data"]["sig"] == item["envelope"]["sig"]
    final: dict[str, str] = {}
    for event in scores:  # in log order: the last one of a cell is its value
        data = event["data"]
        final[f"{data.get('code') or data['bidder']}/{data['criterion']}"] = data["value"]
    assert final == expected
    assert set(codes[:2]) <= {k.split("/")[0] for k in final}  # blind cells went by code
