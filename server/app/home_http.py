"""The home page at ``/``: what this node is, its verifier key, health, and the admin's desk.

The page is static; it reads only public routes (``/api/node``, ``/healthz``) and, with the
admin token the operator types, ``POST /api/sessions``. It lists no session.
"""

from __future__ import annotations

from aiohttp import web

from server.app.http import CLIENT_DIR


async def home(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(CLIENT_DIR / "home.html")


def add_home_routes(app: web.Application) -> None:
    """Register ``GET /`` (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/", home)
