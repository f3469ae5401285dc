"""A cluster's admin kubeconfig, as the Fleet API hands it to users allowed to have it.

The server URL follows the cloud connection's ``kube_server_template`` (default
``https://api.<cluster>.<domain>:6443``); the CA is the connection's ``kube_ca_file`` when set (the
sandbox), else the one kept with the cluster's credentials; the user is the admin client
certificate kept encrypted in the registry (kubeadm's ``admin.conf`` identity).
"""

from __future__ import annotations

from typing import Any

from include.fleet.contract import kube_server_url
from include.provisioning.kubeconfig import render_kubeconfig
from include.registry.store import ClusterRecord


class KubeconfigUnavailable(Exception):
    """The kubeconfig cannot be built; ``status`` is the HTTP status the API answers with (404 for a
    cluster not registered, 409 for one without credentials yet), the message one line for a person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def admin_kubeconfig(
    record: ClusterRecord | None,
    credentials: dict[str, Any] | None,
    *,
    name: str,
    domain: str,
    template: str | None = None,
    ca_pem: str | None = None,
) -> str:
    """The kubeconfig YAML of cluster ``name``.

    :param record: the registry's record (``None`` when not registered).
    :param credentials: the decrypted credentials (``ca_cert_pem``, ``admin_cert_pem``, ``admin_key_pem``).
    :param domain: the fleet's DNS domain, used when the record has none.
    :param ca_pem: a CA that overrides the one in the credentials (the connection's ``kube_ca_file``).
    :raises KubeconfigUnavailable: not registered (404), deleted (404), no credentials yet (409).
    """
    if record is None or record.state == "deleted":
        raise KubeconfigUnavailable(
            404, f"cluster {name!r} is not registered; `yunfleet clusters` lists the registered ones"
        )
    if not record.has_credentials or not credentials:
        raise KubeconfigUnavailable(409, f"cluster {name!r} has no credentials yet (state {record.state})")
    cert, key = credentials.get("admin_cert_pem"), credentials.get("admin_key_pem")
    if not cert or not key:
        raise KubeconfigUnavailable(
            409,
            f"cluster {name!r} has no admin client certificate yet; re-run provision_cluster to issue one",
        )
    url = kube_server_url(record.name, record.domain or domain, template)
    ca = ca_pem or str(credentials.get("ca_cert_pem") or "")
    return render_kubeconfig(record.name, url, ca, cert, key).rstrip("\n")
