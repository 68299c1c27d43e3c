"""TLS for seats in other cities: the venue CA and certificate, and where plain HTTP may go."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from server.app.config import Config
from server.app.listen import ListenRefused, check_listen, is_loopback, ssl_context
from server.app.tls_init import fingerprint, write_tls
from tests.app.conftest import free_port, healthz_runner

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def _certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_the_server_certificate_is_issued_by_the_venue_ca(tmp_path: Path) -> None:
    files = write_tls(tmp_path / "tls", "venue.test", ["192.0.2.7", "127.0.0.1"], NOW)
    (ca,) = _certs(files.ca)
    leaf, chained_ca = _certs(files.cert)
    assert chained_ca == ca  # the chain a browser is sent
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["venue.test"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.7"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (leaf.not_valid_after_utc - NOW).days <= 398  # what browsers accept
    assert files.ca_fingerprint == fingerprint(ca)
    assert len(files.ca_fingerprint.split(":")) == 32
    for secret in (files.key, files.ca_key):
        assert secret.stat().st_mode & 0o777 == 0o600


def _openssl_verify(ca: Path, leaf: Path, host: str) -> int:
    command = ["openssl", "verify", "-CAfile", str(ca), "-verify_hostname", host, str(leaf)]
    return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode


def test_openssl_verifies_the_chain_for_the_host_name(tmp_path: Path) -> None:
    files = write_tls(tmp_path, "venue.test", [], dt.datetime.now(dt.UTC))
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(_certs(files.cert)[0].public_bytes(serialization.Encoding.PEM))
    assert _openssl_verify(files.ca, leaf, "venue.test") == 0
    assert _openssl_verify(files.ca, leaf, "other.test") != 0


def test_a_second_init_keeps_the_ca_seats_already_trust(tmp_path: Path) -> None:
    first = write_tls(tmp_path, "venue.test", [], NOW)
    second = write_tls(tmp_path, "venue.test", ["10.0.0.9"], NOW)
    assert second.ca_fingerprint == first.ca_fingerprint
    (ca,) = _certs(second.ca)
    _certs(second.cert)[0].verify_directly_issued_by(ca)


def test_a_bad_address_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        write_tls(tmp_path / "tls", "venue.test", ["not-an-ip"], NOW)
    assert not (tmp_path / "tls").exists()


def _config(tmp_path: Path, **env: str) -> Config:
    return Config.from_env({}, EVALROOM_DATA_DIR=str(tmp_path), **env)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_plain_http_on_loopback_is_fine(tmp_path: Path, host: str) -> None:
    assert is_loopback(host)
    assert check_listen(_config(tmp_path, EVALROOM_HOST=host)) is None


def test_plain_http_beyond_loopback_is_refused_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(ListenRefused, match="tls init"):
        check_listen(_config(tmp_path, EVALROOM_HOST="0.0.0.0"))  # noqa: S104 - the point
    allowed = _config(tmp_path, EVALROOM_HOST="192.0.2.7", EVALROOM_ALLOW_PLAIN_HTTP="1")
    warning = check_listen(allowed)
    assert warning is not None
    assert "proxy" in warning


def test_cert_and_key_go_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="go together"):
        _config(tmp_path, EVALROOM_TLS_CERT="/x.pem")


async def test_the_server_answers_https_for_its_name(tmp_path: Path) -> None:
    files = write_tls(tmp_path / "tls", "venue.test", ["127.0.0.1"], dt.datetime.now(dt.UTC))
    port = free_port()
    config = _config(
        tmp_path,
        EVALROOM_PORT=str(port),
        EVALROOM_TLS_CERT=str(files.cert),
        EVALROOM_TLS_KEY=str(files.key),
        EVALROOM_HOST="0.0.0.0",  # noqa: S104 - allowed: it serves TLS
    )
    assert config.public_url == f"https://0.0.0.0:{port}"
    assert check_listen(config) is None
    runner = await healthz_runner()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context(config)).start()
    try:
        trusting = ssl.create_default_context(cafile=str(files.ca))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"https://127.0.0.1:{port}/healthz", ssl=trusting) as response:
                assert await response.json() == {"ok": True}
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(f"https://127.0.0.1:{port}/healthz")  # the system store: no
    finally:
        await runner.cleanup()


def _tls_init(data: Path, address: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "server.app.cli", "--data-dir", str(data), "tls", "init"]
    command += ["--name", "venue.test", "--ip", address]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def test_tls_init_from_the_command_line(tmp_path: Path) -> None:
    done = _tls_init(tmp_path, "127.0.0.1")
    assert done.returncode == 0, done.stderr
    assert "SHA-256 fingerprint" in done.stdout
    assert "certutil" in done.stdout
    assert (tmp_path / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
    bad = _tls_init(tmp_path, "nope")
    assert bad.returncode != 0
    assert "evalroom tls init:" in bad.stderr
