"""Janus's ``.mjr`` recordings turned into the node's recordings: WebM or Ogg Opus, a manifest.

VideoRoom writes each publisher stream to ``<recordings>/<session>/janus/<base>-<kind>-<mindex>
.mjr`` (raw RTP packets behind a small JSON header), named ``.mjr.part`` until Janus closes it
(``recordings_tmp_ext``). Once closed, :func:`convert` runs ``janus-pp-rec``, which depacketizes
into ``.webm`` (VP8) or ``.opus`` (Opus) without re-encoding, and publishes the result in the
session folder the way :class:`recordings.track_writer.TrackWriter` does: a name that never
existed before (a hard link cannot replace anything), mode 0400, then its manifest, written
atomically and fsynced. From there the node's usual path (:func:`recordings.recovery.unlogged`,
``mark_logged``) takes it into the log.

The ``.mjr`` itself is read here too (:func:`read_mjr`): its header gives the wall time of the
first packet, and its RTP sequence numbers the packet count, byte count and losses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from recordings.files import CLOSED_MODE, MANIFEST_SUFFIX, json_bytes, sha256_file, write_atomic
from recordings.manifest import CODEC_OF_TRACK, Manifest, check_name

logger = logging.getLogger(__name__)

JANUS_DIR = "janus"
MJR_MAGIC = b"MJR00002"
FRAME_MAGIC = b"MEET"
OPEN_SUFFIX = ".part"  # Janus's recordings_tmp_ext: ``.mjr.part`` while Janus writes it
OUTPUT = {"audio": (".opus", 48_000), "video": (".webm", 90_000)}
CONVERT_TIMEOUT_S = 120.0
KIND_OF_TYPE = {"a": "audio", "v": "video"}


@dataclass(frozen=True, slots=True)
class MjrInfo:
    """What an ``.mjr`` file says about itself and its packets."""

    kind: str  # audio | video
    codec: str  # as Janus names it: opus, vp8
    created_us: int  # when Janus opened the recorder (wall clock, µs)
    first_us: int  # when the first packet was written (wall clock, µs)
    packets: int  # RTP packets (a retransmission counts once)
    frames: int  # encoded frames: a VP8 frame spans packets, an Opus frame is one
    keyframes: int  # VP8 keyframes (every Opus frame)
    bytes: int  # RTP payload bytes of those packets
    lost: int  # sequence numbers that never came
    gaps: int  # runs of lost sequence numbers
    last_offset_ms: int  # the last packet's arrival, ms after the first


def parse_header(data: bytes) -> tuple[dict[str, Any], int]:
    """The JSON header of an ``.mjr`` (``MJR00002``, u16 length, JSON) and where packets start."""
    if data[:8] != MJR_MAGIC or len(data) < 10:
        raise ValueError("not a Janus .mjr (version 2) file")
    length = int.from_bytes(data[8:10], "big")
    header = json.loads(data[10 : 10 + length])
    if not isinstance(header, dict):
        raise ValueError(".mjr header is not a JSON object")
    return header, 10 + length


def iter_frames(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """``(ms after the first packet, RTP packet)`` of each frame; stops at a torn last frame."""
    while offset + 10 <= len(data):
        if data[offset : offset + 4] != FRAME_MAGIC:
            raise ValueError(f".mjr frame at {offset} has no MEET marker")
        when = int.from_bytes(data[offset + 4 : offset + 8], "big")
        length = int.from_bytes(data[offset + 8 : offset + 10], "big")
        if offset + 10 + length > len(data):
            return  # a crash in the middle of the last write
        yield when, data[offset + 10 : offset + 10 + length]
        offset += 10 + length


def rtp_payload_size(packet: bytes) -> int:
    """Bytes of an RTP packet after its header, CSRCs, extension and padding (RFC 3550 §5.1)."""
    if len(packet) < 12:
        return 0
    size = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and len(packet) >= size + 4:
        size += 4 + 4 * int.from_bytes(packet[size + 2 : size + 4], "big")
    padding = packet[-1] if packet[0] & 0x20 else 0
    return max(0, len(packet) - size - padding)


def rtp_payload(packet: bytes) -> bytes:
    """An RTP packet's payload (:func:`rtp_payload_size` bytes after its headers)."""
    if len(packet) < 12:
        return b""
    start = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and len(packet) >= start + 4:
        start += 4 + 4 * int.from_bytes(packet[start + 2 : start + 4], "big")
    return packet[start : start + rtp_payload_size(packet)]


