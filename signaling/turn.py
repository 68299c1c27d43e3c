"""TURN credentials in coturn's ``use-auth-secret`` scheme (the TURN REST API draft).

The server and coturn share a secret and nothing else: no user database, no call between them.
A credential is ``username = "<expiry>:<user>"`` and ``password = base64(HMAC-SHA1(secret,
username))``; coturn recomputes the password from the username and refuses it once the expiry (in
Unix seconds) has passed. HMAC-SHA1 is what coturn computes, not a choice made here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field

# The expiry coturn reads before the first ':' is plain decimal digits.
_EXPIRY = re.compile(r"[0-9]{1,20}", re.ASCII)


@dataclass(frozen=True, slots=True)
class TurnCredential:
    """A TURN username and password, valid until ``expires_s`` (Unix seconds)."""

    username: str
    # Short-lived, but still a credential: keep it out of logs that print the object.
    password: str = field(repr=False)
    expires_s: int


def _password(secret: bytes, username: str) -> str:
    digest = hmac.new(secret, username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def mint(secret: bytes, user_id: str, now_s: int, ttl_s: int) -> TurnCredential:
    """A credential for ``user_id`` valid for ``ttl_s`` seconds from ``now_s``."""
    if not secret:
        raise ValueError("the TURN secret is empty")
    if ttl_s <= 0:
        raise ValueError(f"TURN credential lifetime must be positive, got {ttl_s}")
    # ':' separates the expiry from the user in the username: a user id holding one would be
    # ambiguous to whoever reads coturn's logs.
    if not user_id or ":" in user_id:
        raise ValueError(f"TURN user id must be non-empty and hold no ':', got {user_id!r}")
    expires_s = now_s + ttl_s
    username = f"{expires_s}:{user_id}"
    return TurnCredential(username, _password(secret, username), expires_s)


def check(secret: bytes, username: str, password: str, now_s: int) -> bool:
    """What coturn does: the password matches the username (constant time) and is not expired."""
    expiry, sep, user = username.partition(":")
    if not sep or not user or not _EXPIRY.fullmatch(expiry):
        return False
    # coturn refuses a timestamp earlier than now: the expiry second itself is still valid.
    if int(expiry) < now_s:
        return False
    expected = _password(secret, username).encode("ascii")
    return hmac.compare_digest(expected, password.encode("utf-8", errors="surrogatepass"))


def refresh_due(cred: TurnCredential, now_s: int, margin_s: int) -> bool:
    """Whether ``cred`` expires within ``margin_s`` seconds and a new one should be sent."""
    if margin_s < 0:
        raise ValueError(f"refresh margin must not be negative, got {margin_s}")
    return now_s >= cred.expires_s - margin_s
