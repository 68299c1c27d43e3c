"""Archive checks of the files around the log: manifest, checkpoints, keys, recordings.

Split from :mod:`server.auditlog.verify` (the streaming walk over the events and the report of
problems); every function here checks data already read and records what fails in the report.
Pure: no IO.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from server.auditlog.canonical import CanonicalError, parse_canonical
from server.auditlog.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof_from,
    verify_consistency,
)
from server.auditlog.note import (
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteError,
    Verifier,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    verify_cosignature,
    verify_note,
)
from server.auditlog.verify import MANIFEST_KEYS, LogWalk, Report


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose note parsed: where it is, its size and the root it signs."""

    path: str
    size: int
    root: bytes


def parse_manifest(raw: bytes, report: Report) -> dict[str, Any]:
    """The manifest as a dict with the required keys, or ``{}`` after reporting why not."""
    try:
        manifest = parse_canonical(raw)
    except CanonicalError as exc:
        report.add("file", "manifest.json", f"not canonical JSON: {exc}")
        return {}
    if not isinstance(manifest, dict) or manifest.keys() != MANIFEST_KEYS:
        report.add("file", "manifest.json", f"must hold exactly {sorted(MANIFEST_KEYS)}")
        return {}
    if manifest["format"] != "evalroom-archive/1":
        report.add("file", "manifest.json", f"format is {manifest['format']!r}")
    files, events = manifest["files"], manifest["events"]
    if not isinstance(files, dict) or not isinstance(events, int) or events < 0:
        report.add("file", "manifest.json", "files must be an object and events a count")
        return {}
    if not isinstance(manifest["created_ms"], int):
        report.add("file", "manifest.json", "created_ms must be an integer")
    return manifest


def node_verifier(manifest: dict[str, Any], pinned: str | None, report: Report) -> Verifier | None:
    """The node's note key: the pinned one if given (a different manifest key is a problem)."""
    listed = manifest.get("node_key")
    chosen = pinned if pinned is not None else listed
    if pinned is not None and listed != pinned:
        report.add("key", "node_key", "the pinned node key differs from manifest.json's")
    try:
        verifier = parse_verifier_key(chosen) if isinstance(chosen, str) else None
    except NoteError as exc:
        report.add("key", "node_key", f"manifest.json: {exc}")
        return None
    if verifier is None or verifier.sig_type != SIG_ED25519:
        report.add("key", "node_key", "no Ed25519 note key for the node in manifest.json")
        return None
    return verifier


def witness_verifiers(
    manifest: dict[str, Any], report: Report
) -> dict[tuple[str, bytes], Verifier]:
    """The manifest's witness keys by (name, key id); unusable ones are reported."""
    found: dict[tuple[str, bytes], Verifier] = {}
    keys = manifest.get("witness_keys", [])
    for index, text in enumerate(keys if isinstance(keys, list) else [None]):
        try:
            verifier = parse_verifier_key(text) if isinstance(text, str) else None
        except NoteError as exc:
            report.add("key", f"witness_keys[{index}]", f"manifest.json: {exc}")
            continue
        if verifier is None or verifier.sig_type != SIG_COSIGNATURE_V1:
            report.add("key", f"witness_keys[{index}]", "not a cosignature/v1 key in manifest.json")
            continue
        found[(verifier.name, verifier.key_id)] = verifier
    return found


def check_checkpoint(
    path: str,
    size: int,
    raw: bytes,
    origin: Any,
    node: Verifier | None,
    witnesses: dict[tuple[str, bytes], Verifier],
    report: Report,
) -> SignedCheckpoint | None:
    """Parse one checkpoint note and check its node signature and every cosignature.

    Every signature line must come from the node or a listed witness: an archive names all the
    keys whose signatures it carries, so an unknown line means the note or the key list changed.
    """
    try:
        text = raw.decode("utf-8")
        body, lines = open_note(text)
        checkpoint = parse_checkpoint(body)
    except (UnicodeDecodeError, NoteError) as exc:
        report.add("checkpoint", path, f"not a checkpoint note: {exc}")
        return None
    if checkpoint.size != size or checkpoint.origin != origin:
        report.add("checkpoint", path, "size or origin differs from its file name or manifest.json")
    if node is not None:
        try:
            verify_note(text, node)
            report.count("node signatures")
        except NoteError as exc:
            report.add("signature", path, str(exc))
    for line in lines:
        if node is not None and (line.name, line.key_id) == (node.name, node.key_id):
            continue
        witness = witnesses.get((line.name, line.key_id))
        if witness is None:
            report.add("signature", path, f"signature by unknown key {line.name}")
            continue
        try:
            verify_cosignature(body, line, witness)
            report.count("cosignatures")
        except NoteError as exc:
            report.add("signature", path, str(exc))
    return SignedCheckpoint(path, checkpoint.size, checkpoint.root)


