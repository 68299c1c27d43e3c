"""The Janus backend's pure parts: API bodies and answers, VideoRoom SDP reading, .mjr parsing,
the generated configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signaling.janus import api, videoroom
from signaling.janus.process import Folders, http_jcfg, janus_jcfg
from signaling.janus.recording import (
    FRAME_MAGIC,
    MJR_MAGIC,
    leftovers,
    output_name,
    read_mjr,
    rtp_payload_size,
    seat_of,
    set_aside_if_empty,
    vp8_frame_start,
)
from signaling.janus.tail import MjrTail

OFFER = """v=0
o=- 1 1 IN IP4 0.0.0.0
s=-
t=0 0
m=audio 9 UDP/TLS/RTP/SAVPF 96
a=mid:0
a=sendonly
m=video 9 UDP/TLS/RTP/SAVPF 97
a=mid:1
a=sendonly
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
a=mid:2
"""


def test_request_bodies() -> None:
    assert api.request_body("create", "t1", None) == {"janus": "create", "transaction": "t1"}
    assert api.request_body("keepalive", "t2", "s3cret")["apisecret"] == "s3cret"
    body = api.message_body("t", None, {"request": "start"}, {"type": "answer", "sdp": "x"})
    assert body == {
        "janus": "message",
        "transaction": "t",
        "body": {"request": "start"},
        "jsep": {"type": "answer", "sdp": "x"},
    }
    assert "jsep" not in api.message_body("t", None, {"request": "leave"})


def test_trickle_bodies() -> None:
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.2 5000 typ host", "sdpMid": "0"}
    assert api.trickle_body("t", None, {**candidate, "extra": 1})["candidate"] == candidate
    assert api.trickle_body("t", None, None)["candidate"] == {"completed": True}
    assert api.trickle_body("t", None, {"candidate": ""})["candidate"] == {"completed": True}


def test_responses_and_errors() -> None:
    assert api.created_id({"janus": "success", "data": {"id": 42}}) == 42
    with pytest.raises(api.JanusError) as core:
        api.check_response({"janus": "error", "error": {"code": 458, "reason": "No such session"}})
    assert core.value.code == api.ERROR_NO_SESSION
    plugin_error = {
        "janus": "event",
        "plugindata": {"plugin": videoroom.PLUGIN, "data": {"error_code": 428, "error": "No"}},
    }
    with pytest.raises(api.JanusError) as plugin:
        api.check_response(plugin_error)
    assert plugin.value.code == 428
    with pytest.raises(api.JanusError):
        api.check_response(["not", "an", "object"])
    assert api.poll_events([{"janus": "keepalive"}, 3]) == [{"janus": "keepalive"}]
    assert api.poll_events({"janus": "webrtcup"}) == [{"janus": "webrtcup"}]
    assert api.poll_events(None) == []


def test_videoroom_requests() -> None:
    room = videoroom.create_room("S1", "sec", "/data/S1/janus")
    assert room["record"] is True
    assert (room["videocodec"], room["audiocodec"]) == ("vp8", "opus")
    assert room["publishers"] > 3  # VideoRoom's default would refuse the fourth seat
    join = videoroom.join_subscriber("S1", "feed", ["0", "1"])
    assert join["streams"] == [{"feed": "feed", "mid": "0"}, {"feed": "feed", "mid": "1"}]
    assert videoroom.join_publisher("S1", "seat1")["display"] == "seat1"


def test_sdp_reading() -> None:
    media = videoroom.sdp_media(OFFER)
    assert [(m.kind, m.mid, m.direction) for m in media] == [
        ("audio", "0", "sendonly"),
        ("video", "1", "sendonly"),
        ("application", "2", "sendrecv"),
    ]
    mids = videoroom.offered_mids(OFFER)
    assert mids == {"audio": "0", "video": "1"}
    answer = OFFER.replace("sendonly", "recvonly").replace("m=video 9", "m=video 0")
    assert videoroom.accepted_kinds(answer, mids) == ["audio"]
    inactive = OFFER.replace("a=sendonly", "a=inactive")
    assert videoroom.accepted_kinds(inactive, mids) == []


def test_connection_states() -> None:
    assert videoroom.connection_state({"janus": "webrtcup"}) == "connected"
    assert videoroom.connection_state({"janus": "hangup", "reason": "Close PC"}) == "closed"
    assert videoroom.connection_state({"janus": "hangup", "reason": "ICE failed"}) == "failed"
    assert videoroom.connection_state({"janus": "media"}) is None
    assert videoroom.media_kind({"janus": "media", "type": "video"}) == "video"
    assert videoroom.media_kind({"janus": "slowlink", "media": "audio"}) == "audio"


def rtp(seq: int, payload: bytes, *, padding: int = 0, extension: bool = False) -> bytes:
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0)
    header = bytes([first, 111]) + seq.to_bytes(2, "big") + bytes(8)
    ext = b"\xbe\xde\x00\x01" + bytes(4) if extension else b""
    pad = bytes(padding - 1) + bytes([padding]) if padding else b""
    return header + ext + payload + pad


def mjr(header: dict[str, object], frames: list[tuple[int, bytes]]) -> bytes:
    text = json.dumps(header).encode()
    out = MJR_MAGIC + len(text).to_bytes(2, "big") + text
    for when, packet in frames:
        out += FRAME_MAGIC + when.to_bytes(4, "big") + len(packet).to_bytes(2, "big") + packet
    return out


def test_rtp_payload_size() -> None:
    assert rtp_payload_size(rtp(1, b"abcd")) == 4
    assert rtp_payload_size(rtp(1, b"abcd", padding=3)) == 4
    assert rtp_payload_size(rtp(1, b"abcd", extension=True)) == 4
    assert rtp_payload_size(b"short") == 0


def test_read_mjr_counts_losses_wraps_and_retransmissions() -> None:
    header = {"t": "v", "c": "vp8", "s": 1_000_000_000, "u": 1_000_050_000}
    seqs = [65533, 65534, 65535, 0, 3, 3, 4, 2]  # wrap, a gap of 1 and 2 (2 arrives late), a dup
    data = mjr(header, [(i * 10, rtp(s, bytes([0x10, 0x01]))) for i, s in enumerate(seqs)])
    info = read_mjr(data + FRAME_MAGIC + bytes(3))  # and a torn last frame
    assert (info.kind, info.codec, info.created_us, info.first_us) == (
        "video",
        "vp8",
        1_000_000_000,
        1_000_050_000,
    )
    assert info.packets == 7
    assert (info.frames, info.keyframes) == (7, 0)  # each packet starts an inter frame
    assert info.bytes == 14
    assert (info.lost, info.gaps) == (1, 1)  # only 1 never came
    assert info.last_offset_ms == 70
    assert output_name("seat1", info) == "seat1-video-1000000.webm"


def test_read_mjr_refuses_other_files() -> None:
    with pytest.raises(ValueError, match="not a Janus"):
        read_mjr(b"RIFF....")
    with pytest.raises(ValueError, match="only audio and video"):
        read_mjr(mjr({"t": "d", "c": "text"}, []))
    with pytest.raises(ValueError, match="MEET"):
        read_mjr(mjr({"t": "a", "c": "opus"}, []) + b"XXXX" + bytes(10))


def test_a_recording_without_a_packet_is_set_aside(tmp_path: Path) -> None:
    empty = tmp_path / "seat-1~1700000000000-video-1.mjr"
    empty.write_bytes(MJR_MAGIC)  # what Janus leaves when no packet ever arrived
    held = tmp_path / "seat-1~1700000000000-audio-0.mjr"
    held.write_bytes(mjr({"t": "a", "c": "opus"}, []))
    assert set_aside_if_empty(empty)
    assert not empty.exists()
    assert (tmp_path / (empty.name + ".empty")).read_bytes() == MJR_MAGIC
    assert not set_aside_if_empty(held)
    assert held.exists()
    assert not set_aside_if_empty(tmp_path / "gone.mjr")
    assert leftovers(tmp_path.parent / "none") == []


def test_seat_of_recording_base() -> None:
    assert seat_of(Path("seat-1~1700000000000-video-1.mjr")) == "seat-1"
    assert seat_of(Path("seat-1~1700000000000-audio-0.mjr.part")) == "seat-1"
    assert seat_of(Path("videoroom-S1-user-x-1-audio-0.mjr")) is None


def test_generated_configuration(tmp_path: Path) -> None:
    plugins, transports = tmp_path / "plugins", tmp_path / "transports"
    plugins.mkdir()
    transports.mkdir()
    for name in ("libjanus_videoroom.so", "libjanus_echotest.so", "libjanus_sip.so"):
        (plugins / name).touch()
    for name in ("libjanus_http.so", "libjanus_websockets.so"):
        (transports / name).touch()
    text = janus_jcfg(
        tmp_path / "conf",
        Folders(plugins, transports),
        tmp_path / "none",
        api_secret="s3cret",  # noqa: S106 (a test value)
        interfaces=["v0"],
        rtp_ports=(20000, 20100),
    )
    assert 'disable = "libjanus_echotest.so,libjanus_sip.so"' in text
    assert 'disable = "libjanus_websockets.so"' in text
    assert 'ice_enforce_list = "v0"' in text
    assert 'api_secret = "s3cret"' in text
    assert 'recordings_tmp_ext = "part"' in text
    assert '"/var"' not in text  # a data directory under /var/lib must be allowed as rec_dir
    http = http_jcfg("127.0.0.1", 8088)
    assert 'ip = "127.0.0.1"' in http
    assert "admin_http = false" in http
    assert "https = false" in http


def test_vp8_frame_starts() -> None:
    assert vp8_frame_start(bytes([0x10, 0x00])) == (True, True)  # S, PID 0, a frame with P=0
    assert vp8_frame_start(bytes([0x10, 0x01])) == (True, False)  # an inter frame
    assert vp8_frame_start(bytes([0x00, 0x00])) == (False, False)  # the middle of a frame
    # X with I (15-bit picture id), L and T: the frame header comes after 6 descriptor bytes.
    assert vp8_frame_start(bytes([0x90, 0xE0, 0x81, 0x02, 0x03, 0x20, 0x00])) == (True, True)
    assert vp8_frame_start(bytes([0x90, 0xE0, 0x81, 0x02, 0x03, 0x20, 0x01])) == (True, False)
    assert vp8_frame_start(b"") == (False, False)


def test_tail_reads_only_what_was_appended(tmp_path: Path) -> None:
    header = {"t": "v", "c": "vp8", "s": 5_000_000, "u": 6_000_000}
    frames = [
        (0, rtp(1, bytes([0x10, 0x00, 9]))),  # a keyframe starts
        (1, rtp(2, bytes([0x00, 9, 9]))),  # and goes on
        (40, rtp(3, bytes([0x10, 0x01, 9]))),  # an inter frame
    ]
    data = mjr(header, frames)
    part = tmp_path / "seat~1-video-1.mjr.part"
    part.write_bytes(data[:-3])  # Janus's buffer cut the second frame
    tail = MjrTail(part)
    first = tail.poll()
    assert (first.kind, first.packets, first.keyframes, first.last_ms) == ("video", 1, 1, 6001)
    assert first.rtp_packets == 2
    part.write_bytes(data + data[-len(frames[2][1]) - 10 :])  # the rest, and a retransmission
    part.rename(tmp_path / "seat~1-video-1.mjr")  # Janus closed it
    done = tail.poll()
    assert (done.packets, done.keyframes, done.lost, done.last_ms) == (2, 1, 0, 6040)
    assert (done.rtp_packets, done.payload_bytes) == (3, 9)
