"""A real coturn (Debian's ``turnserver``) as a child process of a test, on one loopback address
(127.0.0.1, or 127.0.0.2 inside a Janus test's namespace).

It runs in coturn's ``use-auth-secret`` mode (the scheme :mod:`signaling.turn` mints for), with
a generated configuration, log, pid file and user database in a temporary directory, so nothing
of the machine's own coturn set-up (``/etc/turnserver.conf``, ``/var/lib/turn``) is read or
written. Readiness is a STUN binding request answered on the listening port; it is stopped by
its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REALM = "evalroom.test"
RELAY_PORTS = 20  # relay endpoints the tests may allocate at once
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

_STUN_MAGIC = 0x2112A442
_BINDING_REQUEST = 0x0001
_BINDING_SUCCESS = 0x0101


def turnserver_binary() -> str:
    """The path of ``turnserver``; skips the test when missing, fails under ``CI=true``."""
    path = shutil.which("turnserver")
    if path is None:
        why = "turnserver (Debian package coturn) is not installed (run scripts/install-media.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} on CI (scripts/install-media.sh must run first)")
        pytest.skip(why)
    return path


def _free_port(address: str) -> int:
    """A port of ``address`` free for both UDP and TCP (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port of {address} is free for both UDP and TCP")


def _free_udp_range(count: int, address: str) -> int:
    """The first of ``count`` consecutive UDP ports of ``address`` free right now."""
    # Below Linux's ephemeral range (32768 up), where the tests' own sockets take their ports.
    for _ in range(100):
        first = 20_000 + secrets.randbelow(12_000 - count)
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(sock)
                sock.bind((address, port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first
    raise RuntimeError(f"no {count} consecutive UDP ports of {address} are free")


def config_text(
    port: int, min_port: int, max_port: int, secret: str, workdir: Path, address: str
) -> str:
    """coturn's configuration: one listener and relay on ``address``, REST-API credentials
    only."""
    lines = [
        f"listening-ip={address}",
        f"listening-port={port}",
        f"relay-ip={address}",
        f"min-port={min_port}",
        f"max-port={max_port}",
        "relay-threads=1",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={REALM}",
        "fingerprint",
        # The media backend's candidates are on loopback: coturn refuses loopback peers otherwise.
        "allow-loopback-peers",
        "no-multicast-peers",
        "no-tls",
        "no-dtls",
        "no-cli",
        # RFC 5780 would listen on a second (alternate) port too.
        "no-rfc5780",
        "no-software-attribute",
        # No database is used with use-auth-secret, but coturn opens one anyway: keep it here
        # rather than in /var/lib/turn.
        f"userdb={workdir / 'turndb'}",
        f"log-file={workdir / 'turn.log'}",
        "simple-log",
        "no-stdout-log",
        # 'verbose' logs each allocation with its username: the proof a test relayed.
        "verbose",
        f"pidfile={workdir / 'turn.pid'}",
    ]
    return "\n".join(lines) + "\n"


def stun_binding_answered(address: str, port: int, timeout_s: float = 0.2) -> bool:
    """Whether a STUN binding request to ``address``:``port`` (UDP) gets a success answer."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", _BINDING_REQUEST, 0, _STUN_MAGIC) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(request, (address, port))
            data = sock.recv(2048)
        except OSError:  # refused (nothing listens yet) or timed out
            return False
    return (
        len(data) >= 20
        and struct.unpack("!H", data[:2])[0] == _BINDING_SUCCESS
        and data[8:20] == transaction
    )


@dataclass
class Coturn:
    """A running coturn: where it listens, its secret and its log."""

    process: subprocess.Popen[bytes]
    port: int
    secret: str
    workdir: Path
    address: str

    @property
    def log_path(self) -> Path:
        return self.workdir / "turn.log"

    @property
    def udp_url(self) -> str:
        return f"turn:{self.address}:{self.port}?transport=udp"

    def log(self) -> str:
        """Everything coturn logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within :data:`STOP_TIMEOUT_S`."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)


def start(workdir: Path, secret: str, address: str = "127.0.0.1") -> Coturn:
    """Start coturn with ``secret`` on ``address``; returns once it answers STUN on its port."""
    binary = turnserver_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port(address)
    min_port = _free_udp_range(RELAY_PORTS, address)
    conf = workdir / "turnserver.conf"
    max_port = min_port + RELAY_PORTS - 1
    conf.write_text(config_text(port, min_port, max_port, secret, workdir, address))
    # Its output goes to the log file; what little it prints before that is kept beside it.
    with (workdir / "stdout.txt").open("wb") as out:
        process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, cwd=workdir
        )
    turn = Coturn(process, port, secret, workdir, address)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not stun_binding_answered(address, port):
        if process.poll() is not None or time.monotonic() > deadline:
            turn.stop()
            raise AssertionError(f"coturn did not start on {address}:{port}:\n{turn.log()}")
        time.sleep(0.05)
    return turn


@contextmanager
def running(workdir: Path, secret: str, address: str = "127.0.0.1") -> Iterator[Coturn]:
    """:func:`start` for the duration of a block; stopped however the block ends."""
    turn = start(workdir, secret, address)
    try:
        yield turn
    finally:
        turn.stop()
