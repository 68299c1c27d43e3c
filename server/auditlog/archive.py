"""The session archive (电子档案) ``evalroom-archive/1``: one zip an auditor verifies offline.

Why a zip of plain files: every check must be repeatable with ``unzip``, ``sha256sum``,
``openssl`` and a few lines of Python (docs/VERIFY.md), and ``evalroom verify`` does the same
checks at once. Layout:

* ``events.jsonl``: line ``i`` (1-based) is the canonical body of the event with seq ``i``.
* ``leaves.txt``: line ``i`` is the hex leaf hash the server stored for seq ``i``.
* ``keys.json``: one entry per ``seat.enrolled`` event: seat, key, seq, event hash.
* ``checkpoints/<size, 12 digits>.note``: every signed checkpoint as served, with cosignatures.
* ``recordings/manifest.json``: the recordings the log names (``recording.closed``); the files.
* ``report/<sha256>.pdf`` and ``.json``: each issued report the log names (``report.issued``);
  ``report/report.json``: the signatures of the newest one, exactly the log's ``report.signed``.
* ``manifest.json`` (written last): format, session, origin, node and witness verifier keys, the
  event count, the creation time and the SHA-256 of every other file.

Every file is bound to the signed log, not only to the unsigned manifest: by a checkpoint, by a
hash an event holds, or by content the verifier recomputes from the events. The writer leaves out
what the log does not name (a recording never logged, a report rendered but not issued, the signed
rendering's PDF, whose hash no event holds).

Writing is in :mod:`server.auditlog.archive_write`; this module holds the layout and the
verifier.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from server.auditlog.note import Verifier
from server.auditlog.verify import LogWalk, Progress, Report
from server.auditlog.verify_closure import check_closure
from server.auditlog.verify_draw import DRAW_DIR, check_draw, pool_path
from server.auditlog.verify_files import (
    SignedCheckpoint,
    check_checkpoint,
    check_files,
    check_keys,
    check_logged_recordings,
    check_recordings,
    check_tree,
    node_verifier,
    parse_manifest,
    witness_verifiers,
)
from server.auditlog.verify_report import check_reports

FORMAT = "evalroom-archive/1"
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
LEAVES = "leaves.txt"
KEYS = "keys.json"
CHECKPOINT_DIR = "checkpoints/"
RECORDINGS_DIR = "recordings/"
RECORDINGS_MANIFEST = "recordings/manifest.json"
REPORT_DIR = "report/"
REPORT_PDF = "report/report.pdf"
REPORT_JSON = "report/report.json"
ENROLLED_MARKER = b'"type":"seat.enrolled"'
ISSUED_MARKER = b'"type":"report.issued"'
RECORDING_MARKER = b'"type":"recording.closed"'
SIGNED_MARKER = b'"type":"report.signed"'
DRAW_MARKER = b'"type":"draw.opened"'
MARKERS = (ENROLLED_MARKER, ISSUED_MARKER, RECORDING_MARKER, SIGNED_MARKER, DRAW_MARKER)
CHUNK = 1 << 20
CHECKPOINT_NAME = re.compile(r"checkpoints/(\d{12})\.note")


def checkpoint_path(size: int) -> str:
    """Where the checkpoint note of tree ``size`` lives in the archive."""
    return f"{CHECKPOINT_DIR}{size:012d}.note"


READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


class _Reader:
    """Reads members of an open archive, hashing each one and turning read errors into problems."""

    def __init__(self, zf: zipfile.ZipFile, report: Report) -> None:
        self.zf, self.report = zf, report
        self.digests: dict[str, str] = {}
        self.sizes: dict[str, int] = {}

    def read(self, name: str) -> bytes | None:
        if name not in self.zf.NameToInfo:
            self.report.add("file", name, "missing from the archive")
            return None
        try:
            data = self.zf.read(name)
        except READ_ERRORS as exc:
            self.report.add("archive", name, f"cannot be read: {exc}")
            return None
        self.digests[name] = hashlib.sha256(data).hexdigest()
        self.sizes[name] = len(data)
        return data

    def hash_member(self, name: str) -> None:
        digest, size = hashlib.sha256(), 0
        try:
            with self.zf.open(name) as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except READ_ERRORS as exc:
            self.report.add("archive", name, f"cannot be read: {exc}")
            return
        self.digests[name], self.sizes[name] = digest.hexdigest(), size


def verify_archive(
    path: str | Path,
    node_key: str | None = None,
    progress: Progress | None = None,
    *,
    allow_open: bool = False,
) -> Report:
    """Check everything in an ``evalroom-archive/1`` zip; see :mod:`server.auditlog.verify`.

    ``node_key`` pins the node's verifier key (otherwise the manifest's is used, which only proves
    the archive is self-consistent). ``progress(done, total)`` is called as events are read.
    An archive of a session that was not closed fails unless ``allow_open``; either way
    ``report.statements`` says how far the archive proves the log.
    Never raises for a bad archive: a truncated or corrupt zip is a problem of kind "archive".
    """
    report = Report()
    try:
        with zipfile.ZipFile(path) as zf:
            _verify_open(zf, node_key, progress, allow_open, report)
    except READ_ERRORS as exc:
        report.add("archive", str(path), f"not a readable zip archive: {exc}")
    except Exception as exc:  # an auditor gets a verdict, never a traceback; tests assert none
        report.add("archive", str(path), f"internal error while verifying: {exc!r}")
    return report


def _verify_open(
    zf: zipfile.ZipFile,
    pinned: str | None,
    progress: Progress | None,
    allow_open: bool,
    report: Report,
) -> None:
    names = zf.namelist()
    if len(names) != len(set(names)):
        report.add("archive", "zip directory", "a file name appears twice")
    reader = _Reader(zf, report)
    raw_manifest = reader.read(MANIFEST)
    manifest = parse_manifest(raw_manifest, report) if raw_manifest is not None else {}
    node = node_verifier(manifest, pinned, report)
    witnesses = witness_verifiers(manifest, report)
    checkpoints = _checkpoints(reader, set(names), manifest, node, witnesses, report)
    walk = _walk_events(zf, reader, manifest, [c.size for c in checkpoints], progress, report)
    if walk is not None:
        check_tree(checkpoints, walk, report)
        check_closure(walk, [c.size for c in checkpoints], allow_open, report)
        _check_counts(manifest, walk, report)
        keys = reader.read(KEYS)
        if keys is not None:
            check_keys(keys, walk.enrolments, report)
        check_reports(walk.reports, walk.report_signatures, reader.read, reader.digests, report)
        check_draw(walk.session, walk.created, walk.draws, _optional(reader, names), report)
        check_bound(set(names), walk, report)
    for name in set(names) - {MANIFEST} - reader.digests.keys():
        reader.hash_member(name)
    if walk is not None:
        recordings = reader.read(RECORDINGS_MANIFEST)
        if recordings is not None:
            check_recordings(recordings, walk.recordings, report)
        check_logged_recordings(walk.recordings, reader.digests, reader.sizes, report)
    if manifest:
        reader.digests.pop(MANIFEST, None)
        check_files(manifest["files"], reader.digests, report)


def _checkpoints(
    reader: _Reader,
    names: set[str],
    manifest: dict[str, Any],
    node: Verifier | None,
    witnesses: dict[tuple[str, bytes], Verifier],
    report: Report,
) -> list[SignedCheckpoint]:
    found: list[SignedCheckpoint] = []
    for name in sorted(n for n in names if n.startswith(CHECKPOINT_DIR)):
        match = CHECKPOINT_NAME.fullmatch(name)
        raw = reader.read(name)
        if match is None:
            report.add("checkpoint", name, "not named checkpoints/<12 digits>.note")
        elif raw is not None:
            report.count("checkpoints")
            origin = manifest.get("origin")
            checkpoint = check_checkpoint(name, int(match[1]), raw, origin, node, witnesses, report)
            if checkpoint is not None:
                found.append(checkpoint)
    return found


def check_bound(names: set[str], walk: LogWalk, report: Report) -> None:
    """Every file is one the signed log binds: an unknown file, a recording no event names, a
    report file no ``report.issued`` names, are each a problem (the manifest binds nothing)."""
    issued = {pdf for _, pdf, _ in walk.reports if isinstance(pdf, str)}
    logged = {f"{RECORDINGS_DIR}{data.get('file')}" for _, data in walk.recordings}
    pools = {pool_path(str(d.get("pool"))) for _, kind, d in walk.draws if kind == "draw.opened"}
    fixed = {MANIFEST, EVENTS, LEAVES, KEYS, RECORDINGS_MANIFEST}
    for name in sorted(names - fixed):
        if name.startswith(CHECKPOINT_DIR):
            continue  # each one is signed (and a misnamed one is reported with the checkpoints)
        if name.startswith(RECORDINGS_DIR):
            if name not in logged:
                report.add("recording", name, "a file the log does not name (no recording.closed)")
        elif name == REPORT_JSON:
            if not issued:
                report.add("report", name, "signatures of a report the log never issued")
        elif name == REPORT_PDF:
            report.add("report", name, "the signed rendering's hash is in no event: not bound")
        elif name.startswith(DRAW_DIR):
            if name not in pools:
                report.add("draw", name, "a pool no draw.opened names")
        elif name.startswith(REPORT_DIR):
            stem, _, suffix = name[len(REPORT_DIR) :].partition(".")
            if stem not in issued or suffix not in ("pdf", "json"):
                report.add("report", name, "a report file no report.issued names")
        else:
            report.add(
                "file", name, "not bound to the signed log (no event or checkpoint names it)"
            )


def _optional(reader: _Reader, names: list[str]) -> Any:
    """``reader.read`` for a member that may be absent (None, and no problem, when it is)."""

    def read(name: str) -> bytes | None:
        return reader.read(name) if name in names else None

    return read


def _walk_events(
    zf: zipfile.ZipFile,
    reader: _Reader,
    manifest: dict[str, Any],
    sizes: list[int],
    progress: Progress | None,
    report: Report,
) -> LogWalk | None:
    if EVENTS not in zf.NameToInfo or LEAVES not in zf.NameToInfo:
        for name in {EVENTS, LEAVES} - zf.NameToInfo.keys():
            report.add("file", name, "missing from the archive")
        return None
    total = manifest.get("events", 0)
    walk = LogWalk(report, manifest.get("session"), sizes, progress=progress, total=total)
    try:
        with zf.open(EVENTS) as events, zf.open(LEAVES) as leaves:
            walk.run(events, leaves)
    except READ_ERRORS as exc:
        report.add("archive", EVENTS, f"cannot be read to the end: {exc}")
        return None
    reader.digests[EVENTS] = walk.events_digest.hexdigest()
    reader.digests[LEAVES] = walk.leaves_digest.hexdigest()
    report.count("events", walk.count)
    return walk


def _check_counts(manifest: dict[str, Any], walk: LogWalk, report: Report) -> None:
    if manifest and manifest["events"] != walk.count:
        report.add("event", EVENTS, f"{walk.count} events, manifest.json says {manifest['events']}")
    created, last = manifest.get("created_ms"), walk.last_time
    if isinstance(created, int) and isinstance(last, int) and created < last:
        report.add("file", MANIFEST, "created_ms is earlier than the last event")