def check_tree(checkpoints: list[SignedCheckpoint], walk: LogWalk, report: Report) -> None:
    """Signed roots against recomputed ones; consistency between consecutive checkpoints."""
    count = walk.count
    if count not in {c.size for c in checkpoints}:
        report.add("checkpoint", "checkpoints/", f"no checkpoint at the final size {count}")
    ordered = sorted(checkpoints, key=lambda c: c.size)
    for checkpoint in ordered:
        if checkpoint.size > count:
            report.add("checkpoint", checkpoint.path, f"size is beyond the {count} events")
        elif walk.roots.get(checkpoint.size, EMPTY_ROOT) != checkpoint.root:
            report.add("checkpoint", checkpoint.path, "root differs from the events' tree")
    for old, new in itertools.pairwise(ordered):
        if old.size == 0 or new.size > count:
            continue
        try:
            proof = consistency_proof_from(lambda a, b: walk.subtrees[(a, b)], old.size, new.size)
            verify_consistency(old.size, new.size, proof, old.root, new.root)
            report.count("consistency proofs")
        except (ProofError, KeyError) as exc:
            report.add("checkpoint", new.path, f"not consistent with {old.path}: {exc}")


def check_keys(raw: bytes, enrolments: list[dict[str, Any]], report: Report) -> None:
    """``keys.json`` must list exactly the enrolments found in the events, in order."""
    try:
        listed = parse_canonical(raw)
    except CanonicalError as exc:
        report.add("key", "keys.json", f"not canonical JSON: {exc}")
        return
    if not isinstance(listed, list):
        report.add("key", "keys.json", "must be a list")
        return
    for index in range(max(len(listed), len(enrolments))):
        have = listed[index] if index < len(listed) else None
        want = enrolments[index] if index < len(enrolments) else None
        if have != want:
            seat = (want or have or {}).get("seat") if isinstance(want or have, dict) else None
            report.add("key", f"keys.json[{index}]", f"does not match the enrolment of {seat!r}")
        report.count("keys")


def logged_listing(logged: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``recordings/manifest.json`` as the log says it must be: one entry per ``recording.closed``,
    in log order (the writer builds it from the same events)."""
    return [
        {
            "path": f"recordings/{data.get('file')}",
            "sha256": data.get("sha256"),
            "bytes": data.get("size"),
        }
        for _, data in logged
    ]


def check_recordings(raw: bytes, logged: list[tuple[int, dict[str, Any]]], report: Report) -> None:
    """``recordings/manifest.json`` lists exactly the recordings the log names, nothing else."""
    try:
        listed = parse_canonical(raw)
    except CanonicalError as exc:
        report.add("recording", "recordings/manifest.json", f"not canonical JSON: {exc}")
        return
    wanted = logged_listing(logged)
    if listed != wanted:
        report.add(
            "recording",
            "recordings/manifest.json",
            f"differs from the {len(wanted)} recording.closed events of the log",
        )


def check_logged_recordings(
    logged: list[tuple[int, dict[str, Any]]],
    digests: dict[str, str],
    sizes: dict[str, int],
    report: Report,
) -> None:
    """Each ``recording.closed`` names an archived file with its SHA-256 and size (files the log
    does not name are reported by ``check_bound``): the signed log binds the recordings."""
    for seq, data in logged:
        report.count("recordings")
        path = f"recordings/{data.get('file')}"
        if path not in digests:
            report.add("recording", path, f"logged at seq {seq} but not in the archive")
        elif digests[path] != data.get("sha256") or sizes.get(path) != data.get("size"):
            report.add("recording", path, f"differs from its recording.closed at seq {seq}")


def check_files(listed: dict[str, Any], digests: dict[str, str], report: Report) -> None:
    """Every member's SHA-256 against the manifest; missing and extra files."""
    for path in sorted(listed.keys() | digests.keys()):
        report.count("files")
        if path not in digests:
            report.add("file", path, "listed in manifest.json but missing")
        elif path not in listed:
            report.add("file", path, "present but not listed in manifest.json")
        elif listed[path] != digests[path]:
            report.add("file", path, "sha256 differs from manifest.json")
