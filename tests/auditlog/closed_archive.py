"""A real closed session's archive: a server on loopback, the whole simulated session (enrolment,
chair election, blind scoring under codes, the chair's signed blind.close, review, close), then
the archive as an auditor downloads it. Shared by the doc test and ``bench/archive_mutations.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from server.app.config import Config
from server.app.main import make_app
from server.client.simulate import run_session
from tests.app.conftest import ADMIN, TOKEN_KEY, create_session, free_port, load_lot


@asynccontextmanager
async def node(data_dir: Path) -> AsyncIterator[str]:
    """A node as the app tests' ``server`` fixture runs it; yields its base URL."""
    port = free_port()
    config = Config.from_env(
        {},
        EVALROOM_DATA_DIR=str(data_dir),
        EVALROOM_HOST="127.0.0.1",
        EVALROOM_PORT=str(port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
    )
    runner = web.AppRunner(make_app(config))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def closed_session_archive(data_dir: Path) -> tuple[bytes, str]:
    """Run a whole session on a fresh node in ``data_dir``; its archive bytes and node key."""
    async with node(data_dir) as base:
        lot = load_lot()
        created = await create_session(base, lot)
        await run_session(base, created, lot)
        url = f"{base}/api/sessions/{created['session']}/archive"
        auditor = {"Authorization": f"Bearer {created['auditor']}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/node") as response:
                node_key = str((await response.json())["verifier_key"])
            # The close forces a checkpoint in its own transaction: the archive ends with it.
            async with http.get(url, headers=auditor) as response:
                assert response.status == 200, await response.text()
                data = await response.read()
    return data, node_key