def vp8_frame_start(payload: bytes) -> tuple[bool, bool]:
    """Whether an RTP VP8 payload starts a frame, and whether that frame is a keyframe.

    RFC 7741 §4.2: the descriptor's S bit with partition id 0 starts a frame; after the
    descriptor, the frame's first byte has P = 0 for a keyframe (RFC 6386 §9.1).
    """
    if not payload:
        return False, False
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return False, False
    at = 1
    if first & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return True, False
        ext = payload[1]
        at = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            at += 2 if len(payload) > at and payload[at] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            at += 1
        if ext & 0x30:  # T or K: TID/KEYIDX
            at += 1
    return True, len(payload) > at and payload[at] & 0x01 == 0


def read_mjr(data: bytes) -> MjrInfo:
    """Header and RTP counts of an ``.mjr`` file's bytes (PURE)."""
    header, offset = parse_header(data)
    kind = KIND_OF_TYPE.get(str(header.get("t")))
    if kind is None:
        raise ValueError(f".mjr of type {header.get('t')!r}: only audio and video are recorded")
    seen: set[int] = set()
    packets = payload = frames = keyframes = 0
    last_ms = 0
    highest: int | None = None  # extended (unwrapped) highest sequence number
    lowest: int | None = None
    for when, packet in iter_frames(data, offset):
        if len(packet) < 12:
            continue
        seq = int.from_bytes(packet[2:4], "big")
        # Unwrapped against the highest seen so far (RFC 3550 A.1).
        ext = seq if highest is None else highest + ((seq - highest + 0x8000) & 0xFFFF) - 0x8000
        if ext in seen:
            continue  # a retransmission of a packet already recorded
        seen.add(ext)
        highest = ext if highest is None else max(highest, ext)
        lowest = ext if lowest is None else min(lowest, ext)
        packets += 1
        body = rtp_payload(packet)
        payload += len(body)
        starts, key = (True, True) if kind == "audio" else vp8_frame_start(body)
        frames += int(starts)
        keyframes += int(key)
        last_ms = max(last_ms, when)
    lost = gaps = 0
    if lowest is not None and highest is not None:
        previous = lowest
        for ext in sorted(seen):
            if ext > previous + 1:
                gaps += 1
                lost += ext - previous - 1
            previous = ext
    return MjrInfo(
        kind=kind,
        codec=str(header.get("c", "")).lower(),
        created_us=int(header.get("s", 0)),
        first_us=int(header.get("u", header.get("s", 0))),
        packets=packets,
        frames=frames,
        keyframes=keyframes,
        bytes=payload,
        lost=lost,
        gaps=gaps,
        last_offset_ms=last_ms,
    )


def output_name(seat: str, info: MjrInfo) -> str:
    """``<seat>-<kind>-<created ms>.webm|.opus``, as the embedded recorder names its files."""
    return f"{check_name(seat, 'seat')}-{info.kind}-{info.created_us // 1000}{OUTPUT[info.kind][0]}"


