"""One recording file for one track of one seat, muxed from encoded frames (no re-encoding).

The media worker hands over the frames it receives as they are (VP8 video at 90 kHz, Opus audio
at 48 kHz); :class:`TrackWriter` puts them in a WebM file (Matroska restricted to VP8/Opus) as
they arrive. Matroska keeps a cluster in memory until it is closed, so clusters are cut every
250 ms and each one is written to the kernel at once: a SIGKILL loses about a cluster and leaves a
file that still demuxes (without its index and duration, which only the trailer writes).

Timestamps in the file start at 0 at the first frame; the manifest keeps the first pts and the
RTCP sender reports, which map them back to the sender's wall clock.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections import deque
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from av.container import OutputContainer
from av.stream import Stream

from recordings.files import (
    CLOSED_MODE,
    MANIFEST_SUFFIX,
    PART_SUFFIX,
    FdWriter,
    create_exclusive,
    json_bytes,
    sha256_file,
    write_atomic,
)
from recordings.manifest import (
    CODEC_OF_TRACK,
    MAX_SENDER_REPORTS,
    Manifest,
    SenderReport,
    check_name,
    span_ms,
    vp8_is_keyframe,
    vp8_size,
)
from recordings.part import Part

logger = logging.getLogger(__name__)

CONTAINER_FORMAT = "webm"
SUFFIX = ".webm"
# cluster_time_limit (ms) bounds what a SIGKILL loses: the open cluster lives only in the muxer's
# memory. cluster_size_limit keeps a high-bitrate cluster from growing past that (a keyframe
# still goes whole into one). flush_packets pushes each closed cluster through to the kernel.
# Not live=1: with a seekable file the trailer of a clean close adds the cues and duration that
# make the file seekable, and nothing seeks back before the trailer anyway.
MUXER_OPTIONS = {"cluster_time_limit": "250", "cluster_size_limit": "65536", "flush_packets": "1"}
OPUS_CLOCK_RATE = 48000
_MS = Fraction(1, 1000)
_REPORTS_KEPT_FIRST = 1


@dataclass(slots=True)
class Counts:
    """What a writer did with the frames it was given."""

    packets: int = 0
    keyframes: int = 0  # every Opus packet counts as one
    gaps: int = 0  # calls to TrackWriter.lost
    lost_frames: int = 0  # the frames they reported lost
    skipped_before_keyframe: int = 0
    dropped_out_of_order: int = 0


class TrackWriter:
    """Writes one track to ``<seat>-<track>-<created ms>.webm``; see :meth:`create`.

    Not thread-safe: one task or thread feeds it. :meth:`close` hashes the whole file, so a
    caller on an event loop runs it in a thread.
    """

    def __init__(
        self, directory: Path, part: Part, sink: FdWriter, container: OutputContainer
    ) -> None:
        self._directory = directory
        self._part = part
        self._sink = sink
        self._container = container
        self._stream: Stream | None = None
        self._manifest: Manifest | None = None
        self._first_pts: int | None = None
        self._first_arrival_ms = self._last_arrival_ms = self._last_pts = self._last_ts = 0
        self._counts = Counts()
        self._first_reports: list[SenderReport] = []
        self._last_reports: deque[SenderReport] = deque(
            maxlen=MAX_SENDER_REPORTS - _REPORTS_KEPT_FIRST
        )

    @classmethod
    def create(
        cls,
        directory: Path,
        session: str,
        seat: str,
        track: Literal["audio", "video"],
        codec: str,
        clock_rate: int,
        now_ms: int,
    ) -> TrackWriter:
        """Create the file exclusively (0600, never overwriting) and its ``.part.json`` sidecar.

        The fd stays open and ``flock``-ed until :meth:`close`, so recovery in another process
        leaves a live recording alone.
        """
        check_name(session, "session")
        check_name(seat, "seat")
        if CODEC_OF_TRACK.get(track) != codec:
            raise ValueError(f"track {track!r} is recorded as {CODEC_OF_TRACK.get(track)}")
        if clock_rate <= 0 or (track == "audio" and clock_rate != OPUS_CLOCK_RATE):
            raise ValueError(f"clock rate {clock_rate} for {codec}")
        name = f"{seat}-{track}-{now_ms}{SUFFIX}"
        sink = FdWriter(create_exclusive(directory / name))
        try:
            fcntl.flock(sink.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            container = av.open(sink, "w", format=CONTAINER_FORMAT, options=MUXER_OPTIONS)
            writer = cls(
                directory,
                Part(session, seat, track, codec, clock_rate, name, now_ms),
                sink,
                container,
            )
            if track == "audio":
                writer._stream = _opus_stream(container)
            writer._write_part()
        except BaseException:
            sink.close()
            # Nothing was recorded yet: the empty file is ours to take back.
            (directory / name).unlink(missing_ok=True)
            (directory / (name + PART_SUFFIX)).unlink(missing_ok=True)
            raise
        logger.info("recording %s/%s: created", session, name)
        return writer

    @property
    def file(self) -> str:
        """The media file's name (no directory)."""
        return self._part.file

    @property
    def path(self) -> Path:
        """The media file's path."""
        return self._directory / self._part.file

    @property
    def packets(self) -> int:
        """Packets written to the file so far."""
        return self._counts.packets

    @property
    def counts(self) -> Counts:
        """A copy of every counter."""
        return replace(self._counts)

    def write(self, data: bytes, pts: int, keyframe: bool, arrival_ms: int) -> None:
        """Mux one encoded frame; ``pts`` in the track's clock units, from any starting value.

        For VP8 the frame tag decides what a keyframe is (``keyframe`` is not trusted over it);
        every Opus packet is independently decodable and is marked as one.
        """
        self._check_open()
        counts = self._counts
        if self._part.track == "video":
            keyframe = vp8_is_keyframe(data)
            if self._stream is None and not self._start_video(data, keyframe):
                return
        else:
            keyframe = True
        if self._first_pts is None:
            self._first_pts, self._first_arrival_ms = pts, arrival_ms
            # Before the first packet reaches the file: a file with packets always has a sidecar
            # that says where its timestamps start.
            self._part = replace(self._part, first_pts=pts, first_arrival_ms=arrival_ms)
            self._write_part()
        # Floor division keeps non-decreasing pts non-decreasing in milliseconds.
        ts = (pts - self._first_pts) * 1000 // self._part.clock_rate
        if ts < self._last_ts:
            counts.dropped_out_of_order += 1
            return
        packet = av.Packet(data)
        packet.stream = self._stream_or_fail()
        packet.time_base = _MS
        packet.pts = packet.dts = ts
        packet.is_keyframe = keyframe
        self._container.mux_one(packet)
        self._last_ts, self._last_pts, self._last_arrival_ms = ts, pts, arrival_ms
        counts.packets += 1
        counts.keyframes += int(keyframe)

    def lost(self, count: int) -> None:
        """Record that the network lost ``count`` frames (one gap)."""
        if count < 1:
            raise ValueError("a loss is at least one frame")
        self._counts.gaps += 1
        self._counts.lost_frames += count

    def sender_report(self, report: SenderReport) -> None:
        """Keep an RTCP sender report: the first one and the last few (at most 8 in all)."""
        self._check_open()
        if len(self._first_reports) < _REPORTS_KEPT_FIRST:
            self._first_reports.append(report)
            # The first report goes to the sidecar: a cut file can still be placed in time.
            self._part = replace(self._part, sender_reports=(report,))
            self._write_part()
        else:
            self._last_reports.append(report)

    def close(self, now_ms: int) -> Manifest:
        """Finish the file and write its manifest; a second call returns the same manifest.

        Trailer, fsync, mode 0400, SHA-256, ``<file>.manifest.json`` (atomic, 0400), sidecar
        removed. The fd is closed last: its lock keeps recovery away until the manifest exists.
        """
        if self._manifest is not None:
            return self._manifest
        if self._sink.closed:
            raise RuntimeError(f"recording {self.file} failed to close; recover() will close it")
        try:
            self._container.close()  # the trailer: last cluster, cues, duration
            os.fsync(self._sink.fd)
            os.fchmod(self._sink.fd, CLOSED_MODE)
            sha256, size = sha256_file(self.path)
            manifest = self._build_manifest(sha256, size, now_ms)
            manifest_path = self._directory / (self.file + MANIFEST_SUFFIX)
            write_atomic(manifest_path, json_bytes(manifest.to_json()), CLOSED_MODE, durable=True)
            (self._directory / (self.file + PART_SUFFIX)).unlink()
        finally:
            self._sink.close()
        self._manifest = manifest
        logger.info("recording %s/%s: closed, %s", self._part.session, self.file, self._counts)
        return manifest

    def _check_open(self) -> None:
        if self._sink.closed:
            raise RuntimeError(f"recording {self.file} is closed")

    def _stream_or_fail(self) -> Stream:
        if self._stream is None:
            raise RuntimeError(f"recording {self.file} has no stream yet")
        return self._stream

    def _start_video(self, data: bytes, keyframe: bool) -> bool:
        # The first video packet must be a keyframe: nothing before it decodes. Its header also
        # gives the picture size the track header needs (the muxer has no decoder to ask).
        size = vp8_size(data) if keyframe else None
        if size is None:
            self._counts.skipped_before_keyframe += 1
            return False
        stream = self._container.add_mux_stream("vp8", width=size[0], height=size[1])
        stream.time_base = _MS
        self._stream = stream
        skipped = self._counts.skipped_before_keyframe
        if skipped:
            logger.info("recording %s: %d frames skipped before a keyframe", self.file, skipped)
        return True

    def _write_part(self) -> None:
        path = self._directory / (self.file + PART_SUFFIX)
        write_atomic(path, json_bytes(self._part.to_json()), 0o600, durable=False)

    def _build_manifest(self, sha256: str, size: int, now_ms: int) -> Manifest:
        reports = (*self._first_reports, *self._last_reports)
        if self._first_pts is None:
            # Nothing was recorded: the span the recorder was open is all there is to say.
            first_pts, (start_ms, end_ms) = 0, (self._part.created_ms, now_ms)
        else:
            first_pts = self._first_pts
            start_ms, end_ms = span_ms(
                first_pts,
                self._last_pts,
                self._part.clock_rate,
                reports,
                self._first_arrival_ms,
                self._last_arrival_ms,
            )
        return Manifest(
            session=self._part.session,
            seat=self._part.seat,
            track=self._part.track,
            file=self.file,
            codec=self._part.codec,
            sha256=sha256,
            size=size,
            packets=self._counts.packets,
            keyframes=self._counts.keyframes,
            start_ms=start_ms,
            end_ms=max(start_ms, end_ms),
            clock_rate=self._part.clock_rate,
            first_pts=first_pts,
            sender_reports=reports,
            gaps=self._counts.gaps,
            cut=False,
        )


def _opus_stream(container: OutputContainer) -> Stream:
    # A stream without a codec context writes no OpusHead, and WebM requires one as CodecPrivate.
    # An opened (never fed) libopus encoder supplies it, with the 312-sample pre-skip of a libopus
    # sender (browsers and aiortc both use libopus), so decoded audio starts at its RTP time.
    stream = container.add_stream("libopus", rate=OPUS_CLOCK_RATE, layout="stereo")
    stream.time_base = _MS
    return stream
