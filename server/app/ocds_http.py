"""The evaluation outcome as open data: ``GET /api/sessions/{session}/ocds.json``, an OCDS 1.1
release package (server/report/ocds.py) for the trading centre to publish (中标候选人公示).

Staff only (the admin's bearer token, or a supervisor's or auditor's): the centre publishes it,
the public screen does not serve it. The ``ocid`` prefix is ``EVALROOM_OCID_PREFIX`` (the
publisher's, registered with the OCDS helpdesk), ``ocds-evalrm`` until one is set.
"""

from __future__ import annotations

import json
import os

from aiohttp import web

from server.app.http import SERVICE, bearer
from server.domain.errors import Code, CommandError
from server.domain.roles import FULL_VIEW_ROLES
from server.report.ocds import DEFAULT_PREFIX, release, release_package


async def ocds(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    session = request.match_info["session"]
    token = bearer(request)
    try:
        service.auth.admin_principal(token)
    except CommandError:
        principal = await service.auth.authenticate(token)
        if principal.session != session or principal.role not in FULL_VIEW_ROLES:
            raise CommandError(Code.FORBIDDEN, "the open data is published by staff") from None
    state = await service.read.state(session)
    try:
        found = release(state, os.environ.get("EVALROOM_OCID_PREFIX", DEFAULT_PREFIX))
    except ValueError as error:
        raise CommandError(Code.WRONG_PHASE, str(error)) from None
    uri = f"{request.scheme}://{request.host}{request.path}"
    package = release_package([found], uri, found["date"], state.lot.venues[0].name)
    return web.json_response(package, dumps=_dumps)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def add_ocds_routes(app: web.Application) -> None:
    """Register the open-data route (documented in docs/PROTOCOL.md)."""
    app.router.add_get("/api/sessions/{session}/ocds.json", ocds)
