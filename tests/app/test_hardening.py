"""Browser hardening (issue 10, deliverable 6) on a real server: origins, JSON bodies, headers,
file modes."""

from __future__ import annotations

import asyncio
import json
import stat
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from server.app.cli import main as cli_main
from server.app.config import Config
from server.app.hardening import OriginPolicy, normalize_origin, parse_allowed_origins
from server.store.engine import migrate, open_engine
from tests.app.conftest import ADMIN, Room, load_lot, running_node

EVIL = "http://evil.example"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the origin policy, pure -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://Venue.Example", "https://venue.example"),
        ("https://venue.example:443", "https://venue.example"),
        ("http://127.0.0.1:80/", "http://127.0.0.1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("null", None),
        ("file://", None),
        ("ftp://venue.example", None),
        ("https://venue.example/seat", None),
        ("https://user@venue.example", None),
        ("https://venue.example:99999", None),
        ("", None),
    ],
)
def test_origins_are_normalized_or_refused(raw: str, origin: str | None) -> None:
    assert normalize_origin(raw) == origin


def test_the_configured_list_is_checked_at_start() -> None:
    assert parse_allowed_origins(" https://a.example , http://b.example:8080/,,") == (
        "https://a.example",
        "http://b.example:8080",
    )
    with pytest.raises(ValueError, match="not an origin"):
        parse_allowed_origins("https://a.example,*")


def test_the_default_is_the_servers_own_origin_and_its_public_url() -> None:
    policy = OriginPolicy(public="https://venue.example")
    assert policy.allows(None, "http", "127.0.0.1:8080")  # not a browser
    assert policy.allows("http://127.0.0.1:8080", "http", "127.0.0.1:8080")
    assert policy.allows("https://venue.example", "http", "127.0.0.1:8080")  # behind a proxy
    assert not policy.allows("http://127.0.0.1:8081", "http", "127.0.0.1:8080")  # other port
    assert not policy.allows("https://127.0.0.1:8080", "http", "127.0.0.1:8080")  # other scheme
    assert not policy.allows("http://venue.example", "http", "127.0.0.1:8080")
    assert not policy.allows("null", "http", "127.0.0.1:8080")
    assert not policy.allows("http://a.example", "http", "a.example;x")  # not a host


def test_a_configured_list_replaces_the_default() -> None:
    policy = OriginPolicy(allowed=("https://venue.example",), public="https://other.example")
    assert policy.allows("https://venue.example", "http", "127.0.0.1:8080")
    assert not policy.allows("http://127.0.0.1:8080", "http", "127.0.0.1:8080")
    assert not policy.allows("https://other.example", "http", "127.0.0.1:8080")


# --- a real server -----------------------------------------------------------------------------


def _running(data_dir: Path, **env: str) -> AbstractAsyncContextManager[str]:
    return running_node(data_dir, env)


async def _post(
    url: str, body: bytes, content_type: str, origin: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = origin
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


LOT = json.dumps(load_lot()).encode()


async def test_a_post_from_a_foreign_origin_is_refused_and_creates_nothing(server: str) -> None:
    status, answer = await _post(f"{server}/api/sessions", LOT, "application/json", EVIL)
    assert status == 403
    assert answer == {
        "ok": False,
        "error": {"code": "bad_origin", "message": "requests from this origin are not accepted"},
    }
    # the same request from the server's own page, and from a client without Origin, go through
    status, answer = await _post(f"{server}/api/sessions", LOT, "application/json", server)
    assert status == 201, answer
    status, answer = await _post(f"{server}/api/sessions", LOT, "application/json")
    assert status == 201, answer


async def test_every_post_route_checks_the_origin(room: Room) -> None:
    """enrol, login and cosignatures as well as session creation (wrong origin, right body)."""
    seat = room.created["seats"][0]
    api = f"{room.base}/api/sessions/{room.session}"
    for url in (f"{api}/enrol", f"{api}/login", f"{api}/checkpoints/1/cosignatures"):
        status, answer = await _post(
            url, b'{"seat": "%s"}' % seat.encode(), "application/json", EVIL
        )
        assert (status, answer["error"]["code"]) == (403, "bad_origin"), url


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_body_that_is_not_json_is_refused_with_415(room: Room, content_type: str) -> None:
    """What a cross-site form can send without a preflight, even with a JSON body inside."""
    seat = room.created["seats"][0]
    body = b'{"seat": "%s", "code": "%s"}' % (seat.encode(), room.created["codes"][seat].encode())
    url = f"{room.base}/api/sessions/{room.session}/enrol"
    status, answer = await _post(url, body, content_type)
    assert status == 415
    assert answer["ok"] is False
    assert answer["error"]["code"] == "unsupported_media_type"
    # the code was not used up: the handler never ran, so the same body as JSON reaches it
    status, answer = await _post(url, body, "application/json; charset=utf-8")
    assert answer["error"]["code"] == "malformed"  # no public key: the handler itself answers
    assert status == 400


async def test_a_socketio_connection_from_a_foreign_origin_is_refused(room: Room) -> None:
    token = room.created["supervisor"][0]
    for namespace in ("/", "/media"):
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                room.base,
                headers={"Origin": EVIL},
                auth={"token": token},
                namespaces=[namespace],
                transports=["websocket"],
                wait_timeout=10,
            )
        assert not client.connected
        await client.disconnect()
        # the same token from the page's own origin connects
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            room.base,
            headers={"Origin": room.base},
            auth={"token": token},
            namespaces=[namespace],
            transports=["websocket"],
            wait_timeout=10,
        )
        assert client.connected
        await client.disconnect()


