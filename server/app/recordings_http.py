"""HTTP routes of the seat recordings: the list the log names, and each file with Range support.

The log is the source of truth: a recording is listed, and served, only when a
``recording.closed`` event of the session names it; the folder is never scanned. Auditors,
supervisors and the admin may read them; experts and the public screen may not.

A ``<video>`` element cannot send an ``Authorization`` header, so these two GET routes (and only
these) also take the token as ``?token=``. A token in a URL can reach access logs and proxies;
the routes answer ``Cache-Control: private, no-store`` and ``Referrer-Policy: no-referrer`` so it
is neither cached nor sent on as a referrer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from server.app.audit_http import CONFIG_DATA_DIR
from server.app.http import SERVICE, bearer
from server.app.service import Service
from server.domain.errors import Code, CommandError
from server.domain.roles import FULL_VIEW_ROLES, Principal
from server.store import log

SCAN_PAGE = 5_000  # events read per query while looking for new recording.closed events
CONTENT_TYPES = {"video": "video/webm", "audio": "audio/webm"}
NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def recording_entry(session: str, seq: int, t: int, data: dict[str, Any]) -> dict[str, Any]:
    """One listed recording: the event's ``seq`` and time, its data, and where to fetch it."""
    url = f"/api/sessions/{session}/recordings/{data['file']}"
    return {"seq": seq, "t": t, **data, "url": url}


def plain_file_name(name: str) -> bool:
    """Whether ``name`` names a file inside one folder (no separator, not ``.`` or ``..``)."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


@dataclass
class _Seen:
    upto: int = 0  # every event up to this seq has been looked at
    by_file: dict[str, dict[str, Any]] = field(default_factory=dict)


class RecordingIndex:
    """The ``recording.closed`` events of each session, read once and then only the new ones.

    Events never change once written, so what was read stays true: each request reads only the
    events after the last one looked at. Two requests racing merge the same facts.
    """

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}

    async def recordings(self, service: Service, session: str) -> list[dict[str, Any]]:
        """Every logged recording of ``session`` in log order (``unknown_session`` if none)."""
        seen = self._seen.get(session) or _Seen()
        async with service.engine.connect() as conn:
            if await log.head_txn(conn, session) is None:
                raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
            limited = True
            while limited:
                page = await log.read_after_txn(conn, session, seen.upto, SCAN_PAGE)
                for event in page.events:
                    if event.type == "recording.closed":
                        entry = recording_entry(session, event.seq, event.time_ms, event.data)
                        seen.by_file.setdefault(event.data["file"], entry)
                seen.upto, limited = max(seen.upto, page.head), page.limited
        self._seen[session] = seen
        return sorted(seen.by_file.values(), key=lambda entry: entry["seq"])

    async def find(self, service: Service, session: str, name: str) -> dict[str, Any] | None:
        """The logged recording called ``name``, if the log names one."""
        return next((r for r in await self.recordings(service, session) if r["file"] == name), None)


RECORDINGS = web.AppKey("recordings", RecordingIndex)


def _token(request: web.Request) -> str | None:
    # Only these GET routes read ``?token=``: a <video> src cannot carry a header.
    return bearer(request) or request.query.get("token")


async def _staff(request: web.Request) -> Principal:
    """An auditor, supervisor or admin of the session in the path."""
    service = request.app[SERVICE]
    token = _token(request)
    try:
        return service.auth.admin_principal(token)
    except CommandError:
        principal = await service.auth.authenticate(token)
    if principal.session != request.match_info["session"]:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    if principal.role not in FULL_VIEW_ROLES:
        raise CommandError(Code.FORBIDDEN, "recordings are for auditors and supervisors")
    return principal


def _not_found(message: str) -> web.Response:
    # No domain error code fits a file (``unknown_session`` would mislead a client).
    error = {"code": "unknown_recording", "message": message}
    return web.json_response({"ok": False, "error": error}, status=404, headers=NO_STORE)


async def list_recordings(request: web.Request) -> web.Response:
    await _staff(request)
    session = request.match_info["session"]
    recordings = await request.app[RECORDINGS].recordings(request.app[SERVICE], session)
    body = {"ok": True, "session": session, "recordings": recordings}
    return web.json_response(body, headers=NO_STORE)


async def recording_file(request: web.Request) -> web.StreamResponse:
    """The file a ``recording.closed`` event names, with Range support and its logged hash."""
    await _staff(request)
    session, name = request.match_info["session"], request.match_info["file"]
    entry = None
    if plain_file_name(name):
        entry = await request.app[RECORDINGS].find(request.app[SERVICE], session, name)
    if entry is None:
        return _not_found(f"no recording {name!r} in the log of session {session}")
    folder = request.app[CONFIG_DATA_DIR] / "recordings" / session
    path = folder / name
    if path.parent != folder or not path.is_file():
        return _not_found(f"recording {name!r} is logged but its file is not on this node")
    headers = {
        **NO_STORE,
        "Content-Type": CONTENT_TYPES.get(entry["track"], "application/octet-stream"),
        "Content-Disposition": f'inline; filename="{name}"',
        "X-Content-SHA256": entry["sha256"],  # of the whole file, also on a 206
    }
    return web.FileResponse(Path(path), headers=headers)


def add_recording_routes(app: web.Application) -> None:
    """Register the recording routes (documented in docs/PROTOCOL.md)."""
    app[RECORDINGS] = RecordingIndex()
    app.router.add_get("/api/sessions/{session}/recordings", list_recordings)
    app.router.add_get("/api/sessions/{session}/recordings/{file}", recording_file)
