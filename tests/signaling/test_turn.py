"""TURN REST API credentials, checked against values computed outside the module."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.turn import TurnCredential, check, mint, refresh_due

SECRET = b"north"
NOW = 1_700_000_000
# From `printf 1700000600:seat-1 | openssl dgst -sha1 -hmac north -binary | base64`.
OPENSSL_HMAC_B64 = "zCdq/GIx7DSf9PeXri4c7mxXcPw="


def test_mint_matches_the_coturn_scheme_literally() -> None:
    cred = mint(SECRET, "seat-1", NOW, 600)
    assert cred.username == "1700000600:seat-1"
    assert cred.expires_s == 1_700_000_600
    assert cred.password == OPENSSL_HMAC_B64
    independent = hmac.new(SECRET, b"1700000600:seat-1", hashlib.sha1).digest()
    assert cred.password == base64.b64encode(independent).decode("ascii")


def test_check_accepts_until_expiry_and_refuses_after() -> None:
    cred = mint(SECRET, "seat-1", NOW, 600)
    assert check(SECRET, cred.username, cred.password, NOW)
    assert check(SECRET, cred.username, cred.password, NOW + 600)  # coturn: ts < now is refused
    assert not check(SECRET, cred.username, cred.password, NOW + 601)


def test_check_refuses_wrong_secret_password_or_username() -> None:
    cred = mint(SECRET, "seat-1", NOW, 600)
    assert not check(b"south", cred.username, cred.password, NOW)
    assert not check(SECRET, cred.username, "zCdq/GIx7DSf9PeXri4c7mxXcPA=", NOW)
    assert not check(SECRET, "1700000600:seat-2", cred.password, NOW)
    # A later expiry would extend the credential: the password binds the expiry too.
    assert not check(SECRET, "1700009999:seat-1", cred.password, NOW)
    assert not check(SECRET, cred.username, "", NOW)
    assert not check(SECRET, cred.username, "ünïcode", NOW)


@pytest.mark.parametrize(
    "username",
    [
        "seat-1",
        ":seat-1",
        "1700000600:",
        "+1700000600:seat-1",
        " 1700000600:seat-1",
        "1_700_000_600:seat-1",
        "x:seat-1",
    ],
)
def test_check_refuses_malformed_usernames(username: str) -> None:
    password = base64.b64encode(hmac.new(SECRET, username.encode(), hashlib.sha1).digest())
    assert not check(SECRET, username, password.decode(), NOW)


@pytest.mark.parametrize(
    ("secret", "user_id", "ttl_s"),
    [
        (SECRET, "seat-1", 0),
        (SECRET, "seat-1", -5),
        (SECRET, "", 60),
        (SECRET, "expert:a", 60),
        (b"", "seat-1", 60),
    ],
)
def test_mint_refuses_bad_arguments(secret: bytes, user_id: str, ttl_s: int) -> None:
    with pytest.raises(ValueError, match="TURN"):
        mint(secret, user_id, NOW, ttl_s)


def test_password_is_not_in_repr() -> None:
    cred = mint(SECRET, "seat-1", NOW, 600)
    assert cred.password not in repr(cred)
    assert "1700000600:seat-1" in repr(cred)


def test_refresh_due_within_margin() -> None:
    cred = TurnCredential("1700000600:seat-1", "x", 1_700_000_600)
    assert not refresh_due(cred, NOW, 300)
    assert not refresh_due(cred, NOW + 299, 300)
    assert refresh_due(cred, NOW + 300, 300)
    assert refresh_due(cred, NOW + 10_000, 0)
    with pytest.raises(ValueError, match="margin"):
        refresh_due(cred, NOW, -1)


@settings(max_examples=200, deadline=None, database=None)
@given(
    secret=st.binary(min_size=1, max_size=64),
    user_id=st.text(min_size=1, max_size=40).filter(lambda u: ":" not in u),
    now_s=st.integers(0, 2**40),
    ttl_s=st.integers(1, 10**6),
    later=st.integers(0, 2 * 10**6),
)
def test_minted_credentials_check_exactly_until_expiry(
    secret: bytes, user_id: str, now_s: int, ttl_s: int, later: int
) -> None:
    cred = mint(secret, user_id, now_s, ttl_s)
    assert cred.username.split(":", 1) == [str(now_s + ttl_s), user_id]
    assert check(secret, cred.username, cred.password, now_s + later) == (later <= ttl_s)
    assert not check(secret + b"x", cred.username, cred.password, now_s)
