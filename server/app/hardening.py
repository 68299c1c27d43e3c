"""Browser hardening: which origins may act, JSON-only bodies, security headers, no banner.

A page of another site can make a seat's or an operator's browser send requests here: a form
POST, a ``fetch`` with a simple content type, a websocket (browsers apply no CORS to those).
The server sets no cookies (tokens travel in headers and socket.io's auth), so such a request
carries no credential today; the checks keep it that way whatever a page stores later, and shut
the form-POST door: a browser's state-changing request must come from an allowed origin, and a body
must be ``application/json`` (which a cross-site page cannot send without a preflight, which this
server never grants).

Non-browser clients (the Python client, the simulator, witnesses, curl) send no ``Origin`` and
are not affected. Every response carries a Content-Security-Policy without inline scripts, and
the ``Server`` header (aiohttp's version banner) is removed.
"""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import hdrs, web, web_response
from aiohttp.typedefs import Middleware

from server.domain.errors import Code, CommandError

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ENGINEIO_PATH = "/socket.io/"  # socket.io's own origin check (cors_allowed_origins) covers it
JSON_TYPE = "application/json"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a Host header may hold before it goes into a header value of ours (no ';', ',', spaces).
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")

SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if not an origin.

    ``null`` (sandboxed frames, ``file:``), paths, credentials and other schemes are not origins.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if ":" in host:  # an IPv6 literal lost its brackets in urlsplit
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_allowed_origins(text: str) -> tuple[str, ...]:
    """``EVALROOM_ALLOWED_ORIGINS``: comma-separated origins, each checked and normalized."""
    found: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        origin = normalize_origin(item)
        if origin is None:
            raise ValueError(
                f"EVALROOM_ALLOWED_ORIGINS: {item!r} is not an origin "
                "(scheme://host[:port], http or https, nothing after it)"
            )
        found.append(origin)
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class OriginPolicy:
    """Which browser origins may change state and open socket.io connections.

    ``allowed``: the operator's list (``EVALROOM_ALLOWED_ORIGINS``), exact. Without one, the
    server's own origins: the one the request names (its scheme and ``Host`` header) and the
    origin of ``EVALROOM_PUBLIC_URL`` (a TLS proxy in front forwards plain HTTP, so the request's
    own scheme is then ``http`` while the page is ``https``). ``X-Forwarded-*`` is not read.
    """

    allowed: tuple[str, ...] = ()
    public: str | None = None

    def allows(self, origin: str | None, scheme: str, host: str | None) -> bool:
        """Whether a request with this ``Origin`` header (None: not a browser) may go on."""
        if origin is None:
            return True
        got = normalize_origin(origin)
        if got is None:
            return False
        if self.allowed:
            return got in self.allowed
        own = normalize_origin(f"{scheme}://{host}") if host and _HOST.match(host) else None
        return got in (own, self.public)

    def allows_request(self, request: web.BaseRequest) -> bool:
        """:meth:`allows` for an aiohttp request."""
        return self.allows(request.headers.get(hdrs.ORIGIN), request.scheme, request.host)

    def for_engineio(self) -> Callable[[str | None, dict[str, Any]], bool]:
        """python-socketio's ``cors_allowed_origins`` callable: ``(origin, environ) -> bool``.

        engine.io calls it only when an ``Origin`` header is present, for every namespace
        (``/`` and ``/media``) of the one server, before any connect handler runs.
        """

        def check(origin: str | None, environ: dict[str, Any]) -> bool:
            request = environ.get("aiohttp.request")
            if not isinstance(request, web.BaseRequest):
                return False
            return self.allows_request(request)

        return check


def content_security_policy(host: str | None, secure: bool) -> str:
    """The policy of every response: scripts and styles from files of this origin only.

    ``frame-src blob:`` is the report PDF shown on the seat page (a blob of the checked bytes);
    ``media-src``/``img-src`` ``blob:`` the recordings player and video tiles.
    """
    connect = ["'self'"]
    if host and _HOST.match(host):  # 'self' covers ws(s) in CSP 3; older engines need it named
        connect.append(f"wss://{host}")
        if not secure:
            connect.append(f"ws://{host}")
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        f"connect-src {' '.join(connect)}",
        "frame-src blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _refusal(code: Code, message: str, status: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": CommandError(code, message).to_json()}, status=status
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def browser_guard(policy: OriginPolicy) -> Middleware:
    """Middleware: a state-changing request from a foreign origin gets ``403 bad_origin``, a body
    that is not ``application/json`` gets ``415 unsupported_media_type`` (both typed errors)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in SAFE_METHODS or request.path == ENGINEIO_PATH:
            return await handler(request)
        if not policy.allows_request(request):
            logger.warning(
                "refused %s %s from origin %r",
                request.method,
                request.path,
                request.headers.get(hdrs.ORIGIN),
            )
            return _refusal(Code.BAD_ORIGIN, "requests from this origin are not accepted", 403)
        if request.body_exists and request.content_type != JSON_TYPE:
            return _refusal(Code.UNSUPPORTED_MEDIA_TYPE, f"the body must be {JSON_TYPE}", 415)
        return await handler(request)

    return guard


async def security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the security headers on every response, and no ``Server``."""
    response.headers.popall(hdrs.SERVER, None)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault(
        "Content-Security-Policy", content_security_policy(request.host, request.secure)
    )


def hide_server_banner() -> None:
    """No aiohttp version on the responses aiohttp writes itself, before any route or signal.

    A malformed request line is answered by the protocol, without ``on_response_prepare``; that
    answer takes its ``Server`` header from this module global of aiohttp (the client's
    ``User-Agent`` has its own). Everything that reaches the app has no ``Server`` at all.
    """
    web_response.SERVER_SOFTWARE = "evalroom"  # type: ignore[attr-defined]  # not re-exported


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with the last part 0700; warn if it exists open to others."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode goes through the umask
        return path
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "data directory %s is mode %o: others on this machine may read tokens and keys "
            "(chmod 700 it)",
            path,
            mode,
        )
    return path
