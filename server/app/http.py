"""HTTP routes: session creation (admin), enrolment, login, reads, and the plain role pages."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from server.app.budgets import BUDGETS
from server.app.handlers.enrolment import source_key
from server.app.limits import LIMITS, Limits
from server.app.service import Service
from server.domain.errors import Code, CommandError
from server.domain.untrusted import MAX_INT, check_text, check_untrusted

logger = logging.getLogger(__name__)

SERVICE = web.AppKey("service", Service)
# The pages live beside the package in a checkout; an installed copy (Docker) says where.
CLIENT_DIR = Path(
    os.environ.get("EVALROOM_CLIENT_DIR", Path(__file__).resolve().parents[2] / "client_web")
)
MAX_BODY = 256 * 1024

_STATUS = {
    Code.UNAUTHENTICATED: 401,
    Code.TOKEN_EXPIRED: 401,
    Code.TOKEN_REVOKED: 401,
    Code.BAD_CODE: 403,
    Code.FORBIDDEN: 403,
    Code.UNKNOWN_SESSION: 404,
    Code.UNKNOWN_SEAT: 404,
    Code.REQUEST_TIMEOUT: 408,
    Code.TOO_LARGE: 413,
    Code.TOO_MANY_ATTEMPTS: 429,
    Code.RATE_LIMITED: 429,
    Code.INTERNAL: 500,
}


def error_response(error: CommandError) -> web.Response:
    """A typed error as JSON with a fitting status."""
    status = _STATUS.get(error.code, 400 if error.code is Code.MALFORMED else 409)
    response = web.json_response({"ok": False, "error": error.to_json()}, status=status)
    retry_ms = error.details.get("retry_after_ms")
    if isinstance(retry_ms, int):
        response.headers["Retry-After"] = str(-(-retry_ms // 1000))  # whole seconds, rounded up
    return response


_UINT = re.compile(r"[0-9]{1,19}")


def uint_param(value: str | None, name: str) -> int | None:
    """A query or path parameter as a non-negative 64-bit integer (None when absent).

    Plain ASCII digits only: ``int()`` would also take ``+5``, `` 5``, ``1_000`` and other
    scripts' digits, and a number no database column holds.
    """
    if value is None:
        return None
    if not _UINT.fullmatch(value) or int(value) > MAX_INT:
        raise CommandError(Code.MALFORMED, f"'{name}' must be a non-negative 64-bit integer")
    return int(value)


async def _read_limited(request: web.Request, max_body: int = MAX_BODY) -> bytes:
    too_large = CommandError(Code.TOO_LARGE, f"request body over {max_body} bytes")
    if request.content_length is not None and request.content_length > max_body:
        raise too_large
    data = bytearray()
    limits = request.app.get(LIMITS) or Limits()
    try:
        async with asyncio.timeout(limits.body_timeout_s):  # a body trickled in is cut off
            async for chunk in request.content.iter_any():  # chunked bodies: no length up front
                data += chunk
                if len(data) > max_body:
                    raise too_large
    except TimeoutError:
        raise CommandError(
            Code.REQUEST_TIMEOUT, f"request body not complete within {limits.body_timeout_s} s"
        ) from None
    return bytes(data)


async def _body(request: web.Request, max_body: int = MAX_BODY) -> Any:
    """The request body as bounded JSON (UTF-8 whatever the declared charset)."""
    data = await _read_limited(request, max_body)
    try:
        body = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise CommandError(Code.TOO_LARGE, "request body nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # ValueError: also a 5,000-digit number
        raise CommandError(Code.MALFORMED, "request body must be JSON") from exc
    return check_untrusted(body, "body")


async def object_body(request: web.Request, max_body: int = MAX_BODY) -> dict[str, Any]:
    """The request body as a JSON object (size-limited), or a typed ``malformed`` error."""
    body = await _body(request, max_body)
    if not isinstance(body, dict):
        raise CommandError(Code.MALFORMED, "expected a JSON object")
    return body


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


def check_params(request: web.Request) -> None:
    """Path and query text as every store accepts it (no NUL, no lone surrogate)."""
    for value in request.match_info.values():
        check_text(value, "path")
    for key, value in request.query.items():
        check_text(key, "query")
        check_text(value, f"query {key}")


@web.middleware
async def typed_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """``CommandError`` as JSON responses at the boundary; a bug as a typed ``internal``."""
    try:
        check_params(request)
        response: web.StreamResponse = await handler(request)
        return response
    except CommandError as error:
        return error_response(error.detached())
    except web.HTTPException as error:
        # Answered here, not raised on: aiohttp keeps a raised one as its response, and so the
        # frames it passed through, in a reference cycle until the next full collection.
        error.__traceback__ = None
        return web.Response(
            status=error.status, reason=error.reason, text=error.text, headers=error.headers
        )
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return error_response(CommandError(Code.INTERNAL, "internal error"))


async def create_session(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    admin = service.auth.admin_principal(bearer(request))
    created = await service.sessions.create_session(admin, await _body(request))
    return web.json_response({"ok": True, **created}, status=201)


async def enrol(request: web.Request) -> web.Response:
    body = await object_body(request)
    service = request.app[SERVICE]
    result = await service.enrolment.enrol(
        request.match_info["session"],
        body.get("seat"),
        body.get("code"),
        body.get("public_key"),
        source_key(request.remote),
    )
    return web.json_response(result)


async def login(request: web.Request) -> web.Response:
    body = await object_body(request)
    service = request.app[SERVICE]
    result = await service.enrolment.login(
        request.match_info["session"], body.get("seat"), body.get("signed"), body.get("sig")
    )
    return web.json_response({"ok": True, **result})


async def revoke_tokens(request: web.Request) -> web.Response:
    """The admin revokes a staff role's tokens; the answer holds a token of the new generation."""
    service = request.app[SERVICE]
    admin = service.auth.admin_principal(bearer(request))
    body = await object_body(request)
    result = await service.revocation.revoke(admin, request.match_info["session"], body)
    return web.json_response({"ok": True, **result})


