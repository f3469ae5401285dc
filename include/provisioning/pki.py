"""Cluster PKI: the cluster CA and the kubeadm-style admin client certificate.

Generated once per cluster and kept only in the registry (encrypted with the Fernet key). The CA
reaches the first control-plane node through the delivery secret (never user-data), so kubeadm uses
it instead of minting its own; the admin certificate is what ``yunfleet kubeconfig`` prints and what
the Kubernetes hook authenticates with (mTLS), in place of a static bearer token.

The admin certificate follows kubeadm's ``admin.conf``: CN ``kubernetes-admin``, and since
Kubernetes 1.29 organisation ``kubeadm:cluster-admins``, a group that ``kubeadm init`` binds to the
``cluster-admin`` ClusterRole (so it can be revoked by editing that binding), where older versions
used ``system:masters`` (which bypasses RBAC and cannot be revoked). Validity one year, as kubeadm's
``CertificateValidityPeriod`` default. Source: kubeadm docs "Implementation details" (kubeconfig
files) and the 1.29 release notes ("kubeadm: the admin.conf credentials ... kubeadm:cluster-admins").
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
ADMIN_VALIDITY = datetime.timedelta(days=365)
#: Re-issue the admin certificate when less than this is left (a re-run of provisioning renews it).
ADMIN_RENEW_BEFORE = datetime.timedelta(days=30)
ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "kubeadm:cluster-admins"
LEGACY_ADMIN_GROUP = "system:masters"


@dataclass(frozen=True)
class ClusterCredentials:
    """The secrets of one cluster the product keeps. Never logged, never in XComs or user-data."""

    ca_cert_pem: str
    ca_key_pem: str = field(repr=False)
    admin_cert_pem: str = ""
    admin_key_pem: str = field(default="", repr=False)

    def to_json(self) -> dict[str, str]:
        return {
            "ca_cert_pem": self.ca_cert_pem,
            "ca_key_pem": self.ca_key_pem,
            "admin_cert_pem": self.admin_cert_pem,
            "admin_key_pem": self.admin_key_pem,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterCredentials:
        """Read a registry entry; entries from before the admin certificate have none (``""``)."""
        return cls(
            ca_cert_pem=data["ca_cert_pem"],
            ca_key_pem=data["ca_key_pem"],
            admin_cert_pem=data.get("admin_cert_pem") or "",
            admin_key_pem=data.get("admin_key_pem") or "",
        )

    def __repr__(self) -> str:  # keeps keys out of tracebacks and logs
        return f"ClusterCredentials(ca_hash={self.ca_hash!r}, admin={'yes' if self.admin_cert_pem else 'no'})"

    @property
    def ca_hash(self) -> str:
        return ca_cert_hash(self.ca_cert_pem)

    def admin_needs_renewal(self, now: datetime.datetime) -> bool:
        """No admin certificate yet, or it expires within :data:`ADMIN_RENEW_BEFORE`."""
        if not self.admin_cert_pem or not self.admin_key_pem:
            return True
        expiry = x509.load_pem_x509_certificate(self.admin_cert_pem.encode()).not_valid_after_utc
        return expiry - now < ADMIN_RENEW_BEFORE


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def generate_ca(cluster: str, now: datetime.datetime | None = None) -> tuple[str, str]:
    """A self-signed ECDSA P-256 CA for ``cluster``, valid 10 years: ``(cert_pem, key_pem)``."""
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
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)


def admin_group(kubernetes_version: str) -> str:
    """The admin certificate's organisation: ``kubeadm:cluster-admins`` from 1.29, else ``system:masters``."""
    major, minor = (int(part) for part in kubernetes_version.lstrip("v").split(".")[:2])
    return ADMIN_GROUP if (major, minor) >= (1, 29) else LEGACY_ADMIN_GROUP


def issue_admin_certificate(
    ca_cert_pem: str,
    ca_key_pem: str,
    kubernetes_version: str,
    now: datetime.datetime | None = None,
    validity: datetime.timedelta = ADMIN_VALIDITY,
) -> tuple[str, str]:
    """A client certificate for ``kubernetes-admin`` signed by the cluster CA: ``(cert_pem, key_pem)``.

    :raises ValueError: the CA key is not an ECDSA key matching the CA certificate.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey) or ca_key.public_key() != ca_cert.public_key():
        raise ValueError("the CA key does not belong to the CA certificate")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, admin_group(kubernetes_version)),
            x509.NameAttribute(NameOID.COMMON_NAME, ADMIN_USER),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + validity, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)


def generate_credentials(
    cluster: str, kubernetes_version: str = "1.31", now: datetime.datetime | None = None
) -> ClusterCredentials:
    """A new CA and an admin certificate signed by it."""
    ca_cert, ca_key = generate_ca(cluster, now)
    admin_cert, admin_key = issue_admin_certificate(ca_cert, ca_key, kubernetes_version, now)
    return ClusterCredentials(ca_cert, ca_key, admin_cert, admin_key)


def with_fresh_admin(
    creds: ClusterCredentials, kubernetes_version: str, now: datetime.datetime
) -> ClusterCredentials:
    """``creds`` with a newly issued admin certificate (same CA)."""
    cert, key = issue_admin_certificate(creds.ca_cert_pem, creds.ca_key_pem, kubernetes_version, now)
    return ClusterCredentials(creds.ca_cert_pem, creds.ca_key_pem, cert, key)


def ca_cert_hash(cert_pem: str) -> str:
    """kubeadm's ``--discovery-token-ca-cert-hash``: ``sha256:`` + SHA-256 of the CA's public key info."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def pem_b64(pem: str) -> str:
    """Base64 of a PEM document, as kubeconfig ``*-data`` fields want it."""
    return base64.b64encode(pem.encode()).decode()
