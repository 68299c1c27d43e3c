"""Building and running the aiohttp application: store, committer, socket.io, routes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from server.app.audit_http import AUDIT, CONFIG_DATA_DIR, WITNESS, add_audit_routes
from server.app.audit_service import AuditService
from server.app.audit_sio import register_audit
from server.app.budgets import BUDGETS
from server.app.clarification_http import add_clarification_routes
from server.app.committer import Committer, OnCommit
from server.app.config import Config
from server.app.draw_desk import DrawDesk
from server.app.draw_http import DRAW_DESK, add_draw_routes
from server.app.fanout import Dispatcher, JsonOnlyPacket
from server.app.fees_http import add_fees_routes
from server.app.hardening import (
    OriginPolicy,
    browser_guard,
    hide_server_banner,
    normalize_origin,
    security_headers,
)
from server.app.home_http import add_home_routes
from server.app.http import SERVICE, add_routes, typed_errors
from server.app.inspector import Inspector
from server.app.limits import LIMITS
from server.app.media_service import MediaService
from server.app.notary import Notary, load_or_create_key
from server.app.ocds_http import add_ocds_routes
from server.app.pending import Committed
from server.app.recordings_http import add_recording_routes
from server.app.report_desk import ReportDesk
from server.app.report_http import add_report_routes
from server.app.sealer import Sealer
from server.app.service import Service
from server.app.sio import register
from server.app.sio_guard import GuardedServer
from server.app.socket_grants import SocketGrants
from server.app.sw_http import add_worker_routes
from server.app.tokens import TokenMinter
from server.app.witness import Witness
from server.auditlog.note import parse_verifier_key
from server.store.engine import migrate, open_engine

logger = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
MAX_FRAME = 1024 * 1024
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
MEDIA = web.AppKey("media", MediaService)
SEALER = web.AppKey("sealer", Sealer)
INSPECTOR = web.AppKey("inspector", Inspector)


def wall_ms() -> int:
    """Milliseconds since the epoch: the one clock of the server, passed into the core."""
    return int(time.time() * 1000)


def make_app(config: Config) -> web.Application:
    """The whole server as one aiohttp application (started and stopped by ``cleanup_ctx``)."""
    origins = OriginPolicy(config.allowed_origins, normalize_origin(config.public_url))
    app = web.Application(
        middlewares=[browser_guard(origins), typed_errors], client_max_size=256 * 1024
    )
    app.on_response_prepare.append(security_headers)
    hide_server_banner()
    app[CONFIG] = config
    app[LIMITS] = config.limits
    app[CONFIG_DATA_DIR] = config.data_dir
    sio = GuardedServer(
        async_mode="aiohttp",
        # one engine.io server under "/" and "/media": a foreign Origin is refused for both
        cors_allowed_origins=origins.for_engineio(),
        # Frames up to 1 MiB are read so that an oversized command gets a typed ``too_large``
        # answer (commands are capped far lower); beyond that the connection is closed.
        max_http_buffer_size=MAX_FRAME,
        transports=["websocket"],
        serializer=JsonOnlyPacket,
    )
    sio.attach(app)

    async def close_sockets(app: web.Application) -> None:
        # An open websocket is a request handler aiohttp would wait for at shutdown (until the
        # client's ping timed out, 45 s): end them all first; clients reconnect to a live node.
        # Not ``eio.disconnect()``: it waits for each socket's queue to drain, forever for a
        # socket that never had a writer.
        for socket in list(sio.eio.sockets.values()):
            await socket.close(wait=False, reason=sio.eio.reason.SERVER_DISCONNECT)
        sio.eio.sockets.clear()

    app.on_shutdown.append(close_sockets)
    dispatcher = Dispatcher(sio, config.limits.send_queue_packets)
    app[DISPATCHER] = dispatcher

    notary = Notary(config.node_name, load_or_create_key(config.data_dir / "node.key"))
    witnesses = [parse_verifier_key(k) for k in config.witness_keys]

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        owner = open_engine(config.database_url)
        await migrate(owner)
        if config.database_role:  # from here on, only what the restricted role may do
            await owner.dispose()
            engine = open_engine(config.database_url, role=config.database_role)
        else:
            engine = owner
        observers: list[OnCommit] = [dispatcher.publish]  # the sealer joins below

        async def on_commit(session: str, committed: list[Committed]) -> None:
            for observe in observers:
                await observe(session, committed)

        committer = Committer(
            engine,
            wall_ms,
            on_commit,
            sign_checkpoint=notary.sign_checkpoint,
            on_checkpoint=dispatcher.publish_checkpoint,
        )
        await committer.start()
        audit = AuditService(
            engine, notary, witnesses, wall_ms, dispatcher.publish_checkpoint, config.data_dir
        )
        app[AUDIT] = audit
        witness = None
        if config.witness_of and config.witness_host_key:
            witness = Witness(
                engine,
                notary,
                config.witness_of,
                parse_verifier_key(config.witness_host_key),
                wall_ms,
            )
            app[WITNESS] = witness
            await witness.start()
        service = Service(
            engine, committer, TokenMinter(config.token_key), config.admin_token, wall_ms
        )
        service.reports.desk = ReportDesk(config.data_dir)
        app[SERVICE] = service
        grants = SocketGrants(sio, service.auth, config.limits)
        app[BUDGETS] = grants.budgets  # HTTP reads spend the same budgets as socket reads
        inspector = Inspector(committer)
        register(sio, service, dispatcher, grants, inspector)
        register_audit(sio, audit, grants)
        media = MediaService(sio, committer, grants, config, wall_ms)
        app[MEDIA] = media
        await media.start()
        sealer = Sealer(engine, committer, wall_ms, media)
        app[SEALER] = sealer
        observers.append(sealer.observe)
        service.commands.sealer = sealer
        await sealer.start()
        app[INSPECTOR] = inspector
        observers.append(inspector.observe)
        await inspector.start()
        draw_desk = DrawDesk(config.data_dir, committer)
        app[DRAW_DESK] = draw_desk
        service.reports.names = draw_desk.names  # the report names the drawn committee
        observers.append(draw_desk.observe)
        await grants.start()
        logger.info("evalroom ready on %s (%s)", config.public_url, engine.dialect.name)
        yield
        if witness is not None:
            await witness.stop()
        await grants.stop()
        await sealer.stop()
        await inspector.stop()
        await draw_desk.stop()
        await media.stop()
        await committer.stop()
        await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    add_home_routes(app)
    add_worker_routes(app)
    add_audit_routes(app)
    add_report_routes(app)
    add_draw_routes(app)
    add_clarification_routes(app)
    add_fees_routes(app)
    add_ocds_routes(app)
    add_recording_routes(app)
    return app