async def test_the_websocket_handshake_itself_is_refused(server: str) -> None:
    """Before any namespace or token: engine.io answers 400 to a foreign Origin."""
    url = f"{server}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, origin=EVIL)
        assert refused.value.status == 400
        async with http.ws_connect(url, origin=server) as ws:
            opened = await asyncio.wait_for(ws.receive_str(), 10)
            assert opened.startswith("0{")  # engine.io's open packet


async def test_configured_origins_replace_the_servers_own(tmp_path: Path) -> None:
    venue = "https://evalroom.venue.example"
    async with _running(tmp_path, EVALROOM_ALLOWED_ORIGINS=venue) as base:
        status, answer = await _post(f"{base}/api/sessions", LOT, "application/json", base)
        assert (status, answer["error"]["code"]) == (403, "bad_origin")
        status, answer = await _post(f"{base}/api/sessions", LOT, "application/json", venue)
        assert status == 201, answer
        url = f"{base}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(url, origin=base)
            async with http.ws_connect(url, origin=venue) as ws:
                assert (await asyncio.wait_for(ws.receive_str(), 10)).startswith("0{")


# --- headers -----------------------------------------------------------------------------------


async def test_every_response_carries_the_security_headers_and_no_server_banner(
    room: Room,
) -> None:
    s, seat = room.session, room.created["seats"][0]
    paths = [
        "/",  # 404
        f"/seat/{s}/{seat}",
        f"/supervisor/{s}",
        "/client/seat.js",
        "/client/style.css",
        "/client/vendor/socket.io.min.js",
        "/healthz",
        "/api/node",
        "/api/node/key.pem",
        f"/api/sessions/{s}/state",  # 401, typed error
        f"/api/sessions/{s}/checkpoint",
    ]
    async with aiohttp.ClientSession() as http:
        for path in paths:
            async with http.get(room.base + path) as response:
                await response.read()
                headers = response.headers
            assert "Server" not in headers, path
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Referrer-Policy"] == "no-referrer", path
            assert headers["X-Frame-Options"] == "DENY", path
            directives = headers["Content-Security-Policy"].split("; ")
            policy = {name: value for name, _, value in (d.partition(" ") for d in directives)}
            assert policy["script-src"] == "'self'", path
            assert "unsafe" not in headers["Content-Security-Policy"], path
            assert policy["frame-ancestors"] == "'none'", path
            assert policy["object-src"] == "'none'", path
            assert policy["base-uri"] == "'none'", path
            assert policy["default-src"] == "'none'", path
            host = room.base.removeprefix("http://")
            assert policy["connect-src"] == f"'self' wss://{host} ws://{host}", path
        # the refusals of this module carry them too
        async with http.post(
            f"{room.base}/api/sessions", data=b"x", headers={"Content-Type": "text/plain"}
        ) as response:
            assert response.status == 415
            assert "Server" not in response.headers
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_a_request_the_protocol_refuses_carries_no_version_either(server: str) -> None:
    """A malformed request line never reaches the app (no on_response_prepare)."""
    host, port = server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GARBAGE\r\n\r\n")
    await writer.drain()
    head = (await asyncio.wait_for(reader.read(4096), 10)).decode(errors="replace")
    writer.close()
    await writer.wait_closed()
    assert head.startswith("HTTP/1.0 400"), head
    assert "aiohttp" not in head
    assert "Python" not in head


async def test_a_host_header_cannot_write_into_the_policy(server: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server}/healthz", headers={"Host": "a.example; script-src *"}) as response,
    ):
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "*" not in policy
    assert policy.count("script-src") == 1


# --- file modes --------------------------------------------------------------------------------


async def test_the_data_directory_and_database_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    config = Config.from_env({}, EVALROOM_DATA_DIR=str(data), EVALROOM_ADMIN_TOKEN=ADMIN)
    assert _mode(data) == 0o700
    engine = open_engine(config.database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:  # a read while the WAL exists
            await connection.exec_driver_sql("SELECT 1")
            files = sorted(p.name for p in data.iterdir() if p.name.startswith("evalroom.db"))
            assert files == ["evalroom.db", "evalroom.db-shm", "evalroom.db-wal"]
            for name in files:
                assert _mode(data / name) == 0o600, name
    finally:
        await engine.dispose()
    assert _mode(data / "token.key") == 0o600


async def test_an_older_database_file_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    engine = open_engine(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    assert _mode(db) == 0o600


def test_the_command_line_flag_reaches_the_configuration(tmp_path: Path) -> None:
    """``--allowed-origins`` is read as ``EVALROOM_ALLOWED_ORIGINS`` (a bad one stops the start)."""
    with pytest.raises(SystemExit, match=r"EVALROOM_ALLOWED_ORIGINS: 'venue\.example'"):
        cli_main(["--data-dir", str(tmp_path), "--allowed-origins", "venue.example", "serve"])
