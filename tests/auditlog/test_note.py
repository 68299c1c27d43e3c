"""Signed notes, checkpoints and cosignatures against the Go sumdb/note and C2SP vectors."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.auditlog.note import (
    SIG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    NoteSigner,
    add_signature_lines,
    checkpoint_body,
    cosign,
    open_note,
    parse_checkpoint,
    parse_signature_line,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_cosignature,
    verify_note,
)

# golang.org/x/mod/sumdb/note note_test.go: TestSign / TestOpen.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)
# c2sp.org/tlog-cosignature: the example witness line and the time in its example message.
C2SP_COSIG = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)


def go_signer() -> NoteSigner:
    material = base64.b64decode(GO_SKEY.split("+", 4)[-1])
    assert material[0] == 1
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(material[1:]))


def test_go_vector_signer_key_and_signature() -> None:
    signer = go_signer()
    assert signer.verifier_key() == GO_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert sign_note(GO_TEXT, signer) == GO_TEXT + "\n" + GO_PETER_SIG


def test_go_vector_open_with_two_signers() -> None:
    note = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    body, lines = open_note(note)
    assert body == GO_TEXT
    assert [(line.name, line.key_id.hex()) for line in lines] == [
        ("PeterNeumann", "c74f20a3"),
        ("EnochRoot", "af0cfe78"),
    ]
    assert verify_note(note, parse_verifier_key(GO_VKEY)) == GO_TEXT
    assert verify_note(note, parse_verifier_key(ENOCH_VKEY)) == GO_TEXT


def test_go_vector_corrupt_signature_rejected() -> None:
    bad = GO_TEXT + "\n" + GO_PETER_SIG[:60] + "ABCD" + GO_PETER_SIG[60:]
    with pytest.raises(NoteError, match="PeterNeumann"):
        verify_note(bad, parse_verifier_key(GO_VKEY))


@pytest.mark.parametrize(
    "text",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + GO_PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + GO_PETER_SIG,
        GO_TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
        "KvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_TEXT + "\n" + GO_PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + GO_PETER_SIG * 101,
    ],
)
def test_go_vector_malformed_notes(text: str) -> None:
    with pytest.raises(NoteError):
        verify_note(text, parse_verifier_key(GO_VKEY))


def test_verifier_key_manglings_rejected() -> None:
    parse_verifier_key(GO_VKEY)
    raw = bytearray(GO_VKEY.encode())
    for position in range(len(raw)):
        raw[position] += 1
        with pytest.raises(NoteError):
            parse_verifier_key(raw.decode("latin-1"))
        raw[position] -= 1
    for cut in range(1, len(GO_VKEY)):
        with pytest.raises(NoteError):
            parse_verifier_key(GO_VKEY[:cut])
    # Go's wrong-length and unknown-algorithm keys with adjusted key hashes.
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]:
        with pytest.raises(NoteError):
            parse_verifier_key(bad)


def test_wrong_key_and_modified_body_rejected() -> None:
    signer = NoteSigner("node.example/s1", Ed25519PrivateKey.generate())
    other = NoteSigner("node.example/s1", Ed25519PrivateKey.generate())
    note = sign_note(checkpoint_body("node.example/s1", 5, bytes(32)), signer)
    verify_note(note, parse_verifier_key(signer.verifier_key()))
    with pytest.raises(NoteError, match="no signature"):
        verify_note(note, parse_verifier_key(other.verifier_key()))
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(note.replace("\n5\n", "\n6\n"), parse_verifier_key(signer.verifier_key()))


def test_checkpoint_format_round_trip() -> None:
    root = bytes(range(32))
    body = checkpoint_body("example.com/log", 20852163, root)
    assert body == f"example.com/log\n20852163\n{base64.b64encode(root).decode()}\n"
    assert parse_checkpoint(body) == Checkpoint("example.com/log", 20852163, root)
    c2sp = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert parse_checkpoint(c2sp).size == 20852163
    for bad in [
        "o\n01\n" + base64.b64encode(root).decode() + "\n",
        "o\n-1\n" + base64.b64encode(root).decode() + "\n",
        "o\n1\n" + base64.b64encode(root[:31]).decode() + "\n",
        "o\n1\n",
        "\n1\n" + base64.b64encode(root).decode() + "\n",
        "o\n1\n" + base64.b64encode(root).decode(),
    ]:
        with pytest.raises(NoteError):
            parse_checkpoint(bad)


def test_c2sp_cosignature_line_layout() -> None:
    line = parse_signature_line(C2SP_COSIG)
    assert line.name == "witness.example.com/w1"
    assert line.key_id.hex() == "8d66cf3f"
    # The spec's example signed message says "time 1679315147".
    assert struct.unpack(">Q", line.payload[:8]) == (1679315147,)
    assert len(line.payload) == 8 + 64


def test_cosign_and_verify() -> None:
    node = NoteSigner("node.example/s1", Ed25519PrivateKey.generate())
    witness = NoteSigner("witness.example/w1", Ed25519PrivateKey.generate())
    body = checkpoint_body("node.example/s1", 7, bytes(32))
    note = sign_note(body, node)
    line_text = cosign(body, witness, 1_700_000_000)
    cosigned = add_signature_lines(note, [line_text, line_text])
    assert cosigned.count(witness.name) == 1
    vkey = witness.verifier_key(SIG_COSIGNATURE_V1)
    verifier = parse_verifier_key(vkey)
    assert vkey == verifier_key(witness.name, witness.public_key, SIG_COSIGNATURE_V1)
    _, lines = open_note(cosigned)
    assert verify_cosignature(body, lines[1], verifier) == 1_700_000_000
    # Still a valid note for the node key; the cosignature's key id differs from 0x01's.
    verify_note(cosigned, parse_verifier_key(node.verifier_key()))
    assert witness.cosign_key_id != witness.key_id
    with pytest.raises(NoteError):
        verify_cosignature(body.replace("\n7\n", "\n8\n"), lines[1], verifier)
    with pytest.raises(NoteError, match="not a cosignature"):
        verify_cosignature(body, lines[1], parse_verifier_key(node.verifier_key()))
    forged = parse_signature_line(line_text[:-1])
    shifted = type(forged)(forged.name, forged.key_id, struct.pack(">Q", 1) + forged.payload[8:])
    with pytest.raises(NoteError, match="does not verify"):
        verify_cosignature(body, shifted, verifier)
