"""Every socket.io packet a client can send is answered or dropped quietly (raw frames)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.app.conftest import Room


async def _answer(ws: aiohttp.ClientWebSocketResponse, ack: str) -> Any:
    while True:  # skip pings and live events
        frame = await ws.receive_str(timeout=10)
        if frame.startswith(ack):
            return json.loads(frame[len(ack) :])


async def test_odd_events_get_typed_answers_and_the_socket_keeps_working(room: Room) -> None:
    url = room.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_str(timeout=10)
        await ws.send_str("40" + json.dumps({"token": room.created["supervisor"][0]}))
        assert (await ws.receive_str(timeout=10)).startswith("40")
        cases = {
            '["no-such-event",{}]': "unknown_event",
            '["message"]': "unknown_event",
            '["connect",{"token":"x"}]': "unknown_event",  # not our connect handler
            '["disconnect"]': "unknown_event",  # not our disconnect handler either
            '["state",{},{}]': "malformed",  # two payloads
            '["sync",{"after":' + "9" * 5000 + "}]": "malformed",  # past the int limit
            '["sync",{"after":': "malformed",  # broken JSON
            "[]": "malformed",
            "[1,2]": "malformed",
        }
        for n, (body, code) in enumerate(cases.items(), start=1):
            await ws.send_str(f"42{n}{body}")
            (answer,) = await _answer(ws, f"43{n}")
            assert answer["error"]["code"] == code, (body, answer)
        # the socket still is the supervisor's, and still answers
        await ws.send_str('4299["join",{"after":0}]')
        (joined,) = await _answer(ws, "4399")
        assert (joined["ok"], joined["role"]) == (True, "supervisor")


async def test_an_unreadable_connect_is_refused(room: Room) -> None:
    url = room.base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.receive_str(timeout=10)
        await ws.send_str("40400.5")  # digits read as an ack id, then no JSON
        refusal = await ws.receive_str(timeout=10)
        assert refusal.startswith("44"), refusal
        assert json.loads(refusal[2:])["data"]["code"] == "malformed"
