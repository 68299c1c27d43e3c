"""Writing the session archive (``evalroom-archive/1``, laid out in :mod:`server.auditlog.archive`).

The writer streams: events and leaf hashes go from the caller's iterables straight into the zip,
so a million events never sit in memory as a million objects (only 32 bytes per event are kept
when the caller lets the writer compute the leaf hashes). It leaves out what the log does not
name. No clock: ``created_ms`` is an argument.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from server.auditlog.archive import (
    CHUNK,
    EVENTS,
    FORMAT,
    KEYS,
    LEAVES,
    MANIFEST,
    MARKERS,
    RECORDINGS_DIR,
    RECORDINGS_MANIFEST,
    REPORT_DIR,
    REPORT_JSON,
    checkpoint_path,
)
from server.auditlog.canonical import CanonicalError, canonical_bytes, parse_canonical
from server.auditlog.note import open_note, parse_checkpoint
from server.auditlog.verify_draw import DRAW_DIR
from server.auditlog.verify_report import SIGNED_FORMAT, expected_signatures


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording to archive: its name under ``recordings/`` and its bytes or a file to copy."""

    name: str
    source: bytes | Path


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    """What the writer put in the archive (for logs and tests)."""

    events: int
    checkpoints: list[int]
    files: dict[str, str]


