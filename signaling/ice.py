"""ICE server configuration, from configuration only.

There is no public STUN server by default: evaluation venues often sit on closed networks where a
lookup to the internet would only add a timeout, and the media path must not depend on a third
party. The deployment names its own STUN and TURN servers; TURN credentials are minted per member
with :mod:`signaling.turn`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from signaling.turn import mint

STUN_SCHEMES = frozenset({"stun"})
TURN_SCHEMES = frozenset({"turn", "turns"})

# RFC 7064 / RFC 7065: scheme ":" host [":" port], and for TURN an optional "?transport=udp|tcp".
_URL = re.compile(
    r"(?P<scheme>[A-Za-z]+):"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?",
    re.ASCII,
)
_SEPARATORS = re.compile(r"[\s,]+")


def _check_url(url: str, schemes: frozenset[str]) -> str:
    """``url`` with its scheme in lower case, or ValueError saying what is wrong with it."""
    allowed = ", ".join(f"{s}:" for s in sorted(schemes))
    match = _URL.fullmatch(url)
    if match is None:
        raise ValueError(f"{url!r} is not an ICE server URL ({allowed}host[:port])")
    scheme = match["scheme"].lower()
    if scheme not in schemes:
        raise ValueError(f"{url!r}: the scheme must be one of {allowed}")
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise ValueError(f"{url!r}: {host} is not an IPv6 address") from exc
    elif ".." in host:
        raise ValueError(f"{url!r}: {host} is not a host name")
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        raise ValueError(f"{url!r}: port out of range")
    if match["transport"] is not None and scheme not in TURN_SCHEMES:
        raise ValueError(f"{url!r}: only TURN URLs take a transport")
    return scheme + url[len(scheme) :]


def parse_ice_urls(text: str) -> tuple[str, ...]:
    """Parse a comma or space separated list of ``stun:``, ``turn:`` and ``turns:`` URLs."""
    return tuple(
        _check_url(url, STUN_SCHEMES | TURN_SCHEMES) for url in _SEPARATORS.split(text) if url
    )


@dataclass(frozen=True, slots=True)
class IceConfig:
    """The deployment's STUN and TURN servers; the TURN secret never shows in a repr."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: bytes | None = field(default=None, repr=False)
    turn_ttl_s: int = 3600

    def __post_init__(self) -> None:
        # Checked here too so that a config built by hand cannot put a TURN URL in the STUN list
        # (it would be offered without credentials) or hand a browser a URL it refuses.
        for urls, schemes in ((self.stun_urls, STUN_SCHEMES), (self.turn_urls, TURN_SCHEMES)):
            if isinstance(urls, str):
                raise ValueError("ICE URLs are a tuple of strings: use parse_ice_urls")
            for url in urls:
                _check_url(url, schemes)
        if self.turn_ttl_s <= 0:
            raise ValueError(f"turn_ttl_s must be positive, got {self.turn_ttl_s}")


def ice_servers(config: IceConfig, user_id: str, now_s: int) -> list[dict[str, Any]]:
    """The W3C ``RTCIceServer`` list for one member, with TURN credentials minted for ``user_id``.

    Empty when nothing is configured: peers on one network then connect with host candidates.
    """
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls:
        if not config.turn_secret:
            # Without the shared secret coturn refuses every allocation: fail loudly here (the
            # server can call this once at startup) rather than as a media failure in the venue.
            raise ValueError("TURN URLs are configured without a TURN secret")
        cred = mint(config.turn_secret, user_id, now_s, config.turn_ttl_s)
        servers.append(
            {"urls": list(config.turn_urls), "username": cred.username, "credential": cred.password}
        )
    return servers
