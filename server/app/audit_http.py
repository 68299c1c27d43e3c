"""HTTP routes of the audit trail: node keys, checkpoints, proofs, cosignatures, witness status.

All reads are public (sizes and hashes only); see :mod:`server.app.audit_service`.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.app.audit_service import AuditService
from server.app.http import SERVICE, bearer, object_body, uint_param
from server.app.witness import Witness
from server.domain.errors import Code, CommandError
from server.domain.roles import FULL_VIEW_ROLES

AUDIT = web.AppKey("audit", AuditService)
CONFIG_DATA_DIR = web.AppKey("data_dir", Path)
WITNESS = web.AppKey("witness", Witness)


async def node(request: web.Request) -> web.Response:
    return web.json_response(request.app[AUDIT].node())


async def node_pem(request: web.Request) -> web.Response:
    pem = request.app[AUDIT].node()["public_key_pem"]
    return web.Response(text=pem, content_type="application/x-pem-file")


async def latest(request: web.Request) -> web.Response:
    return web.json_response(await request.app[AUDIT].latest(request.match_info["session"]))


async def listing(request: web.Request) -> web.Response:
    session = request.match_info["session"]
    after = uint_param(request.query.get("after", "0"), "after")
    return web.json_response(await request.app[AUDIT].list(session, after))


async def inclusion(request: web.Request) -> web.Response:
    query = request.query
    answer = await request.app[AUDIT].inclusion(
        request.match_info["session"],
        uint_param(query.get("seq"), "seq"),
        uint_param(query.get("size"), "size"),
    )
    return web.json_response(answer)


async def consistency(request: web.Request) -> web.Response:
    query = request.query
    answer = await request.app[AUDIT].consistency(
        request.match_info["session"],
        uint_param(query.get("from"), "from"),
        uint_param(query.get("to"), "to"),
    )
    return web.json_response(answer)


async def cosign(request: web.Request) -> web.Response:
    body = await object_body(request)
    answer = await request.app[AUDIT].add_cosignature(
        request.match_info["session"],
        uint_param(request.match_info["size"], "size"),
        body.get("line"),
    )
    return web.json_response(answer, status=201 if answer["added"] else 200)


async def feed(request: web.Request) -> web.Response:
    return web.json_response(await request.app[AUDIT].feed())


async def witness_status(request: web.Request) -> web.Response:
    witness = request.app.get(WITNESS)
    if witness is None:
        raise CommandError(Code.UNKNOWN_SESSION, "this node is not a witness")
    return web.json_response(witness.status.to_json())


async def archive(request: web.Request) -> web.StreamResponse:
    """The session archive for an auditor, supervisor or admin of that session."""
    service = request.app[SERVICE]
    session = request.match_info["session"]
    token = bearer(request)
    try:
        principal = service.auth.admin_principal(token)
    except CommandError:
        principal = await service.auth.authenticate(token)
        if principal.session != session or principal.role not in FULL_VIEW_ROLES:
            raise CommandError(
                Code.FORBIDDEN, "archives are for auditors and supervisors"
            ) from None
    del principal
    folder = request.app[CONFIG_DATA_DIR] / "archives"
    out = folder / f"{session}.zip"
    info = await request.app[AUDIT].export(session, out)
    response = web.FileResponse(out)
    name = f"evalroom-{session}-{info.events}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def add_audit_routes(app: web.Application) -> None:
    """Register the audit routes (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/api/node", node)
    app.router.add_get("/api/node/key.pem", node_pem)
    app.router.add_get("/api/sessions/{session}/checkpoint", latest)
    app.router.add_get("/api/sessions/{session}/checkpoints", listing)
    app.router.add_post("/api/sessions/{session}/checkpoints/{size}/cosignatures", cosign)
    app.router.add_get("/api/sessions/{session}/proof/inclusion", inclusion)
    app.router.add_get("/api/sessions/{session}/proof/consistency", consistency)
    app.router.add_get("/api/witness/feed", feed)
    app.router.add_get("/api/witness", witness_status)
    app.router.add_get("/api/sessions/{session}/archive", archive)
