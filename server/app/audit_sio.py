"""socket.io handlers of the audit trail: ``checkpoint`` and ``proof``.

Any connected client may ask (the answers hold sizes and hashes only). Supervisors and auditors
also receive every new checkpoint live as a ``checkpoint`` message (see the Dispatcher).
"""

from __future__ import annotations

from typing import Any

import socketio

from server.app.audit_service import AuditService
from server.app.sio import NAMESPACE
from server.app.socket_grants import SocketGrants
from server.domain.errors import Code, CommandError


def register_audit(sio: socketio.AsyncServer, audit: AuditService, grants: SocketGrants) -> None:
    """Attach ``checkpoint`` and ``proof`` to the default namespace."""

    async def session_of(sid: str) -> str:
        principal = grants.principal(NAMESPACE, sid)
        grants.throttle(NAMESPACE, sid, "read")
        return principal.session

    @sio.on("checkpoint")  # type: ignore[untyped-decorator]
    async def checkpoint(sid: str, data: Any = None) -> dict[str, Any]:
        """The newest signed checkpoint of the client's session."""
        try:
            return await audit.latest(await session_of(sid))
        except CommandError as error:
            return {"ok": False, "error": error.to_json()}

    @sio.on("proof")  # type: ignore[untyped-decorator]
    async def proof(sid: str, data: Any = None) -> dict[str, Any]:
        """Inclusion ``{"kind", "seq", "size"?}`` or consistency ``{"kind", "from", "to"}``."""
        try:
            session = await session_of(sid)
            if not isinstance(data, dict):
                raise CommandError(Code.MALFORMED, "expected a JSON object")
            if data.get("kind") == "inclusion":
                return await audit.inclusion(session, data.get("seq"), data.get("size"))
            if data.get("kind") == "consistency":
                return await audit.consistency(session, data.get("from"), data.get("to"))
            raise CommandError(Code.MALFORMED, "kind must be 'inclusion' or 'consistency'")
        except CommandError as error:
            return {"ok": False, "error": error.to_json()}
