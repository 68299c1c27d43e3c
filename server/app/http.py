"""HTTP routes: session creation (admin), enrolment, login, reads, and the plain role pages."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from server.app.service import Service
from server.domain.errors import Code, CommandError

SERVICE = web.AppKey("service", Service)
# The pages live beside the package in a checkout; an installed copy (Docker) says where.
CLIENT_DIR = Path(
    os.environ.get("EVALROOM_CLIENT_DIR", Path(__file__).resolve().parents[2] / "client_web")
)
MAX_BODY = 256 * 1024

_STATUS = {
    Code.UNAUTHENTICATED: 401,
    Code.TOKEN_EXPIRED: 401,
    Code.BAD_CODE: 403,
    Code.FORBIDDEN: 403,
    Code.UNKNOWN_SESSION: 404,
    Code.UNKNOWN_SEAT: 404,
    Code.TOO_LARGE: 413,
    Code.INTERNAL: 500,
}


def error_response(error: CommandError) -> web.Response:
    """A typed error as JSON with a fitting status."""
    status = _STATUS.get(error.code, 400 if error.code is Code.MALFORMED else 409)
    return web.json_response({"ok": False, "error": error.to_json()}, status=status)


async def _body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise CommandError(Code.TOO_LARGE, f"request body over {MAX_BODY} bytes")
    try:
        return json.loads(await request.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommandError(Code.MALFORMED, "request body must be JSON") from exc


async def object_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (size-limited), or a typed ``malformed`` error."""
    body = await _body(request)
    if not isinstance(body, dict):
        raise CommandError(Code.MALFORMED, "expected a JSON object")
    return body


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


@web.middleware
async def typed_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn ``CommandError`` into JSON responses at the boundary."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except CommandError as error:
        return error_response(error)


async def create_session(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    admin = service.auth.admin_principal(bearer(request))
    created = await service.sessions.create_session(admin, await _body(request))
    return web.json_response({"ok": True, **created}, status=201)


async def enrol(request: web.Request) -> web.Response:
    body = await object_body(request)
    service = request.app[SERVICE]
    result = await service.enrolment.enrol(
        request.match_info["session"], body.get("seat"), body.get("code"), body.get("public_key")
    )
    return web.json_response(result)


async def login(request: web.Request) -> web.Response:
    body = await object_body(request)
    service = request.app[SERVICE]
    result = await service.enrolment.login(
        request.match_info["session"], body.get("seat"), body.get("signed"), body.get("sig")
    )
    return web.json_response({"ok": True, **result})


def _principal_for(request: web.Request) -> Any:
    service = request.app[SERVICE]
    principal = service.auth.authenticate(bearer(request))
    if principal.session != request.match_info["session"]:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    return principal


async def read_events(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError as exc:
        raise CommandError(Code.MALFORMED, "'after' must be an integer") from exc
    answer = await service.read.catch_up(_principal_for(request), after)
    return web.json_response({"ok": True, **answer})


async def read_state(request: web.Request) -> web.Response:
    state = await request.app[SERVICE].read.snapshot(_principal_for(request))
    return web.json_response({"ok": True, "state": state})


async def read_results(request: web.Request) -> web.Response:
    """Results and flags for this role: the same answer as the socket.io ``results`` handler."""
    answer = await request.app[SERVICE].read.results(_principal_for(request))
    return web.json_response({"ok": True, **answer})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _page(name: str) -> Any:
    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(CLIENT_DIR / name)

    return handler


def add_routes(app: web.Application) -> None:
    """Register every HTTP route (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_post("/api/sessions/{session}/enrol", enrol)
    app.router.add_post("/api/sessions/{session}/login", login)
    app.router.add_get("/api/sessions/{session}/events", read_events)
    app.router.add_get("/api/sessions/{session}/state", read_state)
    app.router.add_get("/api/sessions/{session}/results", read_results)
    app.router.add_get("/seat/{session}/{seat}", _page("seat.html"))
    for role in ("supervisor", "public", "auditor"):
        app.router.add_get(f"/{role}/{{session}}", _page("viewer.html"))
    if CLIENT_DIR.exists():
        app.router.add_static("/client/", CLIENT_DIR)
