"""The seat page's service worker at ``GET /seat/sw.js`` (client_web/seat_sw.js).

A worker's scope can be no wider than the folder its script is served from unless the response
says ``Service-Worker-Allowed``. Served from ``/seat/``, its default scope ``/seat/`` covers every
``/seat/{session}/{seat}`` page and nothing else (the viewer, console and public pages are never
controlled by it); the same file under ``/client/`` (the static route) could only control
``/client/``, and no page is registered from there. ``/seat/sw.js`` has two path segments, so it
is never a seat page (three).

``Cache-Control: no-cache``: the browser asks again whenever it checks the worker for an update
(it does so on every navigation to a seat page), so a new deploy's worker is installed on the next
load; the worker itself is network-first for the shell (see the file's header).
"""

from __future__ import annotations

from aiohttp import web

from server.app.http import CLIENT_DIR

SEAT_WORKER_PATH = "/seat/sw.js"
SEAT_WORKER_FILE = "seat_sw.js"


async def seat_worker(_request: web.Request) -> web.FileResponse:
    response = web.FileResponse(CLIENT_DIR / SEAT_WORKER_FILE)
    response.headers["Cache-Control"] = "no-cache"
    response.content_type = "text/javascript"
    return response


def add_worker_routes(app: web.Application) -> None:
    """Register ``GET /seat/sw.js`` (documented in docs/PROTOCOL.md)."""
    app.router.add_get(SEAT_WORKER_PATH, seat_worker)
