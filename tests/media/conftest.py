"""A real server with the embedded media worker announcing only 127.0.0.1, and test peers that
do the same: every packet stays on loopback (aioice skips 127.0.0.1 unless told)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from signaling.embedded import seam
from tests.media.scenarios import OneSeat, one_seat_on
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


@pytest.fixture
async def one_seat(media_server: str) -> AsyncIterator[OneSeat]:
    async with one_seat_on(media_server) as one:
        yield one
