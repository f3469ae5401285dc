"""The sandbox CA and the serving certificate of the Kubernetes API port.

The CA is made on first start and kept in the state dir (``ca.crt``/``ca.key``) so that kubeconfigs
written once stay valid across restarts; the serving certificate (``kube-server.crt/.key``) covers
127.0.0.1, localhost and any extra DNS names asked for (``SANDBOX_TLS_NAMES``), and is reissued when it
is missing, expiring, no longer signed by the CA or short of a name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
SERVER_CERT = "kube-server.crt"
SERVER_KEY = "kube-server.key"
_RENEW_BEFORE = dt.timedelta(days=30)


def tls_files(state_dir: str | Path, names: Sequence[str] = ()) -> tuple[str, str]:
    """Make sure the CA and the serving certificate exist; returns ``(certfile, keyfile)``.

    ``names``: DNS names the serving certificate must carry besides 127.0.0.1 and localhost.
    """
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_or_create_ca(directory)
    cert_path, key_path = directory / SERVER_CERT, directory / SERVER_KEY
    dns_names = ["localhost", *(n for n in names if n != "localhost")]
    if not _server_cert_usable(cert_path, key_path, ca_cert, dns_names):
        _issue_server_cert(cert_path, key_path, ca_cert, ca_key, dns_names)
    return str(cert_path), str(key_path)


def ca_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / CA_CERT


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_or_create_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and cert.not_valid_after_utc > _now() + _RENEW_BEFORE:
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "yunfleet-sandbox-ca")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # A new CA invalidates the old serving certificate.
    (directory / SERVER_CERT).unlink(missing_ok=True)
    return cert, key


def _server_cert_usable(
    cert_path: Path, key_path: Path, ca_cert: x509.Certificate, dns_names: Sequence[str]
) -> bool:
    if not cert_path.exists() or not key_path.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc < _now() + _RENEW_BEFORE:
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if not set(dns_names) <= set(san.get_values_for_type(x509.DNSName)):
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, Exception):
        return False
    return True


def _issue_server_cert(
    cert_path: Path,
    key_path: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns_names: Sequence[str],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    *(x509.DNSName(name) for name in dns_names),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# -- client certificates (mTLS) ---------------------------------------------------------------------


class ClientTrust:
    """The server TLS context of the Kubernetes port: requests client certificates (optional) and
    trusts each cluster CA as the simulation learns it.

    A certificate from a CA the sandbox has never seen fails the TLS handshake, where a real
    kube-apiserver would finish the handshake and answer 401 (Go requests the certificate without
    verifying it; Python's ``ssl`` can only verify). Certificates of another cluster's CA pass the
    handshake and get 401 from the cluster they were not issued for.
    """

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        self.context.verify_mode = ssl.CERT_OPTIONAL
        self._known: set[str] = set()

    def add(self, ca_pem: str) -> None:
        if ca_pem and ca_pem not in self._known:
            self.context.load_verify_locations(cadata=ca_pem)
            self._known.add(ca_pem)


def peer_certificate_pem(transport: Any) -> str | None:
    """The client's certificate (PEM) of a TLS transport, if it presented one."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return ssl.DER_cert_to_PEM_cert(der) if der else None


def client_cert_protocol() -> type:
    """uvicorn's h11 protocol with the ASGI TLS extension: ``scope["extensions"]["tls"]
    ["client_cert_chain"]`` is the client's certificate (PEM) on every request of a connection."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class ClientCertH11Protocol(H11Protocol):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            pem = peer_certificate_pem(transport)
            if pem is None:
                return
            inner = self.app

            async def with_tls(scope: Any, receive: Any, send: Any) -> None:
                extensions = {**(scope.get("extensions") or {}), "tls": {"client_cert_chain": [pem]}}
                await inner({**scope, "extensions": extensions}, receive, send)

            self.app = with_tls

    return ClientCertH11Protocol
