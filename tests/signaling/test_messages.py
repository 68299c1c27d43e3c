"""Signaling messages: every type parsed from what a browser sends, every refusal with its code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.messages import (
    MAX_CANDIDATE_BYTES,
    MAX_SDP_BYTES,
    MESSAGE_TYPES,
    Candidate,
    Leave,
    Message,
    Mute,
    Publish,
    Restart,
    SignalError,
    State,
    SubscribeAnswer,
    parse_message,
)

# The shape of what Chromium sends (shortened), CRLF line ends as in RFC 8866.
SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
)
CAND = "candidate:842163049 1 udp 1677729535 192.0.2.7 46154 typ srflx raddr 0.0.0.0 rport 0"

VALID: list[tuple[str, Any, Message]] = [
    ("publish", {"sdp": SDP}, Publish(SDP)),
    ("publish", {"sdp": SDP, "restart": True}, Publish(SDP, restart=True)),
    ("subscribe_answer", {"conn": "sub-3", "sdp": SDP}, SubscribeAnswer("sub-3", SDP)),
    (
        "candidate",
        {"conn": "pub", "candidate": CAND, "sdpMid": "0", "sdpMLineIndex": 0},
        Candidate("pub", CAND, "0", 0),
    ),
    (
        "candidate",  # RTCIceCandidate.toJSON() as it is
        {
            "conn": "sub.host-2:v",
            "candidate": CAND,
            "sdpMid": None,
            "sdpMLineIndex": 3,
            "usernameFragment": "aB+/9xYz",
        },
        Candidate("sub.host-2:v", CAND, None, 3, "aB+/9xYz"),
    ),
    ("candidate", {"conn": "pub", "candidate": ""}, Candidate("pub", "")),
    ("restart", {"conn": "pub"}, Restart("pub")),
    ("mute", {"kind": "video", "muted": True}, Mute("video", True)),
    ("mute", {"kind": "audio", "muted": False}, Mute("audio", False)),
    ("leave", {}, Leave()),
    ("leave", None, Leave()),
    ("state", {"conn": "pub", "state": "disconnected"}, State("pub", "disconnected")),
]


@pytest.mark.parametrize(("event", "data", "expected"), VALID)
def test_valid_messages_parse(event: str, data: Any, expected: Message) -> None:
    message = parse_message(event, data)
    assert message == expected
    assert message.type == event


def test_every_message_type_is_exercised() -> None:
    assert {event for event, _, _ in VALID} == MESSAGE_TYPES
    assert len(MESSAGE_TYPES) == 7


def _refused(event: str, data: Any) -> SignalError:
    with pytest.raises(SignalError) as info:
        parse_message(event, data)
    return info.value


def test_unknown_event() -> None:
    error = _refused("offer", {"sdp": SDP})
    assert error.code == "unknown_message"
    assert error.to_json() == {
        "code": "unknown_message",
        "message": "unknown signaling message 'offer'",
    }
    assert len(_refused("x" * 10_000, {}).message) < 120


@pytest.mark.parametrize(("event", "data", "_"), VALID)
def test_unknown_keys_are_refused_for_every_type(event: str, data: Any, _: Message) -> None:
    error = _refused(event, {**(data or {}), "extra": 1})
    assert error.to_json() == {"code": "malformed", "message": "unknown keys: 'extra'"}


@pytest.mark.parametrize("data", [[], "sdp", 5, True, {1: "x"}])
def test_payload_must_be_an_object(data: Any) -> None:
    assert _refused("publish", data).code == "malformed"


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("publish", {}),
        ("subscribe_answer", {"sdp": SDP}),
        ("candidate", {"conn": "pub"}),
        ("restart", {}),
        ("mute", {"kind": "audio"}),
        ("state", {"conn": "pub"}),
    ],
)
def test_missing_keys_are_refused(event: str, data: Any) -> None:
    error = _refused(event, data)
    assert (error.code, error.message.split(":")[0]) == ("malformed", "missing keys")


def test_sdp_limit_counts_utf8_bytes() -> None:
    head = "v=0\r\n"
    assert parse_message("publish", {"sdp": head + "a" * (MAX_SDP_BYTES - len(head))})
    assert _refused("publish", {"sdp": head + "a" * (MAX_SDP_BYTES - len(head) + 1)}).code == (
        "too_large"
    )
    # 评 is three bytes in UTF-8: under the limit in characters, over it in bytes.
    assert _refused("publish", {"sdp": head + "评" * (MAX_SDP_BYTES // 3)}).code == "too_large"


@pytest.mark.parametrize("sdp", ["", "o=- 1 2 IN IP4 0.0.0.0\r\n", "v=01\r\n", " v=0\r\n", 7, None])
def test_sdp_must_be_a_session_description(sdp: Any) -> None:
    assert _refused("publish", {"sdp": sdp}).code == "malformed"
    assert _refused("subscribe_answer", {"conn": "s1", "sdp": sdp}).code == "malformed"


def test_lone_surrogate_is_malformed_not_a_crash() -> None:
    assert _refused("publish", {"sdp": "v=0\r\n\ud800"}).code == "malformed"


def test_client_never_answers_on_its_publisher_connection() -> None:
    assert _refused("subscribe_answer", {"conn": "pub", "sdp": SDP}).code == "malformed"


@pytest.mark.parametrize("conn", ["", "a" * 65, "sub 1", "sub/1", "séance", 1, None])
def test_connection_ids_are_checked(conn: Any) -> None:
    assert _refused("restart", {"conn": conn}).code == "malformed"
    assert _refused("state", {"conn": conn, "state": "failed"}).code == "malformed"


def test_candidate_limit_and_injection() -> None:
    def cand(text: str) -> dict[str, Any]:
        return {"conn": "pub", "candidate": text, "sdpMLineIndex": 0}

    at_limit = CAND + " " + "x" * (MAX_CANDIDATE_BYTES - len(CAND) - 1)
    assert parse_message("candidate", cand(at_limit))
    assert _refused("candidate", cand(at_limit + "x")).code == "too_large"
    assert _refused("candidate", cand(CAND + "\r\na=ice-lite")).code == "malformed"
    assert _refused("candidate", cand("a=" + CAND)).code == "malformed"


@pytest.mark.parametrize(
    "extra",
    [
        {},  # neither sdpMid nor sdpMLineIndex
        {"sdpMid": None, "sdpMLineIndex": None},
        {"sdpMLineIndex": True},
        {"sdpMLineIndex": -1},
        {"sdpMLineIndex": 70_000},
        {"sdpMLineIndex": 1.0},
        {"sdpMid": "a b"},
        {"sdpMid": 0},
        {"sdpMid": "0", "usernameFragment": "no spaces"},
    ],
)
def test_candidate_fields_are_checked(extra: dict[str, Any]) -> None:
    assert _refused("candidate", {"conn": "pub", "candidate": CAND, **extra}).code == "malformed"


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("mute", {"kind": "screen", "muted": True}),
        ("mute", {"kind": "audio", "muted": 1}),
        ("mute", {"kind": ["audio"], "muted": True}),
        ("publish", {"sdp": SDP, "restart": "yes"}),
        ("state", {"conn": "pub", "state": "checking"}),
        ("state", {"conn": "pub", "state": None}),
        ("leave", {"now": True}),
    ],
)
def test_enumerations_and_booleans_are_strict(event: str, data: Any) -> None:
    assert _refused(event, data).code == "malformed"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
KEYS = st.sampled_from(
    ["sdp", "conn", "candidate", "sdpMid", "sdpMLineIndex", "kind", "muted", "state", "restart"]
)


@settings(max_examples=300, deadline=None, database=None)
@given(event=st.sampled_from(sorted(MESSAGE_TYPES)), data=JSON | st.dictionaries(KEYS, JSON))
def test_any_json_gives_a_message_of_its_type_or_a_signal_error(event: str, data: Any) -> None:
    outcome: str
    try:
        outcome = parse_message(event, data).type
    except SignalError as error:
        outcome = error.code
    assert outcome in {event, "malformed", "too_large"}
