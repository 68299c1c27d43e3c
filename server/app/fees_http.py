"""HTTP routes of the expert fees (专家劳务报酬), for the admin: the payment export (CSV) and each
member's statement (PDF), both from the ``fees.computed`` event the seal logged.

Names come from the draw's notice (server/app/draw_desk.py) when the session had a draw, and
only here and in the notice; without a draw the rows name seats.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.app.draw_http import DRAW_DESK
from server.app.http import SERVICE, bearer
from server.domain.errors import Code, CommandError
from server.domain.state import SessionState
from server.report.fee_statement import payment_csv, render_statement


async def _fees(request: web.Request) -> tuple[SessionState, dict[str, Any]]:
    service = request.app[SERVICE]
    service.auth.admin_principal(bearer(request))
    state = await service.read.state(request.match_info["session"])
    if state.fees is None:
        raise CommandError(Code.NO_REPORT, "no fees are computed: they are, with the seal")
    return state, state.fees


async def fees_csv(request: web.Request) -> web.Response:
    state, fees = await _fees(request)
    people = await request.app[DRAW_DESK].people(state)
    body = payment_csv(fees, people)
    response = web.Response(body=body, content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="fees-{state.session}.csv"'
    return response


async def statement_pdf(request: web.Request) -> web.Response:
    state, fees = await _fees(request)
    seat = request.match_info["seat"]
    row = next((r for r in fees["statements"] if r["seat"] == seat), None)
    if row is None:
        raise CommandError(Code.UNKNOWN_SEAT, f"no fee statement for seat {seat!r}")
    person = (await request.app[DRAW_DESK].people(state)).get(seat)
    project = {"code": state.lot.project_code, "name": state.lot.project_name}
    issued = state.phase_times.get("closed", state.phase_times["prepared"])
    pdf = await asyncio.to_thread(render_statement, project, state.session, row, issued, person)
    response = web.Response(body=pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="fee-{state.session}-{seat}.pdf"'
    return response


def add_fees_routes(app: web.Application) -> None:
    """Register the fee routes (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/api/sessions/{session}/fees.csv", fees_csv)
    app.router.add_get("/api/sessions/{session}/fees/{seat}.pdf", statement_pdf)
