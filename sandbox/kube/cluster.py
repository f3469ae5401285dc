"""One simulated cluster: identity (from the first control plane's delivery), object store, bookkeeping."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sandbox.kube.delivery import redact_bootstrap_secret
from sandbox.kube.resources import ENDPOINTS, EVENTS, NAMESPACES, SECRETS, SERVICES
from sandbox.kube.store import ObjectStore, micro_time, rfc3339

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)
MAX_EVENTS = 2000


@dataclass
class NodeRecord:
    """What the simulation knows about the machine behind a Node."""

    instance_id: str
    role: str
    node_pool: str | None
    first_seen: float
    ready_since: float | None = None
    unhealthy_since: float | None = None
    gone_since: float | None = None


@dataclass
class Cluster:
    """``ca_cert_pem`` signs the client certificates the API accepts; ``init_token`` (a digest, valid
    until ``init_token_expires_at``) and ``certificate_key`` (a digest) come from ``kubeadm init``."""

    name: str
    ca_cert_pem: str
    init_token: str
    init_token_expires_at: float | None
    certificate_key: str
    kubernetes_version: str
    created_at: float
    store: ObjectStore
    api_ready_at: float | None = None
    api_up: bool = False
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    demand: dict[str, int] = field(default_factory=dict)
    load_balancers: dict[str, str] = field(default_factory=dict)
    lb_backends: dict[str, list[str]] = field(default_factory=dict)
    # named moments the controllers wait on, e.g. "start/<pod uid>" -> when the pod may start
    timers: dict[str, float] = field(default_factory=dict)

    # -- persistence --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        store = self.store.to_state()
        # bootstrap-token Secrets are saved with their secret half as a digest, like the init token
        store["objects"][SECRETS.key] = [
            redact_bootstrap_secret(s) for s in store["objects"].get(SECRETS.key, [])
        ]
        return {
            "name": self.name,
            "ca_cert_pem": self.ca_cert_pem,
            "init_token": self.init_token,
            "init_token_expires_at": self.init_token_expires_at,
            "certificate_key": self.certificate_key,
            "kubernetes_version": self.kubernetes_version,
            "created_at": self.created_at,
            "api_ready_at": self.api_ready_at,
            "api_up": self.api_up,
            "store": store,
            "nodes": {k: vars(v) for k, v in self.nodes.items()},
            "demand": self.demand,
            "load_balancers": self.load_balancers,
            "lb_backends": self.lb_backends,
            "timers": self.timers,
        }

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Cluster:
        return cls(
            name=raw["name"],
            ca_cert_pem=raw.get("ca_cert_pem", ""),
            init_token=raw.get("init_token", ""),
            init_token_expires_at=raw.get("init_token_expires_at"),
            certificate_key=raw.get("certificate_key", ""),
            kubernetes_version=raw["kubernetes_version"],
            created_at=float(raw["created_at"]),
            store=ObjectStore.from_state(raw["store"]),
            api_ready_at=raw.get("api_ready_at"),
            api_up=bool(raw.get("api_up")),
            nodes={k: NodeRecord(**v) for k, v in raw.get("nodes", {}).items()},
            demand={k: int(v) for k, v in raw.get("demand", {}).items()},
            load_balancers=dict(raw.get("load_balancers", {})),
            lb_backends={k: list(v) for k, v in raw.get("lb_backends", {}).items()},
            timers={k: float(v) for k, v in raw.get("timers", {}).items()},
        )

    @classmethod
    def bootstrap(
        cls,
        name: str,
        *,
        ca_cert_pem: str,
        init_token: str,
        init_token_expires_at: float | None,
        certificate_key: str,
        version: str,
        now: float,
    ) -> Cluster:
        """A fresh cluster as ``kubeadm init`` leaves it: system namespaces and the kubernetes Service."""
        cluster = cls(
            name,
            ca_cert_pem,
            init_token,
            init_token_expires_at,
            certificate_key,
            version,
            now,
            ObjectStore(name, now),
        )
        for ns in SYSTEM_NAMESPACES:
            cluster.store.create(
                NAMESPACES,
                {
                    "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
                now,
            )
        cluster.store.create(
            SERVICES,
            {
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.1",
                    "clusterIPs": ["10.96.0.1"],
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                    "sessionAffinity": "None",
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                    "internalTrafficPolicy": "Cluster",
                },
                "status": {"loadBalancer": {}},
            },
            now,
        )
        cluster.store.create(
            ENDPOINTS,
            {
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
                },
                "subsets": [],
            },
            now,
        )
        return cluster

    # -- allocation (what admission and the service IP/port allocators do) ---------------------

    def allocate_service(self, obj: dict[str, Any]) -> None:
        spec = obj["spec"]
        used_ips = {s["spec"].get("clusterIP") for s in self.store.items(SERVICES)}
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            for host in SERVICE_CIDR.hosts():
                ip = str(host)
                if ip not in used_ips and not ip.endswith(".0") and ip != "10.96.0.1" and ip != "10.96.0.10":
                    spec["clusterIP"] = ip
                    break
        if spec.get("clusterIP"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            used_ports = {
                p.get("nodePort") for s in self.store.items(SERVICES) for p in s["spec"].get("ports") or []
            }
            candidate = NODE_PORT_RANGE[0] + (sum(map(ord, obj["metadata"].get("name", ""))) * 7) % 2000
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    continue
                while candidate in used_ports:
                    candidate = candidate + 1 if candidate < NODE_PORT_RANGE[1] else NODE_PORT_RANGE[0]
                port["nodePort"] = candidate
                used_ports.add(candidate)

    # -- events -------------------------------------------------------------------------------

    def record_event(
        self, obj: dict[str, Any], event_type: str, reason: str, message: str, component: str, now: float
    ) -> None:
        """Record an Event about ``obj``; repeats of the same event bump its count."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        involved = {
            "kind": obj.get("kind"),
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if obj.get("kind") == "Node":
            involved["uid"] = meta["name"]
            involved.pop("resourceVersion")
        for event in reversed(self.store.items(EVENTS, namespace)[-50:]):
            same = event["involvedObject"].get("uid") == involved["uid"] and event["reason"] == reason
            if same and event["message"] == message:
                event["count"] = int(event.get("count", 1)) + 1
                event["lastTimestamp"] = rfc3339(now)
                self.store.touch(EVENTS, event)
                return
        self.store.create(
            EVENTS,
            {
                "metadata": {"name": f"{meta['name']}.{self.store.suffix(16)}", "namespace": namespace},
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "type": event_type,
                "source": {"component": component},
                "firstTimestamp": rfc3339(now),
                "lastTimestamp": rfc3339(now),
                "eventTime": None,
                "count": 1,
                "reportingComponent": component,
                "reportingInstance": "",
            },
            now,
        )
        events = sorted(self.store.items(EVENTS), key=lambda e: int(e["metadata"]["resourceVersion"]))
        for old in events[: max(0, len(events) - MAX_EVENTS)]:
            self.store.delete(EVENTS, old["metadata"]["namespace"], old["metadata"]["name"])

    @staticmethod
    def micro(now: float) -> str:
        return micro_time(now)