class _Writer:
    """One zip being written; remembers the SHA-256 of every member for the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.files: dict[str, str] = {}

    def put(self, name: str, data: bytes) -> None:
        self.zf.writestr(self._info(name), data)
        self.files[name] = hashlib.sha256(data).hexdigest()

    def put_stream(self, name: str, chunks: Iterable[bytes]) -> int:
        digest = hashlib.sha256()
        total = 0
        with self.zf.open(self._info(name), "w", force_zip64=True) as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                total += len(chunk)
        self.files[name] = digest.hexdigest()
        return total

    def _info(self, name: str) -> zipfile.ZipInfo:
        # A fixed timestamp: the same session always gives the same member headers.
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = self.zf.compression
        info._compresslevel = self.zf.compresslevel  # type: ignore[attr-defined]
        info.external_attr = 0o644 << 16  # readable files after a plain `unzip`
        return info


def _batched_lines(lines: Iterable[bytes], size: int = 4096) -> Iterable[bytes]:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"".join(batch)
            batch.clear()
    if batch:
        yield b"".join(batch)


class _EventStream:
    """Yields event lines for the zip while counting them and collecting what the log names:
    enrolments, issued reports and logged recordings."""

    def __init__(self, events: Iterable[bytes], keep_leaves: bool) -> None:
        self.events = events
        self.count = 0
        self.keys: list[dict[str, Any]] = []
        self.issued: list[tuple[int, Any, Any]] = []  # report.issued: seq, PDF and content hash
        self.signatures: list[tuple[int, dict[str, Any]]] = []  # report.signed: seq, data
        self.recordings: list[dict[str, Any]] = []  # recordings/manifest.json, from the log
        self.pools: set[str] = set()  # draw.opened: the pools' SHA-256
        self.leaves = bytearray() if keep_leaves else None

    def lines(self) -> Iterable[bytes]:
        for raw in self.events:
            if b"\n" in raw:
                raise ValueError(f"event {self.count + 1} contains a newline")
            self.count += 1
            leaf = hashlib.sha256(b"\x00" + raw).digest()
            if self.leaves is not None:
                self.leaves += leaf
            if any(marker in raw for marker in MARKERS):
                self._named(raw, leaf)
            yield raw + b"\n"

    def _named(self, raw: bytes, leaf: bytes) -> None:
        body = json.loads(raw)
        kind, data = body.get("type"), body.get("data")
        if not isinstance(data, dict):
            return
        if kind == "seat.enrolled":
            entry = {"seat": data["seat"], "key": data["key"], "seq": body["seq"]}
            self.keys.append({**entry, "event_hash": leaf.hex()})
        elif kind == "report.issued":
            self.issued.append((body["seq"], data.get("report"), data.get("content")))
        elif kind == "report.signed":
            self.signatures.append((body["seq"], data))
        elif kind == "draw.opened":
            self.pools.add(str(data.get("pool")))
        elif kind == "recording.closed":
            path = f"{RECORDINGS_DIR}{data.get('file')}"
            self.recordings.append(
                {"path": path, "sha256": data.get("sha256"), "bytes": data.get("size")}
            )


def _file_chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def write_archive(
    out: IO[bytes],
    *,
    session: str,
    origin: str,
    node_key: str,
    witness_keys: Sequence[str],
    events: Iterable[bytes],
    notes: Iterable[str],
    created_ms: int,
    leaves: Iterable[bytes] | None = None,
    recordings: Iterable[Recording] = (),
    report_files: Iterable[tuple[str, bytes]] = (),
    pool_files: Iterable[tuple[str, bytes]] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> ArchiveInfo:
    """Stream a session into ``out`` as an ``evalroom-archive/1`` zip.

    ``events`` are the canonical event bodies in seq order (seq 1 first); ``leaves`` the leaf
    hashes the server stored (32 bytes each, same order), computed from the events when None;
    ``notes`` the signed checkpoint notes with all their signature lines; ``report_files`` are
    ``(name, bytes)`` under ``report/``: each issued PDF ``<sha256>.pdf`` with its content
    ``<sha256>.json``; ``pool_files`` the expert pools ``<sha256>.json`` (under ``draw/``).
    Recordings, report files and pools the events do not name are left out (nothing
    in the signed log would bind them). ``report/report.json`` is built here from the events
    (the newest issued report and its ``report.signed`` signatures), never copied from a file a
    later signature may have rewritten. Nothing is checked beyond that: the verifier is the
    judge, and an archive of a broken log must still be writable.
    """
    with zipfile.ZipFile(out, "w", compression=compression, compresslevel=1) as zf:
        writer = _Writer(zf)
        stream = _EventStream(events, keep_leaves=leaves is None)
        writer.put_stream(EVENTS, _batched_lines(stream.lines()))
        if leaves is None:
            computed = bytes(stream.leaves or b"")
            leaves = (computed[i : i + 32] for i in range(0, len(computed), 32))
        writer.put_stream(LEAVES, _batched_lines(leaf.hex().encode() + b"\n" for leaf in leaves))
        writer.put(KEYS, canonical_bytes(stream.keys))
        sizes = _write_checkpoints(writer, notes)
        _write_recordings(writer, recordings, stream.recordings)
        _write_reports(writer, report_files, stream)
        for name, data in pool_files:  # the pools a draw.opened names, by their SHA-256
            if name.removesuffix(".json") in stream.pools:
                writer.put(f"{DRAW_DIR}{name}", data)
        manifest = {
            "format": FORMAT,
            "session": session,
            "origin": origin,
            "node_key": node_key,
            "witness_keys": list(witness_keys),
            "events": stream.count,
            "created_ms": created_ms,
            "files": dict(sorted(writer.files.items())),
        }
        files = dict(writer.files)
        zf.writestr(writer._info(MANIFEST), canonical_bytes(manifest))
    return ArchiveInfo(stream.count, sizes, files)


def _write_checkpoints(writer: _Writer, notes: Iterable[str]) -> list[int]:
    sizes: list[int] = []
    for note in notes:
        body, _ = open_note(note)
        size = parse_checkpoint(body).size
        writer.put(checkpoint_path(size), note.encode("utf-8"))
        sizes.append(size)
    return sizes


def _write_reports(
    writer: _Writer, report_files: Iterable[tuple[str, bytes]], stream: _EventStream
) -> None:
    issued = {pdf for _, pdf, _ in stream.issued}
    contents: dict[str, bytes] = {}
    for name, data in report_files:  # every issued PDF and its content, by SHA-256
        stem, _, suffix = name.partition(".")
        if stem in issued and suffix in ("pdf", "json"):
            writer.put(f"{REPORT_DIR}{name}", data)
            if suffix == "json":
                contents[stem] = data
    if not stream.issued:
        return
    seq, pdf_hash, content_hash = stream.issued[-1]
    try:
        content = parse_canonical(contents[pdf_hash]) if pdf_hash in contents else None
    except CanonicalError:
        content = None
    summary = {
        "format": SIGNED_FORMAT,
        "report_sha256": pdf_hash,
        "content_sha256": content_hash,
        "issued_seq": seq,
        "content": content,
        "signatures": expected_signatures(seq, stream.signatures),
    }
    writer.put(REPORT_JSON, canonical_bytes(summary))


def _write_recordings(
    writer: _Writer, recordings: Iterable[Recording], logged: list[dict[str, Any]]
) -> None:
    named = {entry["path"] for entry in logged}
    for recording in recordings:
        name = recording.name
        if not name or name.startswith("/") or ".." in name.split("/") or name == "manifest.json":
            raise ValueError(f"recording name {name!r} is not a plain relative path")
        path = RECORDINGS_DIR + name
        if path not in named:
            continue  # never logged: nothing signed would bind it
        source = recording.source
        if isinstance(source, bytes):
            writer.put(path, source)
        else:
            writer.put_stream(path, _file_chunks(source))
    writer.put(RECORDINGS_MANIFEST, canonical_bytes(logged))


# Reading and verifying ------------------------------------------------------------------------