async def seal_session(request: web.Request) -> web.Response:
    """The admin records the tenderer's decision to stop after a referred fault (the seal)."""
    service = request.app[SERVICE]
    admin = service.auth.admin_principal(bearer(request))
    body = await object_body(request)
    ack = await service.sessions.seal(admin, request.match_info["session"], body)
    return web.json_response(ack)


async def _principal_for(request: web.Request) -> Any:
    service = request.app[SERVICE]
    principal = await service.auth.authenticate(bearer(request))
    if principal.session != request.match_info["session"]:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    return principal


async def read_events(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    after = uint_param(request.query.get("after", "0"), "after")
    principal = await _principal_for(request)
    budgets = request.app[BUDGETS]  # the default namespace's: one read budget however it comes
    budgets.take("/", principal, "read")
    afford = budgets.afford("/", principal)
    answer = await service.read.catch_up(principal, after, afford, snapshot_when_behind=False)
    return web.json_response({"ok": True, **answer})


async def read_state(request: web.Request) -> web.Response:
    state = await request.app[SERVICE].read.snapshot(await _principal_for(request))
    return web.json_response({"ok": True, "state": state})


async def read_results(request: web.Request) -> web.Response:
    """Results and flags for this role: the same answer as the socket.io ``results`` handler."""
    answer = await request.app[SERVICE].read.results(await _principal_for(request))
    return web.json_response({"ok": True, **answer})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def page(name: str) -> Any:
    """A handler serving one page of client_web/."""

    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(CLIENT_DIR / name)

    return handler


def add_routes(app: web.Application) -> None:
    """Register every HTTP route (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_post("/api/sessions/{session}/enrol", enrol)
    app.router.add_post("/api/sessions/{session}/login", login)
    app.router.add_post("/api/sessions/{session}/tokens/revoke", revoke_tokens)
    app.router.add_post("/api/sessions/{session}/seal", seal_session)
    app.router.add_get("/api/sessions/{session}/events", read_events)
    app.router.add_get("/api/sessions/{session}/state", read_state)
    app.router.add_get("/api/sessions/{session}/results", read_results)
    app.router.add_get("/seat/{session}/{seat}", page("seat.html"))
    for role, name in (
        ("supervisor", "viewer.html"),
        ("public", "public.html"),  # the waiting area's screen: progress only
        ("auditor", "auditor.html"),
    ):
        app.router.add_get(f"/{role}/{{session}}", page(name))
    app.router.add_get("/auditor", page("auditor.html"))  # opens an archive file, no session
    if CLIENT_DIR.exists():
        app.router.add_static("/client/", CLIENT_DIR)
