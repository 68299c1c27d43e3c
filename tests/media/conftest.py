"""A real server with the embedded media worker announcing only 127.0.0.1, and test peers that
do the same: every packet stays on loopback (aioice skips 127.0.0.1 unless told)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from server.client.seat import Client
from signaling.embedded import seam
from tests.app.conftest import create_session, load_lot
from tests.media.room_scenario import enrolled_tokens
from tests.media.servers import running_server


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    with seam.announcing(["127.0.0.1"]):
        yield


@pytest.fixture
async def media_server(media_app: tuple[str, web.Application]) -> str:
    return media_app[0]


@pytest.fixture
async def media_app(tmp_path: Path) -> AsyncIterator[tuple[str, web.Application]]:
    env = {"EVALROOM_MEDIA_ADDRESSES": "127.0.0.1", "EVALROOM_MEDIA_DARK_MS": "3000"}
    async with running_server(tmp_path, **env) as served:
        yield served


@dataclass
class OneSeat:
    """A session on the media server, one enrolled seat's token, and a supervisor's log view."""

    base: str
    created: dict[str, Any]
    seat: str
    token: str
    watcher: Client  # the second supervisor, following the log

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The data of the events of one type the watcher holds."""
        return [e["data"] for e in self.watcher.events.values() if e["type"] == kind]


@pytest.fixture
async def one_seat(media_server: str) -> AsyncIterator[OneSeat]:
    created = await create_session(media_server, load_lot())
    tokens = await enrolled_tokens(media_server, created)
    seat = sorted(tokens)[0]
    watcher = Client(media_server, created["session"], created["supervisor"][1])
    await watcher.connect()
    try:
        yield OneSeat(media_server, created, seat, tokens[seat], watcher)
    finally:
        await watcher.disconnect()
