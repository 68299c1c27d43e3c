"""Checking what an expert signed: canonical bytes, Ed25519 signature, binding to the command.

The signed payload is the exact canonical JSON the expert's device signed. It names the session,
seat, command type and client command id, so the same bytes cannot be replayed under another
session, seat or command id. The scheme is named in the enrolled key so another scheme (SM2) can be
added beside Ed25519 without changing the log format.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.auditlog.canonical import CanonicalError, parse_canonical
from server.domain.errors import Code, CommandError

MAX_SIGNED_BYTES = 4096
SCHEME_ED25519 = "ed25519"


def b64decode_strict(text: Any, what: str, size: int | None = None) -> bytes:
    """Decode standard base64 (padding optional), refusing junk; check the length if given."""
    if not isinstance(text, str) or len(text) > 4 * MAX_SIGNED_BYTES:
        raise CommandError(Code.MALFORMED, f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CommandError(Code.MALFORMED, f"{what} is not valid base64") from exc
    if size is not None and len(raw) != size:
        raise CommandError(Code.MALFORMED, f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def public_key_from_b64(text: Any) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw 32 bytes in base64."""
    raw = b64decode_strict(text, "public key", 32)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CommandError(Code.BAD_KEY, "not an Ed25519 public key") from exc


@lru_cache(maxsize=4096)
def _cached_key(text: str) -> Ed25519PublicKey:
    # Enrolled keys are few and verified thousands of times: parse each once.
    return public_key_from_b64(text)


def parse_signed(signed: Any) -> tuple[bytes, dict[str, Any]]:
    """The signed payload as bytes and as a parsed canonical JSON object."""
    if not isinstance(signed, str):
        raise CommandError(Code.MALFORMED, "'signed' must be the signed JSON text")
    raw = signed.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_SIGNED_BYTES:
        raise CommandError(Code.TOO_LARGE, f"signed payload over {MAX_SIGNED_BYTES} bytes")
    try:
        body = parse_canonical(raw)
    except CanonicalError as exc:
        raise CommandError(Code.MALFORMED, f"signed payload: {exc}") from exc
    if not isinstance(body, dict):
        raise CommandError(Code.MALFORMED, "signed payload must be a JSON object")
    return raw, body


def verify_signature(public_key_b64: str, raw: bytes, sig_b64: Any) -> None:
    """Raise ``BAD_SIGNATURE`` unless ``sig_b64`` is the seat key's signature over ``raw``."""
    if sig_b64 is None:
        raise CommandError(Code.BAD_SIGNATURE, "signature missing")
    sig = b64decode_strict(sig_b64, "signature")
    if len(sig) != 64:
        raise CommandError(Code.BAD_SIGNATURE, "an Ed25519 signature is 64 bytes")
    try:
        _cached_key(public_key_b64).verify(sig, raw)
    except InvalidSignature as exc:
        raise CommandError(
            Code.BAD_SIGNATURE, "signature does not verify with the seat key"
        ) from exc
