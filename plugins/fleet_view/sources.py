"""Where the Fleet view's data comes from inside the Airflow API server.

- the fleet registry and audit store: the ``yunfleet_db`` connection's database, opened read-only in
  spirit (the schema is never migrated from here; a table missing from an older registry reads as empty);
- the fleet's settings (DNS domain, fleet id, Kubernetes URL template and CA file): the
  ``alibaba_cloud_default`` connection's extra;
- the Service names: the DNS zone itself, one paged ``DescribeDomainRecords`` listing, at most every
  ``ZONE_TTL_S`` seconds, one attempt with short timeouts;
- live figures: each cluster's API server (nodes, pending pods) through ``FleetKubernetesHook`` with a
  2 s timeout and one attempt, behind :class:`plugins.fleet_view.live.LiveReader`.

Connections are read through Airflow's own secrets chain (environment, then the metadata DB) and
re-read at most every ``CONNECTION_TTL_S`` seconds, so an edited connection is picked up without a
restart. Operators and SDKs are imported on first use, never when the plugin is loaded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from include.registry.store import FleetRegistry

CONNECTION_TTL_S = 60.0
ZONE_TTL_S = 30.0
#: (connect, read) seconds for one live call to a cluster
KUBE_TIMEOUT = (1.0, 2.0)
T = TypeVar("T")


@dataclass(frozen=True)
class FleetSettings:
    """What the view needs of the cloud connection."""

    domain: str
    service_owner: str
    kube_server_template: str | None
    kube_ca_file: str | None


class FleetSources(Protocol):
    """What the app reads; :class:`AirflowSources` in the API server, fakes in tests."""

    def engine(self) -> Engine: ...

    def registry(self) -> FleetRegistry: ...

    def settings(self) -> FleetSettings: ...

    def zone_records(self, domain: str) -> list[Any]: ...

    def read_cluster(self, cluster: str) -> dict[str, Any]: ...


def settings_from_extra(extra: dict[str, Any]) -> FleetSettings:
    from include.fleet.contract import service_records_owner
    from include.services.model import DEFAULT_FLEET_ID

    return FleetSettings(
        domain=str(extra.get("dns_domain") or ""),
        service_owner=service_records_owner(str(extra.get("fleet_id") or DEFAULT_FLEET_ID)),
        kube_server_template=extra.get("kube_server_template") or None,
        kube_ca_file=extra.get("kube_ca_file") or None,
    )


def nodes_by_zone(nodes: list[Any]) -> dict[str, dict[str, int]]:
    """``{zone: {"ready", "total"}}`` of ``NodeInfo``-like objects (``zone``, ``ready``); a node without
    a zone label counts under ``""``."""
    zones: dict[str, dict[str, int]] = {}
    for node in nodes:
        counts = zones.setdefault(node.zone or "", {"ready": 0, "total": 0})
        counts["total"] += 1
        counts["ready"] += int(bool(node.ready))
    return dict(sorted(zones.items()))


class _Timed:
    """A value computed at most every ``ttl_s`` seconds (thread-safe)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            found = self._values.get(key)
            if found is not None and found[0] > time.monotonic():
                return found[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._values[key] = (time.monotonic() + self.ttl_s, value)
        return value


class AirflowSources:
    """The API server's view of the registry, the cloud connection, the DNS zone and the clusters."""

    def __init__(self, db_conn_id: str = "yunfleet_db", cloud_conn_id: str = "alibaba_cloud_default") -> None:
        self.db_conn_id = db_conn_id
        self.cloud_conn_id = cloud_conn_id
        self._connections = _Timed(CONNECTION_TTL_S)
        self._kube_hooks: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def _registry_hook(self) -> Any:
        from operators.hooks.registry import YunfleetRegistryHook

        return self._connections.get("registry", lambda: YunfleetRegistryHook(self.db_conn_id))

    def engine(self) -> Engine:
        from operators.hooks.registry import registry_engine

        engine: Engine = registry_engine(self._registry_hook().url, ensure_schema=False)
        return engine

    def registry(self) -> FleetRegistry:
        return FleetRegistry(self.engine(), self._registry_hook().cipher)

    def settings(self) -> FleetSettings:
        def read() -> FleetSettings:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(self.cloud_conn_id)
            extra = {
                k.removeprefix("extra__alibaba_cloud__"): v for k, v in (conn.extra_dejson or {}).items()
            }
            return settings_from_extra(extra)

        return self._connections.get("settings", read)

    def zone_records(self, domain: str) -> list[Any]:
        from operators.hooks.dns import DnsHook
        from operators.utils.retry import RetryPolicy

        quick = RetryPolicy(
            max_attempts=1, max_total_seconds=5.0, throttle_max_attempts=1, throttle_max_total_seconds=1.0
        )
        hook = DnsHook(self.cloud_conn_id, connect_timeout_ms=1000, read_timeout_ms=3000, retry_policy=quick)
        return list(hook.list_zone(domain))

    def _kube(self, cluster: str) -> Any:
        """One hook per cluster (its HTTP pool and credential files are reused), renewed with the
        connection settings."""
        from operators.hooks.kubernetes import FleetKubernetesHook
        from operators.utils.retry import RetryPolicy

        generation = repr(self.settings())
        with self._lock:
            found = self._kube_hooks.get(cluster)
            if found is not None and found[0] == generation:
                return found[1]
            quick = RetryPolicy(
                max_attempts=1, max_total_seconds=3.0, throttle_max_attempts=1, throttle_max_total_seconds=1.0
            )
            hook = FleetKubernetesHook(
                cluster,
                alibaba_cloud_conn_id=self.cloud_conn_id,
                yunfleet_db_conn_id=self.db_conn_id,
                request_timeout=KUBE_TIMEOUT,
                retry_policy=quick,
            )
            self._kube_hooks[cluster] = (generation, hook)
            return hook

    def read_cluster(self, cluster: str) -> dict[str, Any]:
        hook = self._kube(cluster)
        nodes = nodes_by_zone(hook.list_nodes())
        pending = hook.list_pod_objects(phase="Pending")
        return {"nodes": nodes, "pending_pods": len(pending)}
