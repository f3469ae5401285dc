"""The admin kubeconfig of a cluster: API server URL, the CA that signs it, the admin client certificate."""

from __future__ import annotations

from typing import Any

import yaml

from include.provisioning.pki import ADMIN_USER, pem_b64


def render_kubeconfig(
    cluster: str, server: str, ca_pem: str, client_cert_pem: str, client_key_pem: str, user: str = ADMIN_USER
) -> str:
    """A kubeconfig YAML with one cluster, one user (client certificate and key, as kubeadm's
    ``admin.conf``) and one current context.

    :raises ValueError: the certificate or key is empty (a cluster registered before client
        certificates; re-run provisioning to issue one).
    """
    if not client_cert_pem or not client_key_pem:
        raise ValueError(
            f"cluster {cluster!r} has no admin client certificate; re-run provision_cluster to issue one"
        )
    context = f"{user}@{cluster}"
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": pem_b64(ca_pem)}}
        ],
        "users": [
            {
                "name": context,
                "user": {
                    "client-certificate-data": pem_b64(client_cert_pem),
                    "client-key-data": pem_b64(client_key_pem),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": context}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)