def scan(media: Path) -> tuple[int, int, int]:
    """Packets, keyframes and the last packet's end (ms) in a converted file, demuxed."""
    packets = keyframes = 0
    end_ms = 0
    with av.open(str(media), "r") as container:
        stream = container.streams[0]
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue  # the demuxer's end-of-stream marker
            packets += 1
            keyframes += int(packet.is_keyframe or stream.type == "audio")
            end = packet.pts + (packet.duration or 0)
            end_ms = max(end_ms, int(end * packet.time_base * 1000 // Fraction(1)))
    return packets, keyframes, end_ms


def manifest_for(
    session: str, seat: str, name: str, info: MjrInfo, sha256: str, size: int, scanned: Any
) -> Manifest:
    """The manifest of a converted recording (``cut`` when Janus never closed the ``.mjr``)."""
    packets, keyframes, end_ms = scanned
    start_ms = info.first_us // 1000
    track = info.kind
    return Manifest(
        session=session,
        seat=seat,
        track=track,
        file=name,
        codec=CODEC_OF_TRACK[track],
        sha256=sha256,
        size=size,
        packets=packets,
        keyframes=keyframes,
        start_ms=start_ms,
        end_ms=start_ms + max(end_ms, info.last_offset_ms),
        clock_rate=OUTPUT[track][1],
        first_pts=0,  # janus-pp-rec starts each file at 0; no sender reports survive in .mjr
        sender_reports=(),
        gaps=info.gaps,
        cut=False,
    )


def convert(mjr: Path, session: str, seat: str, *, cut: bool = False) -> tuple[Manifest, MjrInfo]:
    """Convert one closed ``.mjr`` of ``<session dir>/janus/`` into the session folder.

    Returns the manifest (also written next to the file) and the ``.mjr``'s counts. Raises
    FileExistsError if the output name is taken (it never overwrites), subprocess errors if
    ``janus-pp-rec`` fails.
    """
    check_name(session, "session")
    info = read_mjr(mjr.read_bytes())
    directory = mjr.parent.parent
    name = output_name(seat, info)
    final = directory / name
    if final.exists() or (directory / (name + MANIFEST_SUFFIX)).exists():
        raise FileExistsError(f"{final} exists")
    staging = mjr.parent / name  # janus-pp-rec picks the container from the extension
    staging.unlink(missing_ok=True)  # a conversion a crash interrupted: ours to discard
    tool = shutil.which("janus-pp-rec")
    if tool is None:
        raise FileNotFoundError("janus-pp-rec is not installed (scripts/install-media.sh)")
    subprocess.run(  # noqa: S603 (our own paths as arguments, no shell)
        [tool, "-o", "-d", "3", str(mjr), str(staging)],
        check=True,
        timeout=CONVERT_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    fd = os.open(staging, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fsync(fd)
        os.fchmod(fd, CLOSED_MODE)
    finally:
        os.close(fd)
    # link() fails if the name exists: the published name is created exclusively, already
    # complete and read-only, like a TrackWriter file after its close.
    os.link(staging, final)
    staging.unlink()
    sha256, size = sha256_file(final)
    manifest = manifest_for(session, seat, name, info, sha256, size, scan(final))
    if cut:
        manifest = Manifest(**{**_fields(manifest), "cut": True})
    path = directory / (name + MANIFEST_SUFFIX)
    write_atomic(path, json_bytes(manifest.to_json()), CLOSED_MODE, durable=True)
    logger.info(
        "recording %s/%s: converted from %s, %d packets", session, name, mjr.name, info.packets
    )
    return manifest, info


def _fields(manifest: Manifest) -> dict[str, Any]:
    return {name: getattr(manifest, name) for name in Manifest.__slots__}


def seat_of(mjr: Path) -> str | None:
    """The seat a recording belongs to, from the base name the backend gave Janus
    (``<seat>~<ms>-<kind>-<mindex>.mjr``)."""
    stem = mjr.name.split(".mjr", 1)[0]
    seat, sep, _ = stem.rpartition("~")
    return seat if sep else None


def leftovers(session_dir: Path) -> list[Path]:
    """``.mjr`` files of a session not converted yet (after a crash of the node or of Janus).

    A converted one leaves no ``.mjr`` behind it (see :func:`mark_converted`).
    """
    folder = session_dir / JANUS_DIR
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.mjr"), *folder.glob(f"*.mjr{OPEN_SUFFIX}")])


def set_aside_if_empty(mjr: Path) -> bool:
    """Whether ``mjr`` holds no packet (Janus writes the magic at once and the JSON header with
    the first packet: a seat whose connection never came up leaves only the magic); such a
    file is moved aside (``.mjr.empty``), since there is nothing to convert, hash or log."""
    try:
        with mjr.open("rb") as f:
            head = f.read(len(MJR_MAGIC) + 2)
    except FileNotFoundError:
        return False
    if len(head) >= len(MJR_MAGIC) + 2:
        return False
    with contextlib.suppress(FileNotFoundError):
        os.rename(mjr, mjr.with_name(mjr.name + ".empty"))
    return True


def mark_converted(mjr: Path) -> None:
    """Move a converted ``.mjr`` aside (``.mjr.done``): kept as Janus's original, never redone."""
    with contextlib.suppress(FileNotFoundError):
        os.rename(mjr, mjr.with_name(mjr.name + ".done"))
