"""Building and running the aiohttp application: store, committer, socket.io, routes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from server.app.committer import Committer
from server.app.config import Config
from server.app.fanout import Dispatcher
from server.app.http import SERVICE, add_routes, typed_errors
from server.app.service import Service
from server.app.sio import register
from server.app.tokens import TokenMinter
from server.store.engine import migrate, open_engine

logger = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)


def wall_ms() -> int:
    """Milliseconds since the epoch: the one clock of the server, passed into the core."""
    return int(time.time() * 1000)


def make_app(config: Config) -> web.Application:
    """The whole server as one aiohttp application (started and stopped by ``cleanup_ctx``)."""
    app = web.Application(middlewares=[typed_errors], client_max_size=256 * 1024)
    app[CONFIG] = config
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
        transports=["websocket"],
    )
    sio.attach(app)
    dispatcher = Dispatcher(sio)
    app[DISPATCHER] = dispatcher

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        engine = open_engine(config.database_url)
        await migrate(engine)
        committer = Committer(engine, wall_ms, dispatcher.publish)
        await committer.start()
        service = Service(
            engine, committer, TokenMinter(config.token_key), config.admin_token, wall_ms
        )
        app[SERVICE] = service
        register(sio, service, dispatcher)
        logger.info("evalroom ready on %s (%s)", config.public_url, engine.dialect.name)
        yield
        await committer.stop()
        await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    return app
