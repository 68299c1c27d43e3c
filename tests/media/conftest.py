"""A real server with the embedded media worker announcing only 127.0.0.1, and test peers that
do the same: every packet stays on loopback (aioice skips 127.0.0.1 unless told)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from server.app.config import Config
from server.app.main import make_app
from signaling.embedded import seam
from tests.app.conftest import ADMIN, TOKEN_KEY, free_port


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    with seam.announcing(["127.0.0.1"]):
        yield


@pytest.fixture
async def media_server(media_app: tuple[str, web.Application]) -> str:
    return media_app[0]


@pytest.fixture
async def media_app(tmp_path: Path) -> AsyncIterator[tuple[str, web.Application]]:
    port = free_port()
    config = Config.from_env(
        {},
        EVALROOM_DATA_DIR=str(tmp_path),
        EVALROOM_PORT=str(port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
        EVALROOM_MEDIA_ADDRESSES="127.0.0.1",
        EVALROOM_MEDIA_DARK_MS="3000",
    )
    app = make_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()
