"""Who is calling a simulated API server: a client certificate signed by the cluster CA (mTLS), or a
bootstrap token.

As kube-apiserver's x509 authenticator: the leaf certificate of the TLS client chain must be
signed directly by the cluster CA, be within its validity period and allow client authentication;
the user is its CN and the groups its O values. ``system:masters`` and ``kubeadm:cluster-admins``
(bound to ``cluster-admin`` by ``kubeadm init`` since 1.29) are administrators. A bearer token that
is one of the cluster's bootstrap tokens authenticates as ``system:bootstrap:<id>`` with no rights
beyond joining; anything else is 401.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.kube.cluster import Cluster
from sandbox.kube.delivery import bootstrap_token_digest, digest
from sandbox.kube.resources import SECRETS

ADMIN_GROUPS = frozenset({"system:masters", "kubeadm:cluster-admins"})


@dataclass(frozen=True)
class Identity:
    user: str
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def admin(self) -> bool:
        return bool(self.groups & ADMIN_GROUPS)


def from_certificate(cluster: Cluster, chain_pem: list[str] | None, now: float) -> Identity | None:
    """The identity of a client certificate chain, or None when it is absent or not the cluster's."""
    if not chain_pem or not cluster.ca_cert_pem:
        return None
    try:
        leaf = x509.load_pem_x509_certificate(chain_pem[0].encode())
        ca = x509.load_pem_x509_certificate(cluster.ca_cert_pem.encode())
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):
        return None
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    if not leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc:
        return None
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
            return None
    except x509.ExtensionNotFound:
        pass
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    groups = leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return Identity(str(names[0].value) if names else "", frozenset(str(g.value) for g in groups))


def valid_bootstrap_tokens(cluster: Cluster, now: float) -> dict[str, str]:
    """``{digest of "<id>.<secret>": token id}`` of the tokens that are valid at ``now``."""
    tokens: dict[str, str] = {}
    if cluster.init_token and (cluster.init_token_expires_at is None or now < cluster.init_token_expires_at):
        tokens[cluster.init_token] = "init"
    for secret in cluster.store.items(SECRETS, "kube-system"):
        found = bootstrap_token_digest(secret)
        if found is not None and (found[2] is None or now < found[2]):
            tokens[found[1]] = found[0]
    return tokens


def token_valid(cluster: Cluster, token_digest: str | None, now: float) -> bool:
    return bool(token_digest) and any(
        hmac.compare_digest(token_digest or "", known) for known in valid_bootstrap_tokens(cluster, now)
    )


def from_bearer(cluster: Cluster, token: str, now: float) -> Identity | None:
    if not token:
        return None
    if token_valid(cluster, digest(token), now):
        return Identity(f"system:bootstrap:{token.split('.')[0]}", frozenset({"system:bootstrappers"}))
    return None


def authenticate(cluster: Cluster, chain_pem: list[str] | None, bearer: str, now: float) -> Identity | None:
    """The caller's identity; None means 401."""
    return from_certificate(cluster, chain_pem, now) or from_bearer(cluster, bearer, now)


def tls_chain(scope: dict[str, Any]) -> list[str] | None:
    """The client certificate chain of the ASGI TLS extension (``scope["extensions"]["tls"]``)."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain")
    return list(chain) if chain else None
