"""Where and how the server listens: HTTPS with the venue's certificate, or plain HTTP on loopback.

A seat on another machine cannot enrol over plain HTTP (no WebCrypto, no camera outside a secure
context), and tokens and one-time codes would cross the venue's network in the clear. So plain
HTTP is served on loopback only, unless the operator says otherwise (a TLS-terminating proxy in
front, docs/DEPLOY.md), and then with a warning in the log.
"""

from __future__ import annotations

import ipaddress
import ssl

from server.app.config import Config

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class ListenRefused(Exception):
    """The configuration would serve plain HTTP beyond this machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a listen address) reaches only this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(config: Config) -> str | None:
    """Refuse plain HTTP off loopback unless allowed; the warning to log when it is allowed."""
    if config.tls_cert is not None or is_loopback(config.host):
        return None
    if not config.allow_plain_http:
        raise ListenRefused(
            f"refusing plain HTTP on {config.host}: seats on other machines need HTTPS "
            "(evalroom tls init, then --tls-cert/--tls-key), or set EVALROOM_ALLOW_PLAIN_HTTP=1 "
            "behind a TLS proxy (docs/DEPLOY.md)"
        )
    return (
        f"serving plain HTTP on {config.host} (EVALROOM_ALLOW_PLAIN_HTTP): only safe behind a "
        "TLS-terminating proxy; browsers refuse WebCrypto and the camera over plain HTTP"
    )


def ssl_context(config: Config) -> ssl.SSLContext | None:
    """The server's TLS context (TLS 1.2 and up), or None for plain HTTP."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context
