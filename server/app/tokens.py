"""Bearer tokens and one-time enrolment codes.

A token is ``v1.<payload>.<mac>``: base64url JSON ``{"s": session, "r": role, "u": subject,
"exp": unix seconds, "g": generation}`` and an HMAC-SHA256 over it with the node's token key. It
is bound to one role, one session and, for an expert, one seat; it expires. ``g`` (absent means 0)
is the revocation generation it was issued in: once the log says a later generation for its role
and subject (``tokens.revoked``, server/domain/access.py) it is refused. Nodes of one deployment
share the token key (``EVALROOM_TOKEN_KEY``) so that any node accepts any token.

Enrolment codes are 12 random digits shown as ``1234-5678-9012``; only a keyed hash is stored.
A code works once, and wrong codes slow their source down (server/app/handlers/enrolment.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from server.app.secrets import Secret
from server.domain.errors import Code, CommandError
from server.domain.roles import INTERNAL_ROLES, Principal, Role

EXPERT_TOKEN_SECONDS = 12 * 3600
STAFF_TOKEN_SECONDS = 7 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: who, until when, and in which revocation generation."""

    principal: Principal
    exp: int
    generation: int = 0


class TokenMinter:
    """Issues and checks tokens and enrolment codes with one node key."""

    def __init__(self, key: Secret) -> None:
        self._key = key.reveal().encode("ascii")

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def issue(
        self, principal: Principal, now: int, lifetime: int | None = None, generation: int = 0
    ) -> str:
        """A token for ``principal`` valid for ``lifetime`` seconds from ``now``."""
        if lifetime is None:
            expert = principal.role is Role.EXPERT
            lifetime = EXPERT_TOKEN_SECONDS if expert else STAFF_TOKEN_SECONDS
        body: dict[str, Any] = {"s": principal.session, "r": str(principal.role)}
        body["u"] = principal.subject
        body["exp"] = now + lifetime
        if generation:
            body["g"] = generation
        payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return f"v1.{_b64(payload)}.{_b64(self._mac(payload))}"

    def check(self, token: Any, now: int) -> Principal:
        """The principal a token stands for, or ``UNAUTHENTICATED`` / ``TOKEN_EXPIRED``."""
        return self.claims(token, now).principal

    def claims(self, token: Any, now: int) -> Claims:
        """The verified claims of a token, or ``UNAUTHENTICATED`` / ``TOKEN_EXPIRED``."""
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 1024:
            raise CommandError(Code.UNAUTHENTICATED, "missing or malformed token")
        version, payload_text, mac_text = token.split(".")
        try:
            payload = _unb64(payload_text)
            mac = _unb64(mac_text)
        except ValueError as exc:
            raise CommandError(Code.UNAUTHENTICATED, "malformed token") from exc
        if version != "v1" or not hmac.compare_digest(mac, self._mac(payload)):
            raise CommandError(Code.UNAUTHENTICATED, "token signature does not verify")
        body = json.loads(payload)  # ours: the MAC verified, so its shape is what issue wrote
        if body["exp"] <= now:
            raise CommandError(Code.TOKEN_EXPIRED, "token expired; sign in again")
        role = Role(body["r"])
        if role in INTERNAL_ROLES:  # the node's own principals: never behind a token
            raise CommandError(Code.UNAUTHENTICATED, f"no token stands for the {role} role")
        return Claims(Principal(role, body["s"], body["u"]), body["exp"], body.get("g", 0))

    def code_hash(self, session: str, seat: str, code: str) -> bytes:
        """The keyed hash stored for an enrolment code (digits only, separators ignored)."""
        digits = "".join(ch for ch in code if ch.isdigit())
        return hmac.new(self._key, f"{session}|{seat}|{digits}".encode(), hashlib.sha256).digest()


def new_code() -> str:
    """A fresh one-time enrolment code, e.g. ``0417-9932-1180``."""
    digits = f"{secrets.randbelow(10**12):012d}"
    return f"{digits[0:4]}-{digits[4:8]}-{digits[8:12]}"


def new_session_id() -> str:
    """A session id that is hard to guess and easy to read out."""
    return "s-" + secrets.token_hex(6)
