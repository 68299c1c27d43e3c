"""C2SP signed notes, tlog checkpoints and Ed25519 cosignatures (cosignature/v1).

Why these formats: a checkpoint in the C2SP signed-note format verifies with the Go
``golang.org/x/mod/sumdb/note`` package, the transparency-dev witnesses and plain openssl, so an
auditor never has to trust our code to check what the node signed. The references are
c2sp.org/signed-note, c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature.

* A note is a text ending in ``\\n``, a blank line, then signature lines
  ``"— <name> base64(key id || signature)\\n"`` (em dash U+2014, space). The text signed is the
  body including its final newline, without the blank line.
* key id = ``SHA-256(name || 0x0A || type || public key)[:4]``; type ``0x01`` is an Ed25519 note
  signature, ``0x04`` an Ed25519 cosignature/v1. A verifier key (vkey) is
  ``name+hex(key id)+base64(type || public key)``.
* A cosignature/v1 signs ``"cosignature/v1\\ntime <T>\\n" + body`` and its line payload is
  ``key id || uint64 big-endian T || signature``.

Pure: no IO and no clock; the cosignature time is an argument.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
EM_DASH_PREFIX = "\u2014 "
MAX_SIGNATURES = 100  # Go's note.Open limit; the spec asks verifiers to accept at least 16
HASH_SIZE = 32


class NoteError(ValueError):
    """A note, checkpoint, key or signature is malformed or does not verify; says which."""


def b64decode_canonical(text: str, what: str) -> bytes:
    """Standard base64 that must re-encode to exactly ``text``.

    Why strict: a lenient decoder accepts several spellings of the same bytes (padding bits), and
    an archive must not contain text that changed while every check still passes.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """The 4-byte key id ``SHA-256(name || 0x0A || type || public key)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()[
        :4
    ]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding)."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    """A parsed verifier key: who (name, key id), which scheme, and the loaded public key."""

    name: str
    sig_type: int
    key_id: bytes
    public_key: bytes
    key: Ed25519PublicKey

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature over ``message``."""
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def vkey(self) -> str:
        """The verifier key string this verifier was parsed from."""
        return verifier_key(self.name, self.public_key, self.sig_type)


