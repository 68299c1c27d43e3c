"""HTTP routes of a bidder answering a clarification (澄清): its question, its answer, its page.

The bidder's token comes from the supervisor's approval (``clarification.approve``'s ack) and is
passed on to the bidder, who opens ``/bidder/{session}#token=…``.
"""

from __future__ import annotations

from aiohttp import web

from server.app.http import SERVICE, bearer, object_body, page
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role


async def _bidder(request: web.Request) -> Principal:
    principal = await request.app[SERVICE].auth.authenticate(bearer(request), bidder=True)
    if principal.role is not Role.BIDDER:
        raise CommandError(Code.FORBIDDEN, "a bidder's clarification token is needed")
    if principal.session != request.match_info["session"]:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    return principal


async def question(request: web.Request) -> web.Response:
    answer = await request.app[SERVICE].clarifications.question(await _bidder(request))
    return web.json_response({"ok": True, **answer})


async def answer(request: web.Request) -> web.Response:
    bidder = await _bidder(request)
    ack = await request.app[SERVICE].clarifications.answer(bidder, await object_body(request))
    return web.json_response(ack)


def add_clarification_routes(app: web.Application) -> None:
    """Register the bidder's routes (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/api/sessions/{session}/clarification", question)
    app.router.add_post("/api/sessions/{session}/clarification/answer", answer)
    app.router.add_get("/bidder/{session}", page("bidder.html"))
