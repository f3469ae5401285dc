"""The fleet contract: the facts other tools and other DAG families rely on, stated once.

- Cloud tags: every resource of a cluster carries ``yunfleet:cluster`` (and, where it applies,
  ``yunfleet:role``, ``yunfleet:node-pool``, ``yunfleet:intent``); "ensure" and decommission find
  resources by them, so changing a key orphans every existing cluster.
- The Airflow Asset that provisioning and decommissioning update when the registered clusters change.
- DNS: the API server of cluster ``c`` is ``api.c.<fleet domain>``; a name Yunfleet manages carries a
  TXT ownership record ``_yunfleet.<rr>`` = ``heritage=yunfleet,owner=<owner>`` (docs/decisions.md,
  "DNS ownership is a TXT record beside the name"); the API record's owner is ``cluster/<c>``.
- Services: a Service annotated ``yunfleet.io/export: "true"`` is published as
  ``<svc>.<ns>.<cluster>.<domain>`` and ``<svc>.<ns>.global.<domain>`` (weighted across clusters by
  ``yunfleet.io/weight``); their ownership records also name the source, e.g.
  ``heritage=yunfleet,owner=fleet/default,source=shop/web`` (docs/service-registry.md).
- The Kubernetes API URL: ``https://api.{cluster}.{domain}:6443`` unless the connection's
  ``kube_server_template`` says otherwise.
- The ClientToken sent with every create: derived from the task that sends it and what it asks for.

Pure Python (no Airflow, no SDK), so planners, hooks and flows import the same values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# -- tags and roles -----------------------------------------------------------------------------

TAG_CLUSTER = "yunfleet:cluster"
TAG_ROLE = "yunfleet:role"
TAG_NODE_POOL = "yunfleet:node-pool"
#: Which planned resource a cloud resource realises; lets "ensure" find it again by tag.
TAG_INTENT = "yunfleet:intent"

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"
ROLE_APISERVER_LB = "apiserver-lb"
ROLE_SERVICE_LB = "service-lb"
ROLES = (ROLE_CONTROL_PLANE, ROLE_WORKER, ROLE_APISERVER_LB, ROLE_SERVICE_LB)


def cluster_tags(cluster: str, role: str | None = None, node_pool: str | None = None) -> dict[str, str]:
    """The contract tags of a resource of ``cluster``: ``{tag key: value}``."""
    tags = {TAG_CLUSTER: cluster}
    if role is not None:
        tags[TAG_ROLE] = role
    if node_pool is not None:
        tags[TAG_NODE_POOL] = node_pool
    return tags


# -- the clusters asset -------------------------------------------------------------------------

#: Asset URIs use the ``x-`` scheme prefix Airflow reserves for schemes no provider handles, so
#: creating them at DAG parse time does not load every provider's URI normalizers (~0.2 s).
#: The Asset that provisioning and decommissioning update when the set of registered clusters
#: changes; ``register_services`` and ``reconcile_capacity`` schedule on it.
CLUSTERS_ASSET_NAME = "yunfleet_clusters"
CLUSTERS_ASSET_URI = "x-yunfleet://registry/clusters"
#: The Asset that zone health and failover update when a zone's state changes; ``register_services``
#: schedules on it so that global names follow a failed or recovered zone without waiting.
ZONES_ASSET_NAME = "yunfleet_zones"
ZONES_ASSET_URI = "x-yunfleet://registry/zones"
#: The Asset zone health announces on (its watcher in the triggerer every few seconds, its scheduled run
#: every minute): a zone changed state, an evacuation expired, or every zone looked failed at once.
#: ``zone_failover`` and ``register_services`` schedule on it.
ZONE_EVENTS_ASSET_NAME = "yunfleet_zone_events"
ZONE_EVENTS_ASSET_URI = "x-yunfleet://zones/events"

# -- DNS ----------------------------------------------------------------------------------------

#: XCom key under which a failed task leaves its one-line error for the run's final report
#: (``flows.run.finish``); the flows' task wrapper and the Yunfleet sensors push it.
ERROR_XCOM_KEY = "yunfleet_error"

#: TXT ownership records live at ``_yunfleet.<rr>`` (``_yunfleet`` for the apex).
OWNERSHIP_PREFIX = "_yunfleet"
HERITAGE = "heritage=yunfleet"


def api_record_rr(cluster: str) -> str:
    """The Alidns RR (host record) of the API server name, relative to the fleet domain."""
    return f"api.{cluster}"


def api_fqdn(cluster: str, domain: str) -> str:
    """``api.<cluster>.<domain>``: the DNS name of a cluster's API server."""
    return f"{api_record_rr(cluster)}.{domain}"


