"""``evalroom tls init``: a venue CA and a server certificate for a LAN, made with ``cryptography``.

Browsers give WebCrypto and the camera only to secure contexts, so a seat on another machine
needs HTTPS. A venue rarely has a public name; it can have its own small CA: trusted once on each
seat machine, it vouches for the server's certificate (its host name and addresses). The CA's
private key stays in the data directory (0600) to issue a new server certificate later.

The certificate maths is pure (keys and time come in); :func:`write_tls` writes the files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 397  # browsers refuse server certificates valid for longer than 398 days


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evalroom venue"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def make_ca(key: ec.EllipticCurvePrivateKey, name: str, now: dt.datetime) -> x509.Certificate:
    """A self-signed CA that may sign server certificates only (path length 0)."""
    subject = _name(f"evalroom venue CA {name}")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def make_server_cert(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    host: str,
    addresses: list[str],
    now: dt.datetime,
) -> x509.Certificate:
    """The server's certificate for ``host`` and ``addresses`` (subject alternative names)."""
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    return (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as browsers and ``openssl x509 -fingerprint -sha256`` show it."""
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class TlsFiles:
    """What ``tls init`` wrote."""

    ca: Path
    ca_key: Path
    cert: Path
    key: Path
    ca_fingerprint: str


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def write_tls(out: Path, host: str, addresses: list[str], now: dt.datetime) -> TlsFiles:
    """Make (or reuse) the venue CA in ``out`` and issue a server certificate for ``host``.

    ``ca.pem`` is what seat machines trust; ``server.pem`` holds the server certificate followed
    by the CA (the chain a browser is sent); ``server.key`` and ``ca.key`` are 0600.
    """
    for address in addresses:
        ipaddress.ip_address(address)  # a clear ValueError before anything is written
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_path, ca_key_path = out / "ca.pem", out / "ca.key"
    if ca_path.exists() and ca_key_path.exists():  # keep the CA seats already trust
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca_key_path} is not an EC key")
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = make_ca(ca_key, host, now)
        _write(ca_key_path, _pem_key(ca_key), 0o600)
        _write(ca_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_server_cert(key, ca_key, ca, host, addresses, now)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    _write(out / "server.key", _pem_key(key), 0o600)
    _write(out / "server.pem", chain, 0o644)
    return TlsFiles(ca_path, ca_key_path, out / "server.pem", out / "server.key", fingerprint(ca))


def trust_instructions(files: TlsFiles, url: str) -> str:
    """What to print after ``tls init``: the fingerprint and how a seat machine trusts the CA."""
    return f"""venue CA: {files.ca}
  SHA-256 fingerprint: {files.ca_fingerprint}
  (compare on each seat machine before trusting it:
   openssl x509 -in ca.pem -noout -fingerprint -sha256)
server certificate: {files.cert}   key: {files.key} (0600)

Serve with:  evalroom serve --tls-cert {files.cert} --tls-key {files.key}
Seats open:  {url}

Trust the CA once on each seat machine (在每台评标席位电脑上信任一次本场地根证书):
  Windows:  certutil -addstore -f Root ca.pem       (as administrator)
  macOS:    sudo security add-trusted-cert -d -r trustRoot \\
            -k /Library/Keychains/System.keychain ca.pem
  Debian/Ubuntu (system): sudo cp ca.pem /usr/local/share/ca-certificates/evalroom-venue.crt \\
            && sudo update-ca-certificates
  Chromium/Chrome on Linux (per user):
            certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n evalroom-venue -i ca.pem
"""
