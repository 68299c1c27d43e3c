"""This node's signing identity: an Ed25519 key in the data directory that signs checkpoints.

The key is created on first start (mode 0600, PKCS#8 PEM so standard tools read it) and never
leaves the node; its public half is published at ``GET /api/node``. The same key cosigns other
nodes' checkpoints when this node is a witness (cosignature/v1, a different key id).

Origins name the node and the session: ``<node name>/<session id>``, e.g.
``host.ggzy.example/S-2026-0001``, so a checkpoint can never be mistaken for another log's.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from server.auditlog.note import (
    SIG_COSIGNATURE_V1,
    NoteSigner,
    checkpoint_body,
    cosign,
    sign_note,
)


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the node key, creating it (random, mode 0600) on first start."""
    if path.exists():
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


class Notary:
    """Signs this node's checkpoints and, as a witness, cosigns other nodes' checkpoints."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = name
        self._signer = NoteSigner(name, key)
        self._public_pem = key.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
        )

    def origin(self, session: str) -> str:
        """The checkpoint origin line of a session's log on this node."""
        return f"{self.name}/{session}"

    def sign_checkpoint(self, session: str, size: int, root: bytes) -> str:
        """The signed note of the checkpoint ``(origin, size, root)``."""
        return sign_note(checkpoint_body(self.origin(session), size, root), self._signer)

    def cosign(self, body: str, time_s: int) -> str:
        """A cosignature/v1 line over another log's checkpoint body."""
        return cosign(body, self._signer, time_s)

    @property
    def verifier_key(self) -> str:
        """``name+keyid+key`` for checkpoint signatures."""
        return self._signer.verifier_key()

    @property
    def witness_key(self) -> str:
        """``name+keyid+key`` for this node's cosignatures (type 0x04)."""
        return self._signer.verifier_key(SIG_COSIGNATURE_V1)

    def describe(self) -> dict[str, str]:
        """What ``GET /api/node`` publishes."""
        return {
            "name": self.name,
            "verifier_key": self.verifier_key,
            "witness_key": self.witness_key,
            "public_key_pem": self._public_pem.decode("ascii"),
        }