def api_record_owner(cluster: str) -> str:
    """Owner written into the TXT ownership record of ``api.<cluster>``."""
    return f"cluster/{cluster}"


def ownership_rr(rr: str) -> str:
    """The RR of the TXT ownership record of ``rr``."""
    return OWNERSHIP_PREFIX if rr == "@" else f"{OWNERSHIP_PREFIX}.{rr}"


def ownership_value(owner: str, source: str | None = None) -> str:
    """The value of the TXT ownership record for ``owner`` (and the ``source`` it publishes, if any)."""
    value = f"{HERITAGE},owner={owner}"
    return value if source is None else f"{value},source={source}"


def parse_ownership_value(value: str) -> dict[str, str] | None:
    """``{"owner": ..., "source": ...}`` of a Yunfleet TXT ownership value, or ``None`` for any other TXT.

    Surrounding quotes are ignored; ``source`` is absent from values written without one (the API
    server's). A value that starts with :data:`HERITAGE` but has no owner is not an ownership value.
    """
    text = value.strip().strip('"')
    if not text.startswith(HERITAGE + ","):
        return None
    fields: dict[str, str] = {}
    for part in text[len(HERITAGE) + 1 :].split(","):
        key, sep, val = part.partition("=")
        if not sep or key in fields:
            return None
        fields[key] = val
    return fields if fields.get("owner") else None


# -- exported Services --------------------------------------------------------------------------

#: Service annotation that publishes a Service of type LoadBalancer in the fleet's DNS (value "true").
EXPORT_ANNOTATION = "yunfleet.io/export"
#: Service annotation with the Service's weight (1-100) in its global name.
WEIGHT_ANNOTATION = "yunfleet.io/weight"
#: The label in place of a cluster name in a Service's name across clusters.
GLOBAL_LABEL = "global"


def service_record_rr(service: str, namespace: str, cluster: str) -> str:
    """The RR of a Service's name in one cluster: ``<svc>.<ns>.<cluster>``."""
    return f"{service}.{namespace}.{cluster}"


def global_record_rr(service: str, namespace: str) -> str:
    """The RR of a Service's weighted name across clusters: ``<svc>.<ns>.global``."""
    return f"{service}.{namespace}.{GLOBAL_LABEL}"


def service_records_owner(fleet_id: str) -> str:
    """Owner written into the TXT ownership records of Service names: ``fleet/<fleet_id>``."""
    return f"fleet/{fleet_id}"


# -- the Kubernetes API -------------------------------------------------------------------------

API_SERVER_PORT = 6443
#: Default of the connection extra ``kube_server_template`` (``{cluster}`` and ``{domain}`` filled in).
KUBE_SERVER_TEMPLATE = "https://api.{cluster}.{domain}:" + str(API_SERVER_PORT)


def kube_server_url(cluster: str, domain: str, template: str | None = None) -> str:
    """The API server URL of ``cluster``: ``template`` (default :data:`KUBE_SERVER_TEMPLATE`) filled in."""
    return (template or KUBE_SERVER_TEMPLATE).format(cluster=cluster, domain=domain)


# -- ClientToken --------------------------------------------------------------------------------

#: Alibaba Cloud accepts ASCII ClientTokens of at most 64 characters.
MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class TaskIdentity:
    """Where a call comes from; what the ClientToken and the audit rows are keyed on."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int = -1
    try_number: int | None = None


def derive_client_token(identity: TaskIdentity, intent: str) -> str:
    """The ClientToken of one create: ``yf-`` + 61 hex characters (64 ASCII characters).

    Derived from the DAG run, task and map index that send it and from ``intent``, which names what
    the call asks for (for example ``run-instances:demo:workers:cn-hangzhou-h:0+3``). The try number
    is not part of it, so a retried or restarted task re-sends the same token and the cloud returns
    the first result instead of creating again; two creates in one task never share a token.

    :raises ValueError: ``intent`` is empty.
    """
    if not intent:
        raise ValueError("intent must be a non-empty string")
    key = "\x1f".join(
        [
            identity.dag_id or "-",
            identity.run_id or "-",
            identity.task_id or "-",
            str(identity.map_index),
            intent,
        ]
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return ("yf-" + digest)[:MAX_TOKEN_LENGTH]
