"""Delivery of a node's secret bootstrap material through KMS Secrets Manager.

User-data carries only the *name* of a secret; the secret holds a small JSON bundle of files the
node writes before running kubeadm. The instance reads it once with its RAM role (session-token
metadata, see :mod:`include.provisioning.node_fetch`) and the product deletes it once the nodes have
joined. The bundle format (a contract with the sandbox, see docs/conventions.md)::

    {"version": 1, "files": [{"path": "/etc/kubernetes/kubeadm.yaml", "permissions": "0600",
                              "content": "..."}]}

Secret names follow KMS's rule (1-192 characters of letters, digits and ``_/+=.@-``, not starting
with ``acs/``; ``CreateSecret`` request reference of the KMS 2016-01-20 API) and live under the
fleet's prefix ``yunfleet/<cluster>/``, which the RAM policies scope to (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import yaml

from include.fleet.contract import TAG_CLUSTER
from include.provisioning.bootstrap_tokens import DEFAULT_TTL, BootstrapToken, new_bootstrap_token
from include.provisioning.kubeadm import init_documents, join_documents
from include.provisioning.node import NodeSpec
from include.provisioning.pki import ClusterCredentials

BUNDLE_VERSION = 1
SECRET_PREFIX = "yunfleet"  # noqa: S105 (a name prefix)
#: KMS's limit for ``SecretData`` (30 KB).
SECRET_DATA_LIMIT_BYTES = 30_720
SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,192}$")
KUBEADM_CONFIG_PATH = "/etc/kubernetes/kubeadm.yaml"
CA_CERT_PATH = "/etc/kubernetes/pki/ca.crt"
CA_KEY_PATH = "/etc/kubernetes/pki/ca.key"
#: Tags put on every delivery secret (ListSecrets filters on them at clean-up).
TAG_PURPOSE = "yunfleet:purpose"
PURPOSE = "node-bootstrap"


@dataclass(frozen=True)
class DeliveredFile:
    path: str
    permissions: str
    content: str = field(repr=False)


@dataclass(frozen=True)
class ControlPlaneBootstrap:
    """What the control-plane nodes of one provisioning share: the bootstrap token ``kubeadm init``
    creates (the others join with it) and the key encrypting the certificates it uploads.

    Both live 2 h (kubeadm deletes uploaded certificates after 2 h); kept encrypted in the registry
    meanwhile so that a retried control-plane step gives every node consistent material.
    """

    token: BootstrapToken
    certificate_key: str = field(repr=False)

    @property
    def expires_at(self) -> dt.datetime:
        return self.token.expires_at

    def usable_at(self, now: dt.datetime, margin: dt.timedelta = dt.timedelta(minutes=30)) -> bool:
        return self.token.expires_at - now > margin

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token.to_json(), "certificate_key": self.certificate_key}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlPlaneBootstrap:
        return cls(BootstrapToken.from_json(data["token"]), data["certificate_key"])


def new_control_plane_bootstrap(now: dt.datetime, ttl: dt.timedelta = DEFAULT_TTL) -> ControlPlaneBootstrap:
    """A fresh token and a 32-byte certificate key (64 hex characters, as kubeadm requires)."""
    return ControlPlaneBootstrap(new_bootstrap_token(now, ttl), secrets.token_hex(32))


def cluster_secret_prefix(cluster: str) -> str:
    """``yunfleet/<cluster>/``: every delivery secret of the cluster starts with it."""
    return f"{SECRET_PREFIX}/{cluster}/"


def delivery_secret_name(cluster: str, batch_key: str, nonce: str) -> str:
    """``yunfleet/<cluster>/<batch key>-<12 hex of sha256(nonce)>``.

    ``nonce`` must be stable across retries of one task and differ between runs (a ClientToken
    derived from the task identity does both), so a retry addresses the same secret.

    :raises ValueError: the result breaks KMS's naming rule.
    """
    safe_key = re.sub(r"[^A-Za-z0-9_.@=+-]", "-", batch_key)
    name = f"{cluster_secret_prefix(cluster)}{safe_key}-{hashlib.sha256(nonce.encode()).hexdigest()[:12]}"
    if not SECRET_NAME_PATTERN.match(name) or name.startswith("acs/"):
        raise ValueError(f"delivery secret name {name!r} breaks KMS's naming rule")
    return name


def delivery_tags(cluster: str) -> dict[str, str]:
    return {TAG_CLUSTER: cluster, TAG_PURPOSE: PURPOSE}


def bundle(files: list[DeliveredFile]) -> str:
    """The secret value for ``files``.

    :raises ValueError: larger than KMS accepts (30 720 bytes).
    """
    text = json.dumps(
        {
            "version": BUNDLE_VERSION,
            "files": [{"path": f.path, "permissions": f.permissions, "content": f.content} for f in files],
        },
        sort_keys=True,
    )
    if len(text.encode()) > SECRET_DATA_LIMIT_BYTES:
        raise ValueError(
            f"delivery bundle is {len(text.encode())} bytes, KMS accepts {SECRET_DATA_LIMIT_BYTES}"
        )
    return text


def parse_bundle(text: str) -> list[DeliveredFile]:
    """The files of a bundle (tests and diagnostics).

    :raises ValueError: not a bundle of this version.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("version") != BUNDLE_VERSION:
        raise ValueError(f"not a version {BUNDLE_VERSION} delivery bundle")
    return [DeliveredFile(f["path"], f["permissions"], f["content"]) for f in data["files"]]


def _kubeadm_file(documents: list[dict[str, Any]]) -> DeliveredFile:
    return DeliveredFile(KUBEADM_CONFIG_PATH, "0600", yaml.safe_dump_all(documents, sort_keys=True))


@dataclass(frozen=True)
class Endpoint:
    """The control-plane endpoint every node reaches (``api.<cluster>.<domain>:6443``)."""

    host: str
    port: int


def init_bundle(
    node: NodeSpec,
    creds: ClusterCredentials,
    control_plane: ControlPlaneBootstrap,
    *,
    endpoint: Endpoint,
    kubernetes_release: str,
    image_repository: str,
    now: dt.datetime,
) -> str:
    """The first control-plane node's bundle: the cluster CA (certificate and key) and its kubeadm config."""
    documents = init_documents(
        node,
        token=control_plane.token,
        certificate_key=control_plane.certificate_key,
        endpoint_host=endpoint.host,
        endpoint_port=endpoint.port,
        kubernetes_release=kubernetes_release,
        image_repository=image_repository,
        issued_at=now,
    )
    return bundle(
        [
            DeliveredFile(CA_CERT_PATH, "0644", creds.ca_cert_pem),
            DeliveredFile(CA_KEY_PATH, "0600", creds.ca_key_pem),
            _kubeadm_file(documents),
        ]
    )


def join_bundle(
    node: NodeSpec,
    *,
    token: BootstrapToken,
    ca_hash: str,
    endpoint: Endpoint,
    certificate_key: str | None = None,
) -> str:
    """A joining node's bundle: its kubeadm ``JoinConfiguration`` and nothing else.

    Further control-plane nodes pass ``certificate_key`` and fetch the shared certificates from the
    cluster; workers never receive a private key.
    """
    documents = join_documents(
        node,
        token=token,
        ca_hash=ca_hash,
        endpoint_host=endpoint.host,
        endpoint_port=endpoint.port,
        certificate_key=certificate_key,
    )
    return bundle([_kubeadm_file(documents)])
