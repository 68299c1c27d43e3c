"""The aiortc seam: it holds on the pinned version and fails loudly the moment it moves."""

from __future__ import annotations

import asyncio
import fractions
import subprocess
import sys
import threading
from typing import Any

import aiortc
import av
import pytest
from aiortc import rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender

from signaling.embedded import seam


def test_the_seam_is_where_it_was_written_against() -> None:
    seam.check_seam()
    assert aiortc.__version__.startswith(seam.SEAM_VERSION)


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (rtcrtpreceiver, "decoder_worker"),
        (RTCRtpReceiver, "_handle_rtcp_packet"),
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpSender, "_send_keyframe"),
    ],
)
def test_a_moved_name_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(seam.SeamMoved, match=name):
        seam.check_seam()


def test_another_aiortc_version_fails_at_import() -> None:
    code = "import aiortc; aiortc.__version__ = '1.17.0'; import signaling.embedded.seam"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode != 0
    assert "SeamMoved" in run.stderr
    assert "1.17.0" in run.stderr


def test_a_timestamp_mapper_without_its_origin_fails_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Mapper:
        def map(self, timestamp: int) -> int:
            return 0

    monkeypatch.setattr(rtcrtpreceiver, "TimestampMapper", Mapper)
    with pytest.raises(seam.SeamMoved, match="_origin"):
        seam.check_seam()


async def test_the_direct_queue_hands_frames_to_the_track_as_packets() -> None:
    track_queue: asyncio.Queue[Any] = asyncio.Queue()
    direct = seam.DirectQueue(track_queue)
    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    direct.put((codec, JitterFrame(data=b"\x10\x02\x00", timestamp=3000)))
    packet = track_queue.get_nowait()
    assert isinstance(packet, av.Packet)
    assert bytes(packet) == b"\x10\x02\x00"
    assert packet.pts == 3000
    assert packet.time_base == fractions.Fraction(1, 90_000)
    assert direct.empty()
    # The decoder thread waits in get() until the receiver stops (put(None)).
    waiter = threading.Thread(target=direct.get)
    waiter.start()
    assert waiter.is_alive()
    direct.put(None)
    waiter.join(timeout=5)
    assert not waiter.is_alive()


def test_ntp_time_maps_to_unix_milliseconds() -> None:
    # 2026-11-30T00:00:00Z is 1_795_996_800 s after the Unix epoch; half a second in NTP fraction.
    ntp = ((1_795_996_800 + seam.NTP_EPOCH_OFFSET_S) << 32) | (1 << 31)
    assert seam.ntp_to_unix_ms(ntp) == 1_795_996_800_500


def test_only_configured_addresses_are_announced() -> None:
    import aioice.ice

    before = aioice.ice.get_host_addresses
    with seam.announcing(["127.0.0.2", "::1"]):
        assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.2"]
        assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.2", "::1"]
    assert aioice.ice.get_host_addresses is before
