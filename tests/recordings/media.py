"""Real encoded media for the recording tests: VP8 from libvpx, Opus from libopus (via PyAV).

Frames are synthetic (moving gradients, a sine tone) but the packets are what real encoders emit,
so the writer is tested on real keyframe headers, inter frames and Opus TOC bytes.
"""

from __future__ import annotations

import functools
import math
import struct
from fractions import Fraction
from typing import Any

import av

VIDEO_RATE = 90000
AUDIO_RATE = 48000
FPS = 30
WIDTH, HEIGHT = 640, 480
OPUS_FRAME = 960  # 20 ms at 48 kHz

Encoded = tuple[bytes, int, bool]  # data, pts (from 0), keyframe


@functools.cache
def vp8_frames(count: int = 60) -> tuple[Encoded, ...]:
    """``count`` VP8 frames of 640x480 at 30 fps, pts at 90 kHz; a keyframe every 30 frames."""
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = Fraction(1, VIDEO_RATE)
    codec.framerate = Fraction(FPS, 1)
    codec.bit_rate = 800_000
    codec.gop_size = FPS
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[Encoded] = []
    for index in range(count):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane_index, plane in enumerate(frame.planes):
            rows = HEIGHT if plane_index == 0 else HEIGHT // 2
            row = bytes((x + index * 4 + plane_index * 50) % 256 for x in range(plane.line_size))
            plane.update(row * rows)
        frame.pts = index * (VIDEO_RATE // FPS)
        frame.time_base = codec.time_base
        out += [(bytes(p), _pts(p), p.is_keyframe) for p in codec.encode(frame)]
    out += [(bytes(p), _pts(p), p.is_keyframe) for p in codec.encode(None)]
    assert len(out) == count
    return tuple(out)


@functools.cache
def opus_frames(count: int = 100) -> tuple[Encoded, ...]:
    """``count`` Opus packets of 20 ms (stereo 440 Hz tone), pts at 48 kHz from 0."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate = AUDIO_RATE
    codec.layout = "stereo"
    codec.format = "s16"
    codec.time_base = Fraction(1, AUDIO_RATE)
    packets: list[bytes] = []
    for index in range(count):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=OPUS_FRAME)
        start = index * OPUS_FRAME
        tone = (math.sin(2 * math.pi * 440 * (start + i) / AUDIO_RATE) for i in range(OPUS_FRAME))
        frame.planes[0].update(
            b"".join(struct.pack("<hh", int(8000 * v), int(8000 * v)) for v in tone)
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    # libopus stamps its packets from -312 (its lookahead); RTP numbers them from the first one.
    return tuple((data, i * OPUS_FRAME, True) for i, data in enumerate(packets[:count]))


def _pts(packet: av.Packet[Any]) -> int:
    assert packet.pts is not None
    return packet.pts
