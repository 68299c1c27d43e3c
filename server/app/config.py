"""Configuration from environment variables, read in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from server.app.hardening import parse_allowed_origins, private_dir
from server.app.limits import Limits
from server.app.secrets import Secret, load_or_create
from server.store.engine import default_url
from signaling.ice import IceConfig, parse_ice_urls


@dataclass(frozen=True)
class Config:
    """Everything the server reads from its environment.

    ``EVALROOM_DATA_DIR`` (default ``./data``): SQLite file, node secrets, credentials files.
    ``EVALROOM_DATABASE_URL``: e.g. ``postgresql+asyncpg://user@127.0.0.1/db``; SQLite otherwise.
    ``EVALROOM_HOST`` / ``EVALROOM_PORT``: where to listen (default 127.0.0.1:8080).
    ``EVALROOM_TOKEN_KEY``: token key shared by every node (default: created in the data dir).
    ``EVALROOM_ADMIN_TOKEN``: the admin bearer token (default: created in the data dir).
    ``EVALROOM_PUBLIC_URL``: the base URL printed in seat links (default from host and port).
    ``EVALROOM_NODE_NAME``: this node's name in checkpoint origins and signatures (no spaces or
    ``+``; default ``evalroom.local``). Its key is ``node.key`` in the data dir (0600).
    ``EVALROOM_WITNESS_KEYS``: space-separated cosignature verifier keys of the witnesses whose
    cosignatures this node stores (``name+keyid+key``, type 0x04).
    ``EVALROOM_WITNESS_OF`` and ``EVALROOM_WITNESS_HOST_KEY``: make this node a witness of the host
    at that URL whose checkpoint key is the given verifier key (type 0x01).
    ``EVALROOM_DATABASE_ROLE``: PostgreSQL role the server switches to (``SET ROLE``) after
    migrating, e.g. ``evalroom_writer``, which may not UPDATE or DELETE the log.
    ``EVALROOM_TLS_CERT`` / ``EVALROOM_TLS_KEY``: serve HTTPS and WSS with this certificate chain
    and key (``evalroom tls init`` makes a venue CA and both). Without them the server listens on
    loopback only, unless ``EVALROOM_ALLOW_PLAIN_HTTP=1`` (seats elsewhere then cannot enrol:
    browsers give WebCrypto and the camera only to secure contexts), e.g. behind a TLS proxy.
    ``EVALROOM_MEDIA_BACKEND``: ``embedded`` (default: an aiortc pass-through worker process,
    nothing to install) or ``janus`` (Debian's Janus VideoRoom; ``scripts/install-media.sh``).
    ``EVALROOM_MEDIA_ADDRESSES``: space-separated host addresses the media worker announces as
    ICE candidates (default: every non-loopback address; ``127.0.0.1`` for a one-machine demo);
    for Janus, its ``ice_enforce_list`` (addresses or interface names).
    ``EVALROOM_JANUS_URL``: a Janus already running (e.g. ``http://127.0.0.1:8088/janus``);
    without it the node starts its own Janus on 127.0.0.1:``EVALROOM_JANUS_PORT`` (8088).
    ``EVALROOM_STUN_URLS`` / ``EVALROOM_TURN_URLS``: ICE servers handed to seats (none by
    default: venues are often closed networks). ``EVALROOM_TURN_SECRET``: coturn's
    ``static-auth-secret``; seats get time-limited credentials (``EVALROOM_TURN_TTL_S``, 3600).
    ``EVALROOM_MEDIA_DARK_MS``: a published track with no media for this long raises an alert
    event (default 10000).
    ``EVALROOM_ALLOWED_ORIGINS``: comma-separated browser origins (``https://host[:port]``) that
    may open socket.io connections and send POSTs; default: the server's own origin (the
    request's scheme and ``Host``) and that of ``EVALROOM_PUBLIC_URL`` (server/app/hardening.py).
    ``EVALROOM_HEAD_GATE``: where accepted connections wait for their request head: ``process``
    (default: a process of the node's own, so half-open connections never reach its event loop:
    server/app/gate_process.py) or ``loop`` (the node's event loop, one process less).
    The data directory is created 0700.
    """

    data_dir: Path
    database_url: str
    host: str
    port: int
    token_key: Secret
    admin_token: Secret
    public_url: str
    node_name: str = "evalroom.local"
    witness_keys: tuple[str, ...] = ()
    witness_of: str | None = None
    witness_host_key: str | None = None
    database_role: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_plain_http: bool = False
    media_backend: str = "embedded"
    media_addresses: tuple[str, ...] = ()
    janus_url: str | None = None
    janus_port: int = 8088
    ice: IceConfig = field(default_factory=IceConfig)
    media_dark_ms: int = 10_000
    allowed_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    head_gate: Literal["process", "loop"] = "process"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str) -> Config:
        """Read the configuration; ``overrides`` (e.g. from the command line) win."""
        source = {**(os.environ if env is None else env), **overrides}
        data_dir = private_dir(Path(source.get("EVALROOM_DATA_DIR", "data")).resolve())
        host = source.get("EVALROOM_HOST", "127.0.0.1")
        port = int(source.get("EVALROOM_PORT", "8080"))
        token_key = source.get("EVALROOM_TOKEN_KEY")
        tls_cert, tls_key = source.get("EVALROOM_TLS_CERT"), source.get("EVALROOM_TLS_KEY")
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("EVALROOM_TLS_CERT and EVALROOM_TLS_KEY go together")
        admin = source.get("EVALROOM_ADMIN_TOKEN")
        return cls(
            data_dir=data_dir,
            database_url=source.get("EVALROOM_DATABASE_URL") or default_url(data_dir),
            host=host,
            port=port,
            token_key=Secret(token_key) if token_key else load_or_create(data_dir / "token.key"),
            admin_token=Secret(admin) if admin else load_or_create(data_dir / "admin.token"),
            public_url=source.get("EVALROOM_PUBLIC_URL")
            or f"{'https' if tls_cert else 'http'}://{host}:{port}",
            tls_cert=Path(tls_cert).resolve() if tls_cert else None,
            tls_key=Path(tls_key).resolve() if tls_key else None,
            allow_plain_http=source.get("EVALROOM_ALLOW_PLAIN_HTTP", "") in ("1", "true", "yes"),
            node_name=source.get("EVALROOM_NODE_NAME") or "evalroom.local",
            witness_keys=tuple(source.get("EVALROOM_WITNESS_KEYS", "").split()),
            witness_of=source.get("EVALROOM_WITNESS_OF") or None,
            witness_host_key=source.get("EVALROOM_WITNESS_HOST_KEY") or None,
            database_role=source.get("EVALROOM_DATABASE_ROLE") or None,
            media_backend=media_backend(source.get("EVALROOM_MEDIA_BACKEND", "embedded")),
            media_addresses=tuple(source.get("EVALROOM_MEDIA_ADDRESSES", "").split()),
            janus_url=source.get("EVALROOM_JANUS_URL") or None,
            janus_port=int(source.get("EVALROOM_JANUS_PORT", "8088")),
            ice=ice_from_env(source),
            media_dark_ms=int(source.get("EVALROOM_MEDIA_DARK_MS", "10000")),
            allowed_origins=parse_allowed_origins(source.get("EVALROOM_ALLOWED_ORIGINS", "")),
            limits=Limits.from_env(source),
            head_gate=head_gate(source.get("EVALROOM_HEAD_GATE", "process")),
        )


def ice_from_env(source: Mapping[str, str]) -> IceConfig:
    """The ICE servers seats are given, from ``EVALROOM_STUN_URLS`` and ``EVALROOM_TURN_*``."""
    secret = source.get("EVALROOM_TURN_SECRET")
    return IceConfig(
        stun_urls=parse_ice_urls(source.get("EVALROOM_STUN_URLS", "")),
        turn_urls=parse_ice_urls(source.get("EVALROOM_TURN_URLS", "")),
        turn_secret=secret.encode() if secret else None,
        turn_ttl_s=int(source.get("EVALROOM_TURN_TTL_S", "3600")),
    )


MEDIA_BACKENDS = ("embedded", "janus")
HEAD_GATES = ("process", "loop")


def one_of(setting: str, value: str, known: tuple[str, ...]) -> str:
    """A known value of a setting, or a clear error at start."""
    if value not in known:
        raise ValueError(f"{setting} must be one of {', '.join(known)}")
    return value


def head_gate(name: str) -> Literal["process", "loop"]:
    """Where connections wait for their head, or a clear error at start."""
    return "loop" if one_of("EVALROOM_HEAD_GATE", name, HEAD_GATES) == "loop" else "process"


def media_backend(name: str) -> str:
    """A known media backend name, or a clear error at start."""
    return one_of("EVALROOM_MEDIA_BACKEND", name, MEDIA_BACKENDS)