class NoteSigner:
    """A named Ed25519 key that signs notes (type 0x01) and cosigns checkpoints (type 0x04)."""

    __slots__ = ("_private", "cosign_key_id", "key_id", "name", "public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Bind a key name to a private key; the key ids follow from both."""
        _check_name(name)
        self.name = name
        self._private = private_key
        self.public_key = raw_public_key(private_key.public_key())
        self.key_id = key_id(name, SIG_ED25519, self.public_key)
        self.cosign_key_id = key_id(name, SIG_COSIGNATURE_V1, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The raw Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def verifier_key(self, sig_type: int = SIG_ED25519) -> str:
        """This signer's verifier key string for notes (0x01) or cosignatures (0x04)."""
        return verifier_key(self.name, self.public_key, sig_type)

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, key_id={self.key_id.hex()})"


def verifier_key(
    name: str, public_key: bytes | Ed25519PublicKey, sig_type: int = SIG_ED25519
) -> str:
    """``name+hex(key id)+base64(type || public key)`` for an Ed25519 key."""
    _check_name(name)
    raw = raw_public_key(public_key) if isinstance(public_key, Ed25519PublicKey) else public_key
    if len(raw) != 32:
        raise NoteError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    encoded = base64.b64encode(bytes([sig_type]) + raw).decode("ascii")
    return f"{name}+{key_id(name, sig_type, raw).hex()}+{encoded}"


def parse_verifier_key(text: str) -> Verifier:
    """Parse a verifier key string; the key id must match the name, type and key."""
    parts = text.split("+", 2)  # the name has no '+', base64 may
    if len(parts) != 3:
        raise NoteError("a verifier key is name+keyid+key")
    name, hex_id, b64_key = parts
    _check_name(name)
    if len(hex_id) != 8 or hex_id != hex_id.lower():
        raise NoteError("verifier key id must be 8 lowercase hex digits")
    try:
        wanted_id = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise NoteError("verifier key id is not hex") from exc
    material = b64decode_canonical(b64_key, "verifier key")
    if len(material) != 33 or material[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise NoteError("verifier key is not an Ed25519 (0x01) or cosignature/v1 (0x04) key")
    sig_type, raw = material[0], material[1:]
    if key_id(name, sig_type, raw) != wanted_id:
        raise NoteError("verifier key id does not match its name and key")
    try:
        loaded = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise NoteError("verifier key is not an Ed25519 public key") from exc
    return Verifier(name, sig_type, wanted_id, raw, loaded)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The first three lines of a tlog checkpoint: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The checkpoint note text ``origin\\nsize\\nbase64(root)\\n``."""
    if not origin or "\n" in origin:
        raise NoteError("checkpoint origin must be one non-empty line")
    if size < 0 or len(root) != HASH_SIZE:
        raise NoteError("checkpoint needs a size >= 0 and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (extension lines are allowed, non-empty, and ignored)."""
    if not text.endswith("\n"):
        raise NoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("checkpoint needs origin, size and root on non-empty lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (size_text != "0" and size_text[0] == "0")
    ):
        raise NoteError(f"checkpoint size {size_text!r} is not a decimal without leading zeros")
    root = b64decode_canonical(root_text, "checkpoint root")
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root is {len(root)} bytes, want {HASH_SIZE}")
    return Checkpoint(origin, int(size_text), root)


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One parsed note signature line: key name, 4-byte key id and the bytes after the id."""

    name: str
    key_id: bytes
    payload: bytes

    def text(self) -> str:
        """The line as it appears in a note, with its newline."""
        encoded = base64.b64encode(self.key_id + self.payload).decode("ascii")
        return f"{EM_DASH_PREFIX}{self.name} {encoded}\n"


def _check_text(text: str) -> None:
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise NoteError("note contains an ASCII control character")


def _check_body(body: str) -> None:
    if not body.endswith("\n") or "\n\n" in body or body.startswith("\n"):
        raise NoteError("note text must end with one newline and contain no blank line")
    _check_text(body)


def parse_signature_line(line: str) -> SignatureLine:
    """Parse one ``— name base64`` line (without its newline)."""
    if not line.startswith(EM_DASH_PREFIX):
        raise NoteError(f"signature line does not start with an em dash: {line[:40]!r}")
    parts = line[len(EM_DASH_PREFIX) :].split(" ")
    if len(parts) != 2:
        raise NoteError("signature line is not '— name signature'")
    name, encoded = parts
    _check_name(name)
    raw = b64decode_canonical(encoded, f"signature of {name}")
    if len(raw) < 5:
        raise NoteError(f"signature of {name} is too short")
    return SignatureLine(name, raw[:4], raw[4:])


def open_note(text: str) -> tuple[str, list[SignatureLine]]:
    """Split a signed note into its body and parsed signature lines (nothing is verified).

    The body ends at the last blank line, as the spec and Go's ``note.Open`` say.
    """
    _check_text(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("note signatures must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return body, [parse_signature_line(line) for line in lines]


def sign_note(body: str, signer: NoteSigner) -> str:
    """``body`` followed by a blank line and the signer's Ed25519 note signature."""
    _check_body(body)
    signature = signer.sign(body.encode("utf-8"))
    return body + "\n" + SignatureLine(signer.name, signer.key_id, signature).text()


def add_signature_lines(note: str, lines: list[str]) -> str:
    """Append signature lines (e.g. cosignatures) to a signed note, skipping exact duplicates."""
    _, existing = open_note(note)
    seen = {line.text() for line in existing}
    result = note
    for line in lines:
        parsed = parse_signature_line(line.removesuffix("\n"))
        if parsed.text() not in seen:
            seen.add(parsed.text())
            result += parsed.text()
    return result


def verify_note(text: str, verifier: Verifier) -> str:
    """Check ``text`` carries a valid note signature by ``verifier``; return the body.

    Every line with the verifier's name and key id must verify (a failing known signature rejects
    the note, as the spec recommends) and at least one must be present.
    """
    if verifier.sig_type != SIG_ED25519:
        raise NoteError(f"{verifier.name} is not a note-signing (0x01) key")
    body, lines = open_note(text)
    message = body.encode("utf-8")
    found = False
    for line in lines:
        if line.name == verifier.name and line.key_id == verifier.key_id:
            if not verifier.verify(message, line.payload):
                raise NoteError(f"signature by {verifier.name} does not verify")
            found = True
    if not found:
        raise NoteError(f"no signature by {verifier.name}+{verifier.key_id.hex()}")
    return body


def cosignature_message(body: str, time_s: int) -> bytes:
    """The bytes a cosignature/v1 signs: header line, time line, then the checkpoint body."""
    if not 0 <= time_s < 2**63:
        raise NoteError(f"cosignature time {time_s} is outside 0..2**63-1")
    return f"cosignature/v1\ntime {time_s}\n{body}".encode()


def cosign(body: str, signer: NoteSigner, time_s: int) -> str:
    """A cosignature/v1 line (with newline) by ``signer`` over checkpoint ``body`` at ``time_s``."""
    _check_body(body)
    signature = signer.sign(cosignature_message(body, time_s))
    payload = struct.pack(">Q", time_s) + signature
    return SignatureLine(signer.name, signer.cosign_key_id, payload).text()


def verify_cosignature(body: str, line: SignatureLine, verifier: Verifier) -> int:
    """Check a cosignature/v1 line over ``body``; return its timestamp (seconds)."""
    if verifier.sig_type != SIG_COSIGNATURE_V1:
        raise NoteError(f"{verifier.name} is not a cosignature/v1 (0x04) key")
    if line.name != verifier.name or line.key_id != verifier.key_id:
        raise NoteError(f"line by {line.name}+{line.key_id.hex()} is not from {verifier.name}")
    if len(line.payload) != 8 + 64:
        raise NoteError(f"cosignature by {verifier.name} is not timestamp + 64-byte signature")
    (time_s,) = struct.unpack(">Q", line.payload[:8])
    if time_s >= 2**63:
        raise NoteError(f"cosignature by {verifier.name} has a timestamp over 2**63-1")
    if not verifier.verify(cosignature_message(body, time_s), line.payload[8:]):
        raise NoteError(f"cosignature by {verifier.name} does not verify")
    return int(time_s)
