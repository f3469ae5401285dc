"""Short-lived kubeadm bootstrap tokens, one per batch of joining nodes.

A token is ``<id>.<secret>`` (``[a-z0-9]{6}.[a-z0-9]{16}``) and lives in the cluster as the Secret
``kube-system/bootstrap-token-<id>`` of type ``bootstrap.kubernetes.io/token`` with an
``expiration``; the API server stops accepting it after that time and the token cleaner deletes it.
Sources: Kubernetes docs "Authenticating with Bootstrap Tokens" (Secret format, group rule) and
kubeadm's default TTL of 24 h (``kubeadm token create --ttl``), which is also the ceiling here.

Yunfleet creates a fresh token for every batch (the control plane's one in ``InitConfiguration``,
every later batch through the API), with a default life of 2 h: long enough for a node to install
its packages and join, short enough that a token read from a leaked delivery secret is soon useless.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

TOKEN_PATTERN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
DEFAULT_TTL = dt.timedelta(hours=2)
MAX_TTL = dt.timedelta(hours=24)
#: The group kubeadm's RBAC rules (CSR creation and auto-approval) are bound to.
DEFAULT_GROUP = "system:bootstrappers:kubeadm:default-node-token"
GROUP_PATTERN = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
SECRET_TYPE = "bootstrap.kubernetes.io/token"  # noqa: S105 (a Secret type, not a secret)
SECRET_NAMESPACE = "kube-system"  # noqa: S105 (a namespace)
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class BootstrapToken:
    """One bootstrap token and when it stops working (UTC)."""

    token_id: str
    secret: str = field(repr=False)
    expires_at: dt.datetime

    def __post_init__(self) -> None:
        if not TOKEN_PATTERN.match(f"{self.token_id}.{self.secret}"):
            raise ValueError("a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16}")
        if self.expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")

    @property
    def value(self) -> str:
        """``<id>.<secret>``, what kubeadm's ``token`` fields hold."""
        return f"{self.token_id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return f"bootstrap-token-{self.token_id}"

    def ttl_from(self, now: dt.datetime) -> dt.timedelta:
        """Time left at ``now`` (never negative)."""
        return max(dt.timedelta(0), self.expires_at - now)

    def to_json(self) -> dict[str, str]:
        return {"token_id": self.token_id, "secret": self.secret, "expires_at": self.expires_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BootstrapToken:
        return cls(data["token_id"], data["secret"], dt.datetime.fromisoformat(data["expires_at"]))


def new_bootstrap_token(now: dt.datetime, ttl: dt.timedelta = DEFAULT_TTL) -> BootstrapToken:
    """A random token expiring ``ttl`` after ``now``.

    :raises ValueError: ``ttl`` not positive or longer than kubeadm's default of 24 h.
    """
    if ttl <= dt.timedelta(0) or ttl > MAX_TTL:
        raise ValueError(f"bootstrap token TTL must be between 1 s and {MAX_TTL}, got {ttl}")
    token_id = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return BootstrapToken(token_id, secret, (now + ttl).astimezone(dt.UTC).replace(microsecond=0))


def kubeadm_duration(delta: dt.timedelta) -> str:
    """A Go duration string as kubeadm's ``ttl`` wants it, e.g. ``2h0m0s``."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes}m{seconds}s"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_secret_manifest(
    token: BootstrapToken, description: str, groups: tuple[str, ...] = (DEFAULT_GROUP,)
) -> dict[str, Any]:
    """The ``kube-system/bootstrap-token-<id>`` Secret that makes ``token`` valid in a cluster.

    Usable for authentication (joining) and signing (the ``cluster-info`` discovery), as
    ``kubeadm token create`` makes it.
    """
    for group in groups:
        if not GROUP_PATTERN.match(group):
            raise ValueError(f"bootstrap token group {group!r} must match {GROUP_PATTERN.pattern}")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": token.secret_name,
            "namespace": SECRET_NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "yunfleet"},
        },
        "type": SECRET_TYPE,
        "stringData": {
            "description": description,
            "token-id": token.token_id,
            "token-secret": token.secret,
            "expiration": rfc3339(token.expires_at),
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": ",".join(groups),
        },
    }
