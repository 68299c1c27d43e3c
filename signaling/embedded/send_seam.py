"""aiortc's sending internals that one-packetization relay needs, kept in this one module.

aiortc's :class:`~aiortc.RTCRtpSender` reads its track in a task of its own and, for every RTP
packet, builds an ``RtpPacket``, serializes it, protects it and sends it, each step behind an
``await``: with one sender per subscriber, a publisher's frame is packetized and walked through
that path once per subscriber. The relay packetizes a frame once per upstream
(:func:`packetize`) and :class:`DirectSender` sends the shared payloads on each subscriber's
sender synchronously: its own SSRC, sequence numbers, timestamp origin, header extensions and
SRTP context, straight into the datagram transport of the selected ICE pair. aiortc's sender
still runs everything else (RTCP sender reports from the counters kept here, NACK through its
own ``_retransmit`` fed from the history kept here, RTX, keyframe requests via
:func:`signaling.embedded.seam.hook_sender`); its RTP task waits on a track that yields
nothing until it ends.

The names reached into are checked at import (:func:`check_send_seam`), against the same pinned
aiortc minor version as :mod:`signaling.embedded.seam`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from struct import pack
from typing import Any, TypeAlias

import aioice.ice
import aiortc
from aiortc.codecs.vpx import PACKET_MAX, VpxPayloadDescriptor
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpsender import RTCRtpSender, random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap, RtpPacket
from aiortc.utils import random32

from signaling.embedded.seam import NTP_EPOCH_OFFSET_S, SEAM_VERSION, SeamMoved

_SENDER = "_RTCRtpSender__"  # the sender's name-mangled private attributes
_SENDER_COUNTERS = ("ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count")
_NTP, _RTP, _OCTETS, _PACKETS = (_SENDER + c for c in _SENDER_COUNTERS)
_SENDER_HISTORY = _SENDER + "rtp_history"  # sequence number -> RtpPacket, for NACK
_DTLS_COUNTERS = ("_RTCDtlsTransport__tx_bytes", "_RTCDtlsTransport__tx_packets")


def check_send_seam() -> None:
    """Fail loudly if any internal name :class:`DirectSender` relies on is not where it was."""
    if not aiortc.__version__.startswith(SEAM_VERSION):
        raise SeamMoved(f"written for aiortc {SEAM_VERSION}x, found {aiortc.__version__}")
    for cls, method in (
        (RTCRtpSender, "send"),
        (RTCRtpSender, "_retransmit"),
        (HeaderExtensionsMap, "configure"),
        (HeaderExtensionsMap, "set"),
    ):
        if not callable(getattr(cls, method, None)):
            raise SeamMoved(f"{cls.__name__}.{method} is gone")
    kept = RTCRtpSender.__init__.__code__.co_names
    for name in (_NTP, _RTP, _OCTETS, _PACKETS, _SENDER_HISTORY, "_ssrc"):
        if name not in kept:
            raise SeamMoved(f"RTCRtpSender no longer sets {name}")
    if _SENDER_HISTORY not in RTCRtpSender._retransmit.__code__.co_names:
        raise SeamMoved("RTCRtpSender._retransmit no longer reads its history")
    dtls = RTCDtlsTransport.__init__.__code__.co_names
    for name in ("_state", "_tx_srtp", *_DTLS_COUNTERS):
        if name not in dtls:
            raise SeamMoved(f"RTCDtlsTransport no longer sets {name}")
    if "_connection" not in RTCIceTransport.__init__.__code__.co_names:
        raise SeamMoved("RTCIceTransport no longer keeps its aioice connection in _connection")
    if "_nominated" not in aioice.ice.Connection.__init__.__code__.co_names:
        raise SeamMoved("aioice's Connection no longer keeps its selected pairs in _nominated")
    if "sendto" not in aioice.ice.StunProtocol.send_data.__code__.co_names:
        raise SeamMoved("aioice's StunProtocol no longer sends through its transport's sendto")
    if not hasattr(State, "CONNECTED") or not isinstance(RTP_HISTORY_SIZE, int):
        raise SeamMoved("aiortc's DTLS State or RTP_HISTORY_SIZE moved")


check_send_seam()


def packetize(kind: str, data: bytes, picture_id: int) -> list[bytes]:
    """One encoded frame as RTP payloads: VP8 split under RFC 7741 descriptors as aiortc's own
    encoder does (``Vp8Encoder._packetize``), an Opus frame whole."""
    if kind != "video":
        return [data]
    payloads = []
    descriptor = VpxPayloadDescriptor(partition_start=1, partition_id=0, picture_id=picture_id)
    pos = 0
    while pos < len(data):
        head = bytes(descriptor)
        size = min(len(data) - pos, PACKET_MAX - len(head))
        payloads.append(head + data[pos : pos + size])
        descriptor.partition_start = 0
        pos += size
    return payloads


@dataclass(frozen=True, slots=True)
class OutFrame:
    """A frame ready for every subscriber: its payloads, built once, and its RTP time."""

    payloads: Sequence[bytes]
    timestamp: int  # in the codec's clock rate, from the upstream's first frame
    keyframe: bool
    ntp: int  # when it left (sender reports, abs-send-time)

    @staticmethod
    def now() -> int:
        """The 64-bit NTP time the frame leaves at (aiortc's clock goes through a datetime)."""
        return int((time.time() + NTP_EPOCH_OFFSET_S) * (1 << 32))


def extension_template(extensions: HeaderExtensionsMap, mid: str | None) -> tuple[bytes, bytes]:
    """A stream's RTP header extension block split around its 3-byte abs-send-time value:
    ``prefix + value + suffix`` is what aiortc's serializer writes; both halves are the whole
    block (empty: none) and ``suffix`` is empty when abs-send-time was not negotiated."""
    blocks = []
    for value in (0, 0xFFFFFF):
        profile, block = extensions.set(HeaderExtensions(mid=mid, abs_send_time=value))
        blocks.append(pack("!HH", profile, len(block) >> 2) + block if block else b"")
    zeros, ones = blocks
    changed = [i for i, (a, b) in enumerate(zip(zeros, ones, strict=True)) if a != b]
    if not changed:
        return zeros, b""
    at = changed[0]
    if changed != [at, at + 1, at + 2]:
        raise SeamMoved("abs-send-time is not 3 bytes in aiortc's header extensions")
    return zeros[:at], zeros[at + 3 :]


# What a NACK needs to rebuild a packet (the RtpPacket is only built if one comes):
# sequence number, timestamp, marker, payload.
_Sent: TypeAlias = tuple[int, int, int, bytes]


class DirectSender:
    """Sends shared :class:`OutFrame` payloads on one aiortc sender's stream, synchronously."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._payload_type: int | None = None  # known once aiortc starts the sender
        self._mid: str | None = None
        self._extension: tuple[bytes, bytes] = (b"", b"")  # around abs-send-time
        self._sequence = random_sequence_number()  # as aiortc's own: no early wraparound
        self._origin = random32()
        self._history: list[_Sent | None] = [None] * RTP_HISTORY_SIZE
        self.packets = 0
        start, retransmit = sender.send, sender._retransmit

        async def send(parameters: RTCRtpSendParameters) -> None:
            self._configure(parameters)
            await start(parameters)

        async def retransmit_from_history(sequence_number: int) -> None:
            self._recall(sequence_number)
            await retransmit(sequence_number)

        sender.send = send  # type: ignore[method-assign]
        sender._retransmit = retransmit_from_history  # type: ignore[method-assign]

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        self._payload_type = parameters.codecs[0].payloadType
        self._mid = parameters.muxId
        extensions = HeaderExtensionsMap()
        extensions.configure(parameters)
        self._extension = extension_template(extensions, self._mid)

    def _recall(self, sequence_number: int) -> None:
        """Put the packet a NACK names into aiortc's history, which its ``_retransmit`` reads."""
        kept = self._history[sequence_number % RTP_HISTORY_SIZE]
        if kept is None or kept[0] != sequence_number:
            return
        _, timestamp, marker, payload = kept
        packet = RtpPacket(
            payload_type=self._payload_type or 0,
            marker=marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=self._sender._ssrc,
            payload=payload,
        )
        packet.extensions.mid = self._mid
        history: dict[int, RtpPacket] = getattr(self._sender, _SENDER_HISTORY)
        history[sequence_number % RTP_HISTORY_SIZE] = packet

    def _path(self) -> tuple[Callable[[bytes], bytes], Callable[..., Any], Any] | None:
        """SRTP protect, the selected pair's ``sendto`` and its remote address; None until the
        sender started and DTLS is connected."""
        dtls = self._sender.transport
        if self._payload_type is None or dtls._state is not State.CONNECTED:
            return None
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return None
        return dtls._tx_srtp.protect, pair.protocol.transport.sendto, pair.remote_addr

    def send(self, frame: OutFrame) -> bool:
        """Send every packet of ``frame``; False (nothing sent) while there is no path yet."""
        path = self._path()
        if path is None:
            return False
        protect, sendto, address = path
        timestamp = (self._origin + frame.timestamp) & 0xFFFFFFFF
        prefix, suffix = self._extension
        if suffix:
            extension = prefix + ((frame.ntp >> 14) & 0xFFFFFF).to_bytes(3, "big") + suffix
        else:
            extension = prefix
        first = 0x90 if extension else 0x80  # version 2, the extension bit, no CSRC
        ssrc, payload_type = self._sender._ssrc, self._payload_type or 0
        history, sequence, last = self._history, self._sequence, len(frame.payloads) - 1
        octets = wire = 0
        for i, payload in enumerate(frame.payloads):
            marker = 1 if i == last else 0
            head = pack("!BBHLL", first, marker << 7 | payload_type, sequence, timestamp, ssrc)
            data = protect(head + extension + payload)
            sendto(data, address)
            history[sequence % RTP_HISTORY_SIZE] = (sequence, timestamp, marker, payload)
            octets += len(payload)
            wire += len(data)
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        self._count(frame.ntp, timestamp, octets, wire, last + 1)
        return True

    def _count(self, ntp: int, timestamp: int, octets: int, wire: int, packets: int) -> None:
        """What aiortc's own RTP loop and DTLS transport would have counted: its sender reports
        and statistics read these."""
        sender, dtls = self._sender, self._sender.transport
        setattr(sender, _NTP, ntp)
        setattr(sender, _RTP, timestamp)
        setattr(sender, _OCTETS, getattr(sender, _OCTETS) + octets)
        setattr(sender, _PACKETS, getattr(sender, _PACKETS) + packets)
        tx_bytes, tx_packets = _DTLS_COUNTERS
        setattr(dtls, tx_bytes, getattr(dtls, tx_bytes) + wire)
        setattr(dtls, tx_packets, getattr(dtls, tx_packets) + packets)
        self.packets += packets
