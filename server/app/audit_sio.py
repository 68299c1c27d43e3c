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
from server.domain.roles import Principal


def register_audit(sio: socketio.AsyncServer, audit: AuditService, grants: SocketGrants) -> None:
    """Attach ``checkpoint`` and ``proof`` to the default namespace."""

    async def checkpoint(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """The newest signed checkpoint of the client's session."""
        return await audit.latest(principal.session)

    async def proof(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Inclusion ``{"kind", "seq", "size"?}`` or consistency ``{"kind", "from", "to"}``."""
        session = principal.session
        if not isinstance(data, dict):
            raise CommandError(Code.MALFORMED, "expected a JSON object")
        if data.get("kind") == "inclusion":
            return await audit.inclusion(session, data.get("seq"), data.get("size"))
        if data.get("kind") == "consistency":
            return await audit.consistency(session, data.get("from"), data.get("to"))
        raise CommandError(Code.MALFORMED, "kind must be 'inclusion' or 'consistency'")

    for handler in (checkpoint, proof):
        sio.on(handler.__name__, grants.answering(NAMESPACE, "read", handler))
