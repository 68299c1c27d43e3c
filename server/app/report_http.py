"""HTTP routes of the evaluation report: its state, the PDF to sign, the signed rendering.

Members (expert seats) and staff of the session may read them; the public screen may not.
The report is issued with the ``report.issue`` command and signed with ``report.sign``.
"""

from __future__ import annotations

from aiohttp import web

from server.app.http import SERVICE, bearer
from server.domain.errors import Code, CommandError
from server.domain.roles import PUBLIC_VIEW_ROLES, Principal


async def _reader(request: web.Request) -> Principal:
    token = bearer(request)
    principal = await request.app[SERVICE].auth.authenticate(token)
    if principal.session != request.match_info["session"]:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    if principal.role in PUBLIC_VIEW_ROLES:
        raise CommandError(Code.FORBIDDEN, "the public screen does not see the report")
    return principal


async def report_state(request: web.Request) -> web.Response:
    answer = await request.app[SERVICE].reports.report(await _reader(request))
    return web.json_response({"ok": True, **answer})


async def _pdf(request: web.Request, signed: bool) -> web.FileResponse:
    service = request.app[SERVICE]
    principal = await _reader(request)
    report = (await service.reports.report(principal))["report"]
    if report is None or service.reports.desk is None:
        raise CommandError(Code.NO_REPORT, "no report has been issued yet")
    session = principal.session
    path = (
        service.reports.desk.signed_pdf(session)
        if signed
        else service.reports.desk.unsigned_pdf(session, report["hash"])
    )
    if not path.exists():
        raise CommandError(Code.NO_REPORT, "the report file is not on this node")
    response = web.FileResponse(path, headers={"Content-Type": "application/pdf"})
    kind = "signed" if signed else report["hash"][:12]
    response.headers["Content-Disposition"] = f'inline; filename="report-{session}-{kind}.pdf"'
    return response


async def unsigned_pdf(request: web.Request) -> web.StreamResponse:
    return await _pdf(request, signed=False)


async def signed_pdf(request: web.Request) -> web.StreamResponse:
    return await _pdf(request, signed=True)


def add_report_routes(app: web.Application) -> None:
    """Register the report routes (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/api/sessions/{session}/report", report_state)
    app.router.add_get("/api/sessions/{session}/report.pdf", unsigned_pdf)
    app.router.add_get("/api/sessions/{session}/report/signed.pdf", signed_pdf)
