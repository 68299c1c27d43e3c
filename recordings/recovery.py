"""Closing recordings whose writer was killed, and handing manifests over to the log.

On start, :func:`recover` turns every sidecar left without a manifest into a manifest marked
``cut``. The file is not rewritten (its hash must be of the bytes the recorder wrote): it lacks
the Matroska cues and duration, which only a clean close writes, and still demuxes and decodes.

The server then appends each :func:`unlogged` manifest to the session's log as an event and only
afterwards calls :func:`mark_logged`; a crash between the two appends it again, which the log's
idempotency key makes harmless.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from fractions import Fraction
from pathlib import Path

import av

from recordings.files import (
    CLOSED_MODE,
    LOGGED_SUFFIX,
    MANIFEST_SUFFIX,
    PART_SUFFIX,
    TMP_SUFFIX,
    json_bytes,
    sha256_file,
    write_atomic,
)
from recordings.manifest import Manifest, manifest_from_json, span_ms
from recordings.part import Part, part_from_json
from recordings.track_writer import SUFFIX

logger = logging.getLogger(__name__)


def recover(directory: Path, now_ms: int) -> list[Manifest]:
    """Close every recording of ``directory`` whose writer died; return their manifests.

    A recording still locked by a live writer (another process) is left alone; so is a sidecar
    that cannot be read (logged: an operator has to look at it).
    """
    _remove_orphans(directory)
    recovered = []
    for part_path in sorted(directory.glob(f"*{PART_SUFFIX}")):
        media = part_path.with_name(part_path.name.removesuffix(PART_SUFFIX))
        if media.with_name(media.name + MANIFEST_SUFFIX).exists():
            part_path.unlink()  # killed after its manifest was written: nothing left to do
            continue
        try:
            part = part_from_json(json.loads(part_path.read_bytes()))
        except (OSError, ValueError) as exc:
            logger.error("recording sidecar %s unreadable, left alone: %s", part_path, exc)
            continue
        if part.file != media.name:
            logger.error("recording sidecar %s names %s, left alone", part_path, part.file)
            continue
        manifest = _recover_one(directory, part, part_path)
        if manifest is not None:
            logger.warning(
                "recording %s/%s: closed as cut, %d packets, %d ms after its creation",
                part.session,
                part.file,
                manifest.packets,
                now_ms - part.created_ms,
            )
            recovered.append(manifest)
    return recovered


def _recover_one(directory: Path, part: Part, part_path: Path) -> Manifest | None:
    media = directory / part.file
    try:
        fd = os.open(media, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        # Killed between the two creations, or the file was removed: nothing to describe.
        logger.error("recording %s: sidecar without its file, sidecar removed", media)
        part_path.unlink()
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("recording %s is still being written, left alone", media)
            return None
        # A sidecar update that never reached its rename; the sidecar itself is intact.
        part_path.with_name(part_path.name + TMP_SUFFIX).unlink(missing_ok=True)
        os.fchmod(fd, CLOSED_MODE)
        sha256, size = sha256_file(media)
        manifest = _cut_manifest(part, media, sha256, size)
        manifest_path = directory / (part.file + MANIFEST_SUFFIX)
        write_atomic(manifest_path, json_bytes(manifest.to_json()), CLOSED_MODE, durable=True)
        part_path.unlink()
    finally:
        os.close(fd)
    return manifest


def _remove_orphans(directory: Path) -> None:
    # TrackWriter.create makes the media file, then its sidecar: a crash in between leaves an
    # empty file that nothing describes. Anything else without sidecar or manifest is kept.
    for media in directory.glob(f"*{SUFFIX}"):
        described = (media.name + PART_SUFFIX, media.name + MANIFEST_SUFFIX)
        if any((directory / name).exists() for name in described):
            continue
        try:
            fd = os.open(media, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:  # a symlink, or gone meanwhile: not a file a writer made
            logger.error("recording %s cannot be opened, left alone: %s", media, exc)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_size == 0:
                logger.warning("recording %s: empty and undescribed, removed", media)
                media.unlink()
                (directory / (media.name + PART_SUFFIX + TMP_SUFFIX)).unlink(missing_ok=True)
            else:
                logger.error("recording %s has neither sidecar nor manifest, left alone", media)
        except BlockingIOError:
            pass  # being created right now by a live writer
        finally:
            os.close(fd)


def _scan(media: Path) -> tuple[int, int, int | None]:
    """Packets, keyframes and last timestamp (ms) that can be demuxed, up to the first error."""
    packets = keyframes = 0
    last_ms: int | None = None
    try:
        with av.open(str(media), "r") as container:
            stream = container.streams[0]
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue  # the demuxer's end-of-stream marker
                packets += 1
                keyframes += int(packet.is_keyframe)
                last_ms = int(packet.pts * packet.time_base * 1000 // Fraction(1))
    except (av.FFmpegError, IndexError) as exc:
        # A truncated last cluster or an empty file: what came before it is the recording.
        logger.info("recording %s: demuxing stopped after %d packets: %s", media, packets, exc)
    return packets, keyframes, last_ms


def _cut_manifest(part: Part, media: Path, sha256: str, size: int) -> Manifest:
    packets, keyframes, last_ms = _scan(media)
    first_pts = part.first_pts if part.first_pts is not None else 0
    rate, reports = part.clock_rate, part.sender_reports
    if packets == 0 or last_ms is None or part.first_pts is None:
        start_ms = end_ms = part.created_ms
    else:
        # File timestamps start at 0 at first_pts (see TrackWriter.write).
        last_pts = first_pts + last_ms * rate // 1000
        arrival = part.first_arrival_ms if part.first_arrival_ms is not None else part.created_ms
        start_ms, end_ms = span_ms(first_pts, last_pts, rate, reports, arrival, arrival + last_ms)
    return Manifest(
        session=part.session,
        seat=part.seat,
        track=part.track,
        file=part.file,
        codec=part.codec,
        sha256=sha256,
        size=size,
        packets=packets,
        keyframes=keyframes,
        start_ms=start_ms,
        end_ms=max(start_ms, end_ms),
        clock_rate=rate,
        first_pts=first_pts,
        sender_reports=reports,
        gaps=0,  # losses were only counted in the dead writer's memory
        cut=True,
    )


def unlogged(directory: Path) -> list[Manifest]:
    """Manifests of ``directory`` not yet marked as appended to the log, by file name.

    ValueError if one does not parse or does not describe the file it sits next to: a manifest
    is written once, atomically, and is read-only, so that means damage or tampering.
    """
    manifests = []
    for path in sorted(directory.glob(f"*{MANIFEST_SUFFIX}")):
        name = path.name.removesuffix(MANIFEST_SUFFIX)
        if (directory / (name + LOGGED_SUFFIX)).exists():
            continue
        try:
            manifest = manifest_from_json(json.loads(path.read_bytes()))
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError included
            raise ValueError(f"{path}: {exc}") from exc
        if manifest.file != name:
            raise ValueError(f"{path}: describes {manifest.file!r}")
        manifests.append(manifest)
    return manifests


# Names of files a recorder is still writing or a backend has yet to convert: our writer's
# sidecar, Janus's ``.mjr.part`` while it writes, and a closed ``.mjr`` not converted yet.
UNSETTLED_ENDINGS = (PART_SUFFIX, ".part", ".mjr")


def settled(directory: Path) -> bool:
    """Whether every recording of a session directory is closed and its manifest logged."""
    if not directory.is_dir():
        return True
    if any(p.name.endswith(UNSETTLED_ENDINGS) for p in directory.rglob("*")):
        return False
    return not unlogged(directory)


def mark_logged(directory: Path, manifest: Manifest) -> None:
    """Create the empty ``<file>.logged`` marker (0400) once the manifest is in the log."""
    path = directory / (manifest.file + LOGGED_SUFFIX)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, CLOSED_MODE)
    except FileExistsError:
        return  # logged twice after a crash: the marker already says so
    os.close(fd)
