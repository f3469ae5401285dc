"""Cluster credentials: the cluster CA, kubeadm bootstrap tokens and the admin bearer token.

Generated once per cluster, stored encrypted in the registry, and rendered into the control-plane
user-data (so kubeadm uses this CA instead of minting its own) and into the admin kubeconfig.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: kubeadm's bootstrap token format: ``[a-z0-9]{6}.[a-z0-9]{16}``.
BOOTSTRAP_TOKEN_PATTERN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits
CA_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class ClusterCredentials:
    """Secrets of one cluster. Never logged, never in XComs: only the registry holds them (encrypted)."""

    ca_cert_pem: str
    ca_key_pem: str
    join_token: str
    admin_token: str
    #: kubeadm ``--certificate-key``: encrypts the control-plane certificates shared with joining masters.
    certificate_key: str

    def to_json(self) -> dict[str, str]:
        return {
            "ca_cert_pem": self.ca_cert_pem,
            "ca_key_pem": self.ca_key_pem,
            "join_token": self.join_token,
            "admin_token": self.admin_token,
            "certificate_key": self.certificate_key,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterCredentials:
        return cls(
            ca_cert_pem=data["ca_cert_pem"],
            ca_key_pem=data["ca_key_pem"],
            join_token=data["join_token"],
            admin_token=data["admin_token"],
            certificate_key=data["certificate_key"],
        )

    def __repr__(self) -> str:  # keeps secrets out of tracebacks and logs
        return f"ClusterCredentials(ca_hash={ca_cert_hash(self.ca_cert_pem)!r}, tokens=***)"

    @property
    def ca_hash(self) -> str:
        return ca_cert_hash(self.ca_cert_pem)


def generate_bootstrap_token() -> str:
    """A fresh kubeadm bootstrap token ``<id>.<secret>``."""
    token_id = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(6))
    secret = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(16))
    return f"{token_id}.{secret}"


def generate_admin_token() -> str:
    """A bearer token for the cluster admin (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def generate_ca(cluster: str, now: datetime.datetime | None = None) -> tuple[str, str]:
    """A self-signed ECDSA P-256 CA for ``cluster``: ``(cert_pem, key_pem)``."""
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"yunfleet {cluster}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem


def generate_credentials(cluster: str) -> ClusterCredentials:
    cert_pem, key_pem = generate_ca(cluster)
    return ClusterCredentials(
        ca_cert_pem=cert_pem,
        ca_key_pem=key_pem,
        join_token=generate_bootstrap_token(),
        admin_token=generate_admin_token(),
        certificate_key=secrets.token_hex(32),
    )


def ca_cert_hash(cert_pem: str) -> str:
    """kubeadm's ``--discovery-token-ca-cert-hash``: ``sha256:`` + SHA-256 of the CA's public key info."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def pem_b64(pem: str) -> str:
    """Base64 of a PEM document, as kubeconfig ``certificate-authority-data`` wants it."""
    return base64.b64encode(pem.encode()).decode()
