"""Small builders shared by the domain and store tests (no network)."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from server.auditlog.canonical import canonical_bytes
from server.domain.commands import SignedCommand


def public_b64(key: Ed25519PrivateKey) -> str:
    """The raw public key, base64."""
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def signed(
    key: Ed25519PrivateKey, session: str, seat: str, kind: str, cmd: str, **fields: Any
) -> SignedCommand:
    """A signed expert command exactly as a seat would send it."""
    payload = {"type": kind, "session": session, "seat": seat, "cmd": cmd, "t": 1, **fields}
    raw = canonical_bytes(payload)
    return SignedCommand(kind, raw.decode(), base64.b64encode(key.sign(raw)).decode())
