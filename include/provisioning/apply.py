"""The apply steps of a provisioning run that keep cluster secrets: credentials in the registry.

The cluster CA and the admin client certificate are generated once and stored encrypted; the
control plane's shared bootstrap material (token, certificate key) is kept there only while it is
valid. Nothing here leaves the task: steps return hashes and names, never secrets. Launching the
instances that receive this material is ``flows.nodes``; what a batch is,
:mod:`include.provisioning.node_batches`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.provisioning.delivery import ControlPlaneBootstrap, new_control_plane_bootstrap
from include.provisioning.pki import ClusterCredentials, generate_credentials, with_fresh_admin
from include.provisioning.request import ProvisionRequest

CONTROL_PLANE_BOOTSTRAP_KEY = "control_plane_bootstrap"


def ensure_credentials(
    registry: Any, cluster: str, kubernetes_version: str, now: dt.datetime | None = None
) -> ClusterCredentials:
    """The cluster's CA and admin certificate: generated once and stored encrypted; the admin
    certificate is re-issued (same CA) when it is missing or expires within 30 days. Entries from
    before client certificates lose their static tokens on that rewrite."""
    now = now or dt.datetime.now(dt.UTC)
    record = registry.require_cluster(cluster)
    if record.has_credentials:
        stored = registry.get_credentials(cluster)
        creds = ClusterCredentials.from_json(stored)
        if creds.admin_needs_renewal(now):
            creds = with_fresh_admin(creds, kubernetes_version, now)
            kept = {k: v for k, v in stored.items() if k == CONTROL_PLANE_BOOTSTRAP_KEY}
            registry.put_credentials(cluster, {**creds.to_json(), **kept})
        return creds
    creds = generate_credentials(cluster, kubernetes_version, now)
    registry.put_credentials(cluster, creds.to_json())
    registry.update_endpoints(cluster, ca_cert=creds.ca_cert_pem)
    return creds


def load_credentials(registry: Any, cluster: str) -> ClusterCredentials:
    return ClusterCredentials.from_json(registry.get_credentials(cluster))


def ensure_control_plane_bootstrap(registry: Any, cluster: str, now: dt.datetime) -> ControlPlaneBootstrap:
    """The control plane's shared token and certificate key: the stored ones while they have more
    than 30 minutes left, else new ones (stored encrypted next to the cluster's credentials)."""
    stored = registry.get_credentials(cluster)
    raw = stored.get(CONTROL_PLANE_BOOTSTRAP_KEY)
    if raw:
        current = ControlPlaneBootstrap.from_json(raw)
        if current.usable_at(now):
            return current
    fresh = new_control_plane_bootstrap(now)
    registry.put_credentials(cluster, {**stored, CONTROL_PLANE_BOOTSTRAP_KEY: fresh.to_json()})
    return fresh


def security_rules(vpc_cidr: str) -> list[dict[str, Any]]:
    """Ingress rules of a cluster's security group (rule dicts of the ECS security-group operator)."""
    return [
        {
            "ip_protocol": "ALL",
            "port_range": "-1/-1",
            "source_cidr_ip": vpc_cidr,
            "description": "node-to-node traffic inside the VPC",
        },
        {
            "ip_protocol": "TCP",
            "port_range": "6443/6443",
            "source_cidr_ip": vpc_cidr,
            "description": "Kubernetes API server behind the intranet SLB",
        },
    ]


def node_pool_rows(request: ProvisionRequest) -> list[dict[str, Any]]:
    """Registry node-pool rows: one per pool and zone, min/desired/max spread like the instances."""
    from include.provisioning.plan import spread

    rows = []
    for pool in request.node_pools:
        mins = dict(spread(pool.min_size, pool.zones))
        desired = dict(spread(pool.desired_size, pool.zones))
        maxes = dict(spread(pool.max_size, pool.zones))
        for zone in pool.zones:
            rows.append(
                {
                    "name": pool.name,
                    "zone_id": zone,
                    "instance_type": pool.instance_type,
                    "min_size": mins[zone],
                    "desired_size": desired[zone],
                    "max_size": maxes[zone],
                }
            )
    return rows
