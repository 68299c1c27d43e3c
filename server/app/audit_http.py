"""HTTP routes of the audit trail: node keys, checkpoints, proofs, cosignatures, witness status.

All reads are public (sizes and hashes only); see :mod:`server.app.audit_service`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.app.audit_service import AuditService
from server.app.witness import Witness
from server.domain.errors import Code, CommandError

AUDIT = web.AppKey("audit", AuditService)
WITNESS = web.AppKey("witness", Witness)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise CommandError(Code.MALFORMED, "request body must be JSON") from exc
    if not isinstance(body, dict):
        raise CommandError(Code.MALFORMED, "expected a JSON object")
    return body


async def node(request: web.Request) -> web.Response:
    return web.json_response(request.app[AUDIT].node())


async def node_pem(request: web.Request) -> web.Response:
    pem = request.app[AUDIT].node()["public_key_pem"]
    return web.Response(text=pem, content_type="application/x-pem-file")


async def latest(request: web.Request) -> web.Response:
    return web.json_response(await request.app[AUDIT].latest(request.match_info["session"]))


async def listing(request: web.Request) -> web.Response:
    session = request.match_info["session"]
    return web.json_response(await request.app[AUDIT].list(session, request.query.get("after", 0)))


async def inclusion(request: web.Request) -> web.Response:
    answer = await request.app[AUDIT].inclusion(
        request.match_info["session"], request.query.get("seq"), request.query.get("size")
    )
    return web.json_response(answer)


async def consistency(request: web.Request) -> web.Response:
    answer = await request.app[AUDIT].consistency(
        request.match_info["session"], request.query.get("from"), request.query.get("to")
    )
    return web.json_response(answer)


async def cosign(request: web.Request) -> web.Response:
    body = await _json_object(request)
    answer = await request.app[AUDIT].add_cosignature(
        request.match_info["session"], request.match_info["size"], body.get("line")
    )
    return web.json_response(answer, status=201 if answer["added"] else 200)


async def feed(request: web.Request) -> web.Response:
    return web.json_response(await request.app[AUDIT].feed())


async def witness_status(request: web.Request) -> web.Response:
    witness = request.app.get(WITNESS)
    if witness is None:
        raise CommandError(Code.UNKNOWN_SESSION, "this node is not a witness")
    return web.json_response(witness.status.to_json())


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
