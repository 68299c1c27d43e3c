"""ICE server configuration: URL parsing and the RTCIceServer list handed to a member."""

from __future__ import annotations

import pytest

from signaling.ice import IceConfig, ice_servers, parse_ice_urls
from signaling.turn import check

SECRET = b"venue-secret-\x00\xff"
NOW = 1_700_000_000


def test_parse_splits_on_commas_and_spaces() -> None:
    text = " stun:stun.venue.local:3478, turn:10.0.0.5?transport=udp\n turns:[2001:db8::1]:5349 ,"
    assert parse_ice_urls(text) == (
        "stun:stun.venue.local:3478",
        "turn:10.0.0.5?transport=udp",
        "turns:[2001:db8::1]:5349",
    )
    assert parse_ice_urls("") == ()
    assert parse_ice_urls(" , ") == ()


def test_parse_lowercases_the_scheme_only() -> None:
    assert parse_ice_urls("TURN:Relay.Example.org") == ("turn:Relay.Example.org",)


@pytest.mark.parametrize(
    "bad",
    [
        "http://stun.example.org",
        "stuns:stun.example.org",
        "stun.example.org:3478",
        "stun:",
        "turn:relay.example.org:0",
        "turn:relay.example.org:70000",
        "turn:relay.example.org?transport=sctp",
        "stun:stun.example.org?transport=udp",
        "turn:[not:an:ip:zz]",
        "turn:a..b",
        "turn:user@relay.example.org",
    ],
)
def test_parse_refuses_what_is_not_a_stun_or_turn_url(bad: str) -> None:
    with pytest.raises(ValueError, match=r"stun|turn|port|transport|IPv6|host"):
        parse_ice_urls(f"stun:ok.example.org {bad}")


def test_nothing_configured_means_no_servers_and_no_public_stun() -> None:
    assert ice_servers(IceConfig(), "seat-1", NOW) == []


def test_stun_only() -> None:
    config = IceConfig(stun_urls=("stun:stun.venue.local",))
    assert ice_servers(config, "seat-1", NOW) == [{"urls": ["stun:stun.venue.local"]}]


def test_turn_credentials_are_minted_for_the_member_and_coturn_accepts_them() -> None:
    config = IceConfig(
        stun_urls=("stun:10.0.0.5",),
        turn_urls=("turn:10.0.0.5?transport=udp", "turns:relay.venue.local:5349"),
        turn_secret=SECRET,
        turn_ttl_s=900,
    )
    stun, turn = ice_servers(config, "host-1", NOW)
    assert stun == {"urls": ["stun:10.0.0.5"]}
    assert set(turn) == {"urls", "username", "credential"}
    assert turn["urls"] == ["turn:10.0.0.5?transport=udp", "turns:relay.venue.local:5349"]
    assert turn["username"] == "1700000900:host-1"
    assert check(SECRET, turn["username"], turn["credential"], NOW + 900)
    assert not check(SECRET, turn["username"], turn["credential"], NOW + 901)


def test_turn_without_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        ice_servers(IceConfig(turn_urls=("turn:10.0.0.5",)), "host-1", NOW)
    with pytest.raises(ValueError, match="secret"):
        ice_servers(IceConfig(turn_urls=("turn:10.0.0.5",), turn_secret=b""), "host-1", NOW)


def test_secret_without_turn_urls_hands_out_nothing() -> None:
    assert ice_servers(IceConfig(turn_secret=SECRET), "host-1", NOW) == []


def test_secret_never_shows_in_repr() -> None:
    config = IceConfig(turn_urls=("turn:10.0.0.5",), turn_secret=b"hunter2")
    assert "hunter2" not in repr(config)
    assert "turn_secret" not in repr(config)
    assert "turn:10.0.0.5" in repr(config)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stun_urls": ("turn:10.0.0.5",)},
        {"turn_urls": ("stun:10.0.0.5",)},
        {"turn_urls": "turn:10.0.0.5"},
        {"turn_ttl_s": 0},
    ],
)
def test_config_checks_itself(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"scheme|tuple|positive"):
        IceConfig(**kwargs)  # type: ignore[arg-type]
