"""A real evalroom server on 127.0.0.1 for the media tests, scenarios and the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from server.app.config import Config
from server.app.main import make_app
from tests.app.conftest import ADMIN, TOKEN_KEY, free_port

# A node on the Janus backend that runs its own Janus, ICE on the namespace's veth only.
JANUS_ENV = {"EVALROOM_MEDIA_BACKEND": "janus", "EVALROOM_MEDIA_ADDRESSES": "v0"}


@asynccontextmanager
async def running_server(data: Path, **env: str) -> AsyncIterator[tuple[str, web.Application]]:
    """Serve a node with its data in ``data`` (and ``env`` on top); yields (base URL, app)."""
    port = free_port()
    if env.get("EVALROOM_MEDIA_BACKEND") == "janus":
        env.setdefault("EVALROOM_JANUS_PORT", str(free_port()))
    config = Config.from_env(
        {},
        EVALROOM_DATA_DIR=str(data),
        EVALROOM_PORT=str(port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
        **env,
    )
    app = make_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()
