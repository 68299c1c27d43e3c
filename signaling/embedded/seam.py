"""aiortc's internals that pass-through forwarding needs, kept in this one module.

aiortc's public API decodes every received stream (its receiver runs a decoder thread that turns
encoded frames into pictures and samples). A media worker that only forwards and records needs
the encoded frames instead, so this module:

* replaces a receiver's decoder queue (the decoder seam: where complete encoded frames leave
  the jitter buffer for the decoder thread) with :class:`DirectQueue`, which hands each frame to
  the receiver's track as an ``av.Packet`` on the event loop: the track then yields packets,
  which aiortc's senders already packetize without encoding (``Encoder.pack``), and no frame
  pays a thread hop;
* drains the jitter buffer's last frames when a connection closes;
* hooks a receiver's private RTCP and RTP handlers to see sender reports (for A/V alignment)
  and sequence gaps (a pass-through never fails to decode, so aiortc's own keyframe requests
  never fire), and sends picture loss indications through its private ``_send_rtcp_pli``;
* hooks a sender's private ``_send_keyframe`` so a subscriber's keyframe request travels
  upstream to the publisher instead of being ignored (packets are never re-encoded);
* restricts the host addresses aioice announces, because aioice skips 127.0.0.1 and a
  multi-homed venue server must announce only its media address.

aiortc is pinned to the minor version this was written against (pyproject.toml), and
:func:`check_seam` runs at import: if any of these names moved, importing this module fails
loudly instead of forwarding nothing.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aioice.ice
import aiortc
import av
from aiortc import rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RtcpSrPacket, RtpPacket

logger = logging.getLogger(__name__)

SEAM_VERSION = "1.16."  # the aiortc minor version the seam below was read from
NTP_EPOCH_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)

_MAPPER = "_RTCRtpReceiver__timestamp_mapper"  # the receiver's per-track timestamp origin
_CODECS = "_RTCRtpReceiver__codecs"  # payload type -> codec, set when the receiver starts
_JITTER = "_RTCRtpReceiver__jitter_buffer"  # where packets wait until their frame is complete
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"  # frames on their way to the decoder thread
_PRIVATE_METHODS = {
    RTCRtpReceiver: ("_handle_rtcp_packet", "_handle_rtp_packet", "_send_rtcp_pli"),
    RTCRtpSender: ("_send_keyframe", "_handle_rtcp_packet"),
}


class SeamMoved(RuntimeError):
    """aiortc changed where pass-through hooks in; the media worker cannot run."""


def check_seam() -> None:
    """Fail loudly if any internal name this module relies on is not where it was."""
    if not aiortc.__version__.startswith(SEAM_VERSION):
        raise SeamMoved(f"written for aiortc {SEAM_VERSION}x, found {aiortc.__version__}")
    if not callable(getattr(rtcrtpreceiver, "decoder_worker", None)):
        raise SeamMoved("aiortc.rtcrtpreceiver.decoder_worker is gone")
    for cls, names in _PRIVATE_METHODS.items():
        for name in names:
            if not callable(getattr(cls, name, None)):
                raise SeamMoved(f"{cls.__name__}.{name} is gone")
    if not callable(getattr(aioice.ice, "get_host_addresses", None)):
        raise SeamMoved("aioice.ice.get_host_addresses is gone")
    if "_queue" not in rtcrtpreceiver.RemoteStreamTrack.__init__.__code__.co_names:
        raise SeamMoved("RemoteStreamTrack no longer keeps its frames in _queue")
    kept = RTCRtpReceiver.__init__.__code__.co_names
    for private in (_CODECS, _MAPPER, _JITTER, _DECODER_QUEUE):
        if private not in kept:
            raise SeamMoved(f"RTCRtpReceiver no longer sets {private}")
    mapper = rtcrtpreceiver.TimestampMapper()
    mapper.map(1000)
    if getattr(mapper, "_origin", None) != 1000:
        raise SeamMoved("aiortc's TimestampMapper no longer keeps _origin")


check_seam()


class DirectQueue:
    """Stands in for a receiver's decoder queue: each complete encoded frame goes straight to
    the receiver's track as an ``av.Packet``, on the event loop, instead of through a decoder
    thread. Its pts is the receiver's track timestamp (RTP units from the track's first frame)
    and its time base 1/clock rate, which is what aiortc's ``Encoder.pack`` expects on the send
    side. aiortc still starts its decoder thread; it only waits here until the receiver stops.
    """

    def __init__(self, track_queue: asyncio.Queue[Any]) -> None:
        self._track_queue = track_queue
        self._stopped = threading.Event()

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if item is None:  # the receiver stops: the decoder thread ends the track
            self._stopped.set()
            return
        codec, frame = item
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = frame.timestamp
        packet.time_base = fractions.Fraction(1, codec.clockRate)
        self._track_queue.put_nowait(packet)

    def get(self) -> None:
        """What the decoder thread waits on: nothing comes but the end."""
        self._stopped.wait()

    def empty(self) -> bool:
        return True


_original_host_addresses = aioice.ice.get_host_addresses


def announce_only(addresses: Sequence[str]) -> None:
    """Gather host candidates on exactly ``addresses`` (empty: aioice's own choice)."""
    if addresses:
        chosen = list(addresses)

        def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

        aioice.ice.get_host_addresses = host_addresses
    else:
        aioice.ice.get_host_addresses = _original_host_addresses


@contextmanager
def announcing(addresses: Sequence[str]) -> Iterator[None]:
    """:func:`announce_only` for the duration of a block (test peers on loopback)."""
    before = aioice.ice.get_host_addresses
    announce_only(addresses)
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = before


def ntp_to_unix_ms(ntp: int) -> int:
    """A 64-bit NTP timestamp (RTCP sender report) as milliseconds since the Unix epoch."""
    seconds, fraction = ntp >> 32, ntp & 0xFFFFFFFF
    return (seconds - NTP_EPOCH_OFFSET_S) * 1000 + (fraction * 1000 >> 32)


def track_timestamp(receiver: RTCRtpReceiver, rtp_timestamp: int) -> int | None:
    """An RTP timestamp in the units of the receiver's track pts (None before the first frame).

    aiortc rebases every track to start at 0; a sender report names the original RTP
    timestamp, so it is rebased the same way (with 32-bit wraparound) to line up with the pts.
    """
    origin = getattr(getattr(receiver, _MAPPER, None), "_origin", None)
    if not isinstance(origin, int):
        return None
    delta = (rtp_timestamp - origin) & 0xFFFFFFFF
    return delta - (1 << 32) if delta >= 1 << 31 else delta


STALL_MS = 300  # a hole NACK has not filled by then is skipped at the next keyframe


def _starts_vp8_keyframe(packet: RtpPacket) -> bool:
    """Whether an RTP packet carries the start of a VP8 keyframe (RFC 7741 descriptor S bit
    with partition 0, then a keyframe's frame tag in the depayloaded data)."""
    payload = packet.payload
    data = getattr(packet, "_data", b"")
    if not payload or not data or not payload[0] & 0x10 or payload[0] & 0x07:
        return False
    return not data[0] & 0x01


OnSenderReport = Callable[[int, int], None]  # (track pts of the report, sender wall ms)
OnGap = Callable[[int], None]  # how many packets are missing


class ReceiverTap:
    """What a hooked receiver has seen: its media SSRC; reports and gaps go to callbacks."""

    def __init__(self, receiver: RTCRtpReceiver, on_report: OnSenderReport, on_gap: OnGap) -> None:
        self.ssrc: int | None = None  # the media stream's SSRC, once a packet came
        self._receiver = receiver
        self._on_report = on_report
        self._on_gap = on_gap
        self._last_seq: int | None = None
        self._video = receiver.track.kind == "video"
        self._hole_since: int | None = None  # arrival ms of a sequence gap not yet resolved
        self._handle_rtcp = receiver._handle_rtcp_packet
        self._handle_rtp = receiver._handle_rtp_packet
        # Pass-through: frames skip the decoder thread (a thread hop and a task per frame).
        track_queue = getattr(receiver.track, "_queue")  # noqa: B009 - RemoteStreamTrack's own
        setattr(receiver, _DECODER_QUEUE, DirectQueue(track_queue))
        receiver._handle_rtcp_packet = self._rtcp  # type: ignore[method-assign]
        receiver._handle_rtp_packet = self._rtp  # type: ignore[method-assign]

    async def _rtcp(self, packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket) and packet.ssrc == self.ssrc:
            pts = track_timestamp(self._receiver, packet.sender_info.rtp_timestamp)
            if pts is not None:
                self._on_report(pts, ntp_to_unix_ms(packet.sender_info.ntp_timestamp))
        await self._handle_rtcp(packet)

    def _is_media(self, packet: RtpPacket) -> bool:
        """Whether the packet is of a media codec, not a retransmission (RTX) or a probe.

        Chromium opens with RTX padding probes on the RTX SSRC: taking the first SSRC seen
        sent every keyframe request to the RTX stream, which the sender ignores.
        """
        codecs = getattr(self._receiver, _CODECS, {})
        codec = codecs.get(packet.payload_type)
        return codec is not None and not codec.mimeType.lower().endswith("/rtx")

    async def _rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        if self.ssrc is None and self._is_media(packet):
            self.ssrc = packet.ssrc
        if packet.ssrc == self.ssrc:
            if self._last_seq is not None:
                step = (packet.sequence_number - self._last_seq) & 0xFFFF
                if 1 < step < 0x8000:
                    self._on_gap(step - 1)
                    if self._hole_since is None:
                        self._hole_since = arrival_time_ms
                if step < 0x8000:
                    self._last_seq = packet.sequence_number
            else:
                self._last_seq = packet.sequence_number
        await self._handle_rtp(packet, arrival_time_ms)
        if self._video and self._hole_since is not None and packet.ssrc == self.ssrc:
            self._unstall(arrival_time_ms)

    def _unstall(self, now_ms: int) -> None:
        """Skip a hole in the jitter buffer that retransmission did not fill, at a keyframe.

        aiortc's video jitter buffer releases frames in order and waits at a missing packet
        until 512 later ones have arrived (seconds of video): a decoder would fail meanwhile and
        ask for a keyframe, but the pass-through decodes nothing, so it would wait that long.
        Once a hole is older than ``STALL_MS`` and a keyframe has arrived after it, the buffer
        moves on to that keyframe (the frames in between could not be decoded anyway). Only
        looked at while a sequence gap is open, so the buffer is not scanned per packet.
        """
        buffer = getattr(self._receiver, _JITTER, None)
        origin = getattr(buffer, "_origin", None)
        slots = getattr(buffer, "_packets", None)
        if buffer is None or origin is None or slots is None:
            return
        size = len(slots)
        present = [slots[(origin + i) % size] is not None for i in range(size)]
        hole = present.index(False) if False in present else size
        if not any(present[hole:]):  # filled (or nothing after it): no hole any more
            self._hole_since = None
            return
        if now_ms - (self._hole_since or now_ms) < STALL_MS:
            return
        for offset in range(hole + 1, size):
            packet = slots[(origin + offset) % size]
            if packet is not None and _starts_vp8_keyframe(packet):
                buffer.remove(offset)
                self._hole_since = None
                return

    def pending(self) -> bool:
        """Whether frames are still on their way from the receiver to its track's reader."""
        track = getattr(self._receiver.track, "_queue", None)
        return track is not None and not track.empty()

    def drain(self, kind: str) -> list[tuple[bytes, int]]:
        """The complete frames aiortc's jitter buffer still holds, as (data, track pts).

        It releases a frame only once a later one arrived (audio: four later ones), so the end
        of every stream would otherwise stay in it: the last 80 ms of audio and the last video
        frame of each connection. A video frame is complete when its last packet has the RTP
        marker bit; a packet missing in between ends the drain.
        """
        buffer = getattr(self._receiver, _JITTER, None)
        origin = getattr(buffer, "_origin", None)
        slots = getattr(buffer, "_packets", None)
        if buffer is None or origin is None or slots is None:
            return []
        groups: list[list[Any]] = []
        for count in range(len(slots)):
            packet = slots[(origin + count) % len(slots)]
            if packet is None:
                break
            if groups and groups[-1][0].timestamp == packet.timestamp:
                groups[-1].append(packet)
            else:
                groups.append([packet])
        frames = []
        for group in groups:
            complete = kind == "audio" or bool(group[-1].marker)
            pts = track_timestamp(self._receiver, group[0].timestamp)
            if not complete or pts is None:
                break
            frames.append((b"".join(getattr(p, "_data", b"") for p in group), pts))
        return frames

    async def request_keyframe(self) -> None:
        """Send a picture loss indication to the publisher (nothing before its first packet)."""
        if self.ssrc is not None:
            await self._receiver._send_rtcp_pli(self.ssrc)


def hook_sender(sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
    """Route a subscriber's PLI/FIR to ``on_keyframe_request`` (packets are never re-encoded)."""
    sender._send_keyframe = on_keyframe_request  # type: ignore[method-assign]
