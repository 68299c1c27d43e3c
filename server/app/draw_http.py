"""HTTP routes of the expert draw, for the admin: open it over a pool, make it if the node
stopped before it could, and read the notice of who was drawn (names: the admin only).

The participants commit and reveal their shares with the ``draw.commit`` and ``draw.reveal``
commands (socket.io ``command``, like every other command), from the draw page.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from server.app.draw_desk import DrawDesk
from server.app.http import SERVICE, bearer, object_body, page
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal

DRAW_DESK = web.AppKey("draw_desk", DrawDesk)
# A pool of the documented maximum (100,000 experts) is about 20 MB of JSON.
MAX_POOL_BODY = 32 * 1024 * 1024


def _admin(request: web.Request) -> Principal:
    admin = request.app[SERVICE].auth.admin_principal(bearer(request))
    return Principal(admin.role, request.match_info["session"], admin.subject)


async def open_draw(request: web.Request) -> web.Response:
    """``{"pool": {...}, "rules": {...}, "id"?}``: the pool is kept, its hash logged."""
    admin = _admin(request)
    body = await object_body(request, MAX_POOL_BODY)
    body.setdefault("id", f"draw.open.{secrets.token_hex(6)}")
    answer = await request.app[DRAW_DESK].open(admin, admin.session, body)
    return web.json_response(answer, status=201)


async def make_draw(request: web.Request) -> web.Response:
    admin = _admin(request)
    ack = await request.app[DRAW_DESK].make(admin.session)
    if ack is None:
        state = await request.app[SERVICE].read.state(admin.session)
        if state.draw is None or state.draw.made is None:
            raise CommandError(Code.DRAW_NOT_READY, "the shares are not all revealed")
        return web.json_response({"ok": True, "seq": state.draw.made["seq"]})
    return web.json_response(ack)


async def notice(request: web.Request) -> web.Response:
    admin = _admin(request)
    answer = await request.app[DRAW_DESK].notice(admin, admin.session)
    return web.json_response({"ok": True, **answer})


def add_draw_routes(app: web.Application) -> None:
    """Register the draw's routes (documented in docs/PROTOCOL.md)."""
    app.router.add_post("/api/sessions/{session}/draw", open_draw)
    app.router.add_post("/api/sessions/{session}/draw/make", make_draw)
    app.router.add_get("/api/sessions/{session}/draw/notice", notice)
    app.router.add_get("/draw/{session}", page("draw.html"))
