"""After fuzzing: an honest seat still enrols, signs in and gets its score committed.

The honest seats enrol from another loopback address (127.0.0.2): the fuzzer's wrong enrolment
codes rightly slow down their own source (127.0.0.1), and an honest seat elsewhere must not care.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from server.client.seat import ClientError, SeatClient
from tests.app.conftest import Room, advance, create_session, load_lot

HONEST_SOURCE = "127.0.0.2"


async def enrol_from(seat: SeatClient, code: str, source: str) -> None:
    """``seat.enrol`` with the request sent from ``source``."""
    url = f"{seat.base_url}/api/sessions/{seat.session}/enrol"
    body = {"seat": seat.seat, "code": code, "public_key": seat.public_key_b64}
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(url, json=body) as response,
    ):
        answer: dict[str, Any] = await response.json()
    if "token" not in answer:
        raise ClientError(answer["error"])
    seat.token = answer["token"]


async def honest_score(base: str) -> int:
    """A new session taken to ``scoring`` and one signed score: its committed ``seq``."""
    lot = load_lot()
    room = Room(base, await create_session(base, lot), lot)
    try:
        sup = await room.supervisor(0)
        seats = []
        for name in room.created["seats"]:
            seat = SeatClient(base, room.session, name)
            room.clients.append(seat)
            await enrol_from(seat, room.created["codes"][name], HONEST_SOURCE)
            await seat.connect()
            seats.append(seat)
        await advance(sup, "sign_in")
        for seat in seats:
            await seat.sign_in()
        await advance(sup, "scoring")
        await seats[0].state()  # its blind codes, drawn with the move to scoring
        ack = await seats[0].score(seats[0].codes[0], "T1", "5")
        return int(ack["seq"])
    finally:
        await room.close()
