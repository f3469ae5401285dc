"""Response models of the Fleet JSON API: its OpenAPI schema (``/yunfleet/api/openapi.json``).

Times are ISO 8601 strings in UTC (``...Z``). Fields a newer server may add are allowed
(``extra="allow"``), so clients should ignore what they do not know.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ZoneNodes(_Model):
    ready: int
    total: int


class Pool(_Model):
    name: str | None
    zone_id: str | None
    role: str | None = None
    instance_type: str | None = None
    min_size: int | None = None
    desired_size: int | None = None
    max_size: int | None = None


class Observed(_Model):
    """The last snapshot the capacity reconciler recorded for the cluster."""

    at: str | None = None
    run_id: str | None = None
    nodes: int | None = None
    zones: dict[str, ZoneNodes] = Field(default_factory=dict)
    pods_running: int | None = None
    pods_pending: int | None = None


class Live(_Model):
    """Read from the cluster's API server for this answer (cached up to 15 s)."""

    status: str = Field(
        description="ok | unavailable | skipped (not read: state, no credentials, live=false)"
    )
    error: str | None = None
    nodes: dict[str, ZoneNodes] | None = None
    pending_pods: int | None = None
    read_at: str | None = None


class Cluster(_Model):
    name: str
    state: str
    region_id: str
    domain: str
    kubernetes_version: str | None = None
    zones: list[str]
    api_server: str
    endpoints: dict[str, Any]
    ticket_id: str | None = None
    has_credentials: bool
    control_plane: dict[str, Any]
    pools: list[Pool]
    pools_requested: bool = Field(description="true: pools as requested, none registered yet")
    created_at: str | None = None
    updated_at: str | None = None
    observed: Observed | None = None
    live: Live


class ClustersResponse(_Model):
    clusters: list[Cluster]


class Segment(_Model):
    state: str
    start: str | None = Field(default=None, alias="from")
    to: str | None = None
    reason: str | None = None

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)


class ZoneState(_Model):
    scope: str = Field(description='"" for the whole fleet, else the cluster that sees the zone this way')
    zone_id: str = Field(description='"*" with a cluster scope: the whole cluster')
    state: str
    since: str | None = None
    updated_at: str | None = None
    detail: dict[str, Any]
    timeline: list[Segment]


class ZonesResponse(_Model):
    zones: list[ZoneState]
    transitions: list[dict[str, Any]] = Field(description="state changes, newest first; [] when not kept")
    evacuations: list[dict[str, Any]] = Field(description="evacuations, newest first; [] when not kept")
    history: dict[str, str] = Field(description="per history table: present | absent")


class CapacityPoint(_Model):
    at: str | None
    run_id: str | None = None
    nodes: int | None = None
    nodes_ready: int | None = None
    nodes_desired: int | None = None
    zones: dict[str, ZoneNodes] = Field(default_factory=dict)
    pods_running: int | None = None
    pods_pending: int | None = None
    pods_unschedulable: int | None = None


class CapacityAction(_Model):
    at: str | None
    tier: str
    subject: str
    zone_id: str | None = None
    current: int
    desired: int
    kind: str | None = None
    reason: str | None = None
    run_id: str | None = None


class ClusterCapacity(_Model):
    cluster: str
    points: list[CapacityPoint]
    actions: list[CapacityAction]


class CapacityResponse(_Model):
    clusters: list[ClusterCapacity]


class Target(_Model):
    address: str
    cluster: str | None = None
    weight: int | None = None
    enabled: bool = True
    ttl: int | None = None
    record_id: str | None = None


class DnsName(_Model):
    fqdn: str
    scope: str
    global_: bool = Field(alias="global")
    weighted: bool
    targets: list[Target]

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)


class ServiceRegistration(_Model):
    namespace: str
    service: str
    names: list[DnsName]


class ApiServerName(_Model):
    fqdn: str
    cluster: str
    targets: list[dict[str, Any]]


class RegistrationsResponse(_Model):
    domain: str
    status: str = Field(description="ok | unavailable (the zone could not be read; api_servers still are)")
    error: str | None = None
    read_at: str | None = None
    services: list[ServiceRegistration]
    api_servers: list[ApiServerName]


class AuditEvent(_Model):
    id: int
    occurred_at: str | None
    ticket_id: str | None = None
    cluster: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    actor: str | None = None
    product: str
    action: str
    target: str | None = None
    outcome: str
    error_code: str | None = None
    cloud_request_id: str | None = None
    request: dict[str, Any]
    run_path: str | None = Field(default=None, description="the DAG run in the Airflow UI, from its root")
    run_url: str | None = Field(default=None, description="the DAG run in the Airflow UI, absolute")


class AuditRun(_Model):
    dag_id: str | None
    run_id: str | None
    run_path: str | None = None
    run_url: str | None = None
    ticket_id: str | None = None
    first_at: str | None = None
    last_at: str | None = None
    events: int
    outcomes: dict[str, int]
    clusters: list[str]


class AuditResponse(_Model):
    events: list[AuditEvent]
    total: int = Field(description="events matching the filter, all pages")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="pass as cursor= for the next (older) page; null at the end")
    runs: list[AuditRun] = Field(description="with ticket_id or run_id: one entry per DAG run, all pages")


class KubeconfigResponse(_Model):
    cluster: str
    kubeconfig: str = Field(description="YAML with the admin client certificate: a credential")
