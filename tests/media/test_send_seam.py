"""The send seam: one packetization shared by every subscriber, sent on each one's own stream;
it holds on the pinned aiortc and fails loudly the moment the names it reaches move."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import aiortc
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from signaling.embedded import send_seam
from signaling.embedded.seam import SeamMoved
from signaling.embedded.send_seam import DirectSender, OutFrame
from tests.recordings.media import vp8_frames


def test_the_send_seam_is_where_it_was_written_against() -> None:
    send_seam.check_send_seam()


@pytest.mark.parametrize(
    ("owner", "name"),
    [(RTCRtpSender, "send"), (RTCRtpSender, "_retransmit"), (HeaderExtensionsMap, "set")],
)
def test_a_moved_method_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(SeamMoved, match=name):
        send_seam.check_send_seam()


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (RTCRtpSender, "RTCRtpSender no longer sets"),
        (RTCDtlsTransport, "RTCDtlsTransport no longer sets"),
        (RTCIceTransport, "_connection"),
        (aioice.ice.Connection, "_nominated"),
    ],
)
def test_a_moved_attribute_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, owner: type, expected: str
) -> None:
    def bare_init(self: Any, *args: Any, **kwargs: Any) -> None:
        pass

    monkeypatch.setattr(owner, "__init__", bare_init)
    with pytest.raises(SeamMoved, match=expected):
        send_seam.check_send_seam()


def test_another_aiortc_version_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its own check, not only seam.py's (which an import would hit first): run at import too.
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(SeamMoved, match=r"1\.17\.0"):
        send_seam.check_send_seam()


def test_a_frame_is_packetized_as_aiortcs_own_encoder_does() -> None:
    for data, _, _ in vp8_frames(3):
        assert send_seam.packetize("video", data, 1234) == Vp8Encoder._packetize(data, 1234)
    assert send_seam.packetize("audio", b"\xfc\x01", 7) == [b"\xfc\x01"]


def _parameters(extensions: list[RTCRtpHeaderExtensionParameters]) -> RTCRtpSendParameters:
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=97)
    return RTCRtpSendParameters(codecs=[codec], headerExtensions=extensions, muxId="1")


@pytest.mark.parametrize(
    "uris",
    [
        ["urn:ietf:params:rtp-hdrext:sdes:mid"],
        [
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        ],
        [],
    ],
    ids=["mid", "mid+abs-send-time", "none"],
)
def test_the_header_extensions_are_aiortcs_own(uris: list[str]) -> None:
    parameters = _parameters(
        [RTCRtpHeaderExtensionParameters(id=i + 1, uri=uri) for i, uri in enumerate(uris)]
    )
    extensions = HeaderExtensionsMap()
    extensions.configure(parameters)
    prefix, suffix = send_seam.extension_template(extensions, "1")
    packet = RtpPacket(payload_type=97, sequence_number=1, timestamp=2, ssrc=3, payload=b"x")
    packet.extensions.mid = "1"
    packet.extensions.abs_send_time = 0x123456
    theirs = packet.serialize(extensions)[12:-1]  # between the fixed header and the payload
    ours = prefix + (b"\x12\x34\x56" + suffix if suffix else b"")
    assert ours == theirs


class Silent(MediaStreamTrack):
    """What a forwarded track is to aiortc's sender: nothing to read until it ends."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()

    async def recv(self) -> Any:
        await self.ended.wait()
        raise MediaStreamError


async def test_shared_payloads_reach_a_real_peer_and_decode() -> None:
    """Two real peers on loopback: frames sent by the seam decode on the other side, the
    sender's counters (its RTCP sender reports) count them, and a NACK is answered."""
    sending, receiving = RTCPeerConnection(), RTCPeerConnection()
    silent = Silent()
    transceiver = sending.addTransceiver(silent, direction="sendonly")
    direct = DirectSender(transceiver.sender)
    decoded: list[Any] = []

    @receiving.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        async def read() -> None:
            while True:
                decoded.append(await track.recv())

        tasks.append(asyncio.ensure_future(read()))

    tasks: list[asyncio.Future[None]] = []
    try:
        await sending.setLocalDescription(await sending.createOffer())
        await receiving.setRemoteDescription(sending.localDescription)
        await receiving.setLocalDescription(await receiving.createAnswer())
        await sending.setRemoteDescription(receiving.localDescription)
        frames = [
            OutFrame(send_seam.packetize("video", data, n), pts, key, 0)
            for n, (data, pts, key) in enumerate(vp8_frames(30))
        ]
        async with asyncio.timeout(10):
            while not direct.send(frames[0]):  # nothing goes out until DTLS is up
                assert direct.packets == 0
                await asyncio.sleep(0.02)
        for frame in frames[1:]:
            assert direct.send(frame)
            await asyncio.sleep(1 / 30)
        async with asyncio.timeout(10):
            while len(decoded) < 25:  # noqa: ASYNC110 - filled by the reader task
                await asyncio.sleep(0.05)
        stats = await transceiver.sender.getStats()
        outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
        assert outbound.packetsSent == direct.packets >= len(frames)
        dtls = transceiver.sender.transport
        before = next(iter(dtls._get_stats().values())).packetsSent
        assert before >= direct.packets  # the seam's packets are the transport's too
        await transceiver.sender._retransmit(direct._sequence - 1)  # as a NACK would
        assert next(iter(dtls._get_stats().values())).packetsSent == before + 1
    finally:
        silent.ended.set()
        for task in tasks:
            task.cancel()
        await sending.close()
        await receiving.close()
