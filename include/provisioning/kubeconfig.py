"""The admin kubeconfig of a cluster: API server URL, the CA that signs it, the admin bearer token."""

from __future__ import annotations

from typing import Any

import yaml

from include.provisioning.pki import pem_b64


def render_kubeconfig(
    cluster: str, server: str, ca_pem: str, token: str, user: str = "yunfleet-admin"
) -> str:
    """A kubeconfig YAML with one cluster, one user (bearer token) and one current context."""
    context = f"{user}@{cluster}"
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": pem_b64(ca_pem)}}
        ],
        "users": [{"name": f"{user}@{cluster}", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{user}@{cluster}"}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)
