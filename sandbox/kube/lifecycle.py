"""Clusters and Nodes from the ECS world: bootstrap blocks bring clusters up, instances become Nodes.

Also the node side of the control plane: NotReady after the monitor grace, taint-based eviction of
pods from unreachable nodes, and removal of Nodes whose instance is gone (the cloud controller).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sandbox.kube.auth import token_valid
from sandbox.kube.bootstrap import Bootstrap, parse_user_data
from sandbox.kube.cluster import Cluster, NodeRecord
from sandbox.kube.delivery import Delivered, ca_hash
from sandbox.kube.resources import NODES, PODS
from sandbox.kube.store import micro_time, rfc3339
from sandbox.kube.timings import KubeTimings

REGION = "cn-hangzhou"
POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")
UNREACHABLE = "node.kubernetes.io/unreachable"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
Member = tuple[Any, Bootstrap]


class BootstrapCache:
    """Parsed bootstrap blocks per instance, reparsed only when the UserData changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str | None, Bootstrap | None]] = {}

    def lookup(self, instance_id: str) -> Bootstrap | None:
        cached = self._cache.get(instance_id)
        return cached[1] if cached else None

    def members(self, instances: dict[str, Any]) -> dict[str, list[Member]]:
        groups: dict[str, list[Member]] = {}
        for instance_id in list(self._cache):
            if instance_id not in instances:
                del self._cache[instance_id]
        for instance in instances.values():
            cached = self._cache.get(instance.instance_id)
            if cached is None or cached[0] != instance.user_data:
                cached = (instance.user_data, parse_user_data(instance.user_data))
                self._cache[instance.instance_id] = cached
            if cached[1] is not None:
                groups.setdefault(cached[1].cluster, []).append((instance, cached[1]))
        for members in groups.values():
            members.sort(key=lambda m: (m[0].created_at, m[0].instance_id))
        return groups


def instance_healthy(world: Any, instance: Any) -> bool:
    zone = world.zones.get(instance.zone_id)
    return instance.status == "Running" and not (zone is not None and zone.outage)


def update_api(world: Any, cluster: Cluster, members: list[Member], timings: KubeTimings, now: float) -> None:
    """The API server answers while a control-plane instance is Running in a healthy zone (after boot)."""
    serving = any(b.role == "control-plane" and instance_healthy(world, i) for i, b in members)
    if not serving:
        cluster.api_ready_at = None
    elif cluster.api_ready_at is None:
        cluster.api_ready_at = now + timings.api_boot_s
    cluster.api_up = cluster.api_ready_at is not None and now >= cluster.api_ready_at


def _capacity(world: Any, instance_type: str) -> dict[str, str]:
    itype = world.ecs.instance_types.get(instance_type)
    cpu = int(itype.cpu) if itype else 2
    memory_ki = int(float(itype.memory_gib) * 1024 * 1024) if itype else 4 * 1024 * 1024
    return {"cpu": str(cpu), "memory": f"{memory_ki}Ki", "pods": "110", "ephemeral-storage": "41152812Ki"}


def _pod_cidr(cluster: Cluster) -> str:
    used = {n["spec"].get("podCIDR") for n in cluster.store.items(NODES)}
    for subnet in POD_NETWORK.subnets(new_prefix=24):
        if str(subnet) not in used:
            return str(subnet)
    return "10.244.255.0/24"


def _conditions(ready: str, reason: str, message: str, now: float) -> list[dict[str, Any]]:
    stamp = rfc3339(now)
    healthy = ready == "True"
    others = [
        (
            kind,
            "KubeletHas"
            + (
                "NoDiskPressure"
                if kind == "DiskPressure"
                else "SufficientMemory"
                if kind == "MemoryPressure"
                else "SufficientPID"
            ),
        )
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    conds = [
        {
            "type": kind,
            "status": "False" if healthy else "Unknown",
            "reason": why if healthy else "NodeStatusUnknown",
            "message": "kubelet has no pressure" if healthy else message,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
        for kind, why in others
    ]
    conds.append(
        {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
    )
    return conds


def _new_node(world: Any, cluster: Cluster, instance: Any, boot: Bootstrap, now: float) -> dict[str, Any]:
    name = instance.instance_id
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": instance.instance_type,
        "topology.kubernetes.io/region": REGION,
        "topology.kubernetes.io/zone": instance.zone_id,
    }
    taints = []
    if boot.role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        taints.append({"key": CONTROL_PLANE_TAINT, "effect": "NoSchedule"})
    if boot.node_pool:
        labels["yunfleet.io/node-pool"] = boot.node_pool
    capacity = _capacity(world, instance.instance_type)
    allocatable = dict(capacity)
    allocatable["memory"] = f"{int(capacity['memory'][:-2]) - 100 * 1024}Ki"
    cidr = _pod_cidr(cluster)
    version = (
        f"v{cluster.kubernetes_version}.0"
        if cluster.kubernetes_version.count(".") == 1
        else f"v{cluster.kubernetes_version}"
    )
    return {
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "providerID": f"alicloud://{REGION}.{instance.instance_id}",
            "podCIDR": cidr,
            "podCIDRs": [cidr],
            **({"taints": taints} if taints else {}),
        },
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": _conditions("True", "KubeletReady", "kubelet is posting ready status", now),
            "addresses": [
                {"type": "InternalIP", "address": instance.private_ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": instance.instance_id,
                "systemUUID": instance.instance_id,
                "bootID": instance.instance_id,
                "kernelVersion": "5.15.0-101-generic",
                "osImage": "Ubuntu 22.04.4 LTS",
                "containerRuntimeVersion": "containerd://1.7.13",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def node_ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions") or [])


def _set_ready(cluster: Cluster, node: dict[str, Any], ready: bool, now: float) -> None:
    if ready:
        node["status"]["conditions"] = _conditions(
            "True", "KubeletReady", "kubelet is posting ready status", now
        )
        node["spec"]["taints"] = [t for t in node["spec"].get("taints") or [] if t["key"] != UNREACHABLE]
        cluster.record_event(
            node,
            "Normal",
            "NodeReady",
            f"Node {node['metadata']['name']} status is now: NodeReady",
            "kubelet",
            now,
        )
    else:
        node["status"]["conditions"] = _conditions(
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", now
        )
        taints = [t for t in node["spec"].get("taints") or [] if t["key"] != UNREACHABLE]
        taints += [
            {"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": rfc3339(now)},
            {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc3339(now)},
        ]
        node["spec"]["taints"] = taints
        cluster.record_event(
            node,
            "Normal",
            "NodeNotReady",
            f"Node {node['metadata']['name']} status is now: NodeNotReady",
            "node-controller",
            now,
        )
    if not node["spec"]["taints"]:
        node["spec"].pop("taints")
    cluster.store.touch(NODES, node)


def may_join(cluster: Cluster, delivered: Delivered, now: float) -> bool:
    """What ``kubeadm init``/``join`` with the delivered configuration would achieve against this
    cluster: the initialiser is the node whose token the cluster was created with; a joiner needs a
    bootstrap token valid now, the cluster's CA hash among its ``caCertHashes``, and (joining as a
    control plane) the certificate key the first node uploaded its certificates with."""
    if not delivered.ok:
        return False
    if delivered.init:
        return delivered.token_digest == cluster.init_token and delivered.ca_cert_pem == cluster.ca_cert_pem
    if not token_valid(cluster, delivered.token_digest, now):
        return False
    if cluster.ca_cert_pem and ca_hash(cluster.ca_cert_pem) not in delivered.ca_cert_hashes:
        return False
    return not delivered.control_plane_join or delivered.certificate_key_digest == cluster.certificate_key


def sync_nodes(
    world: Any,
    cluster: Cluster,
    members: list[Member],
    timings: KubeTimings,
    now: float,
    delivered: dict[str, Delivered],
) -> None:
    """Join, mark NotReady/Ready, evict from and remove Nodes to match the instances behind them."""
    by_id = {}
    for instance, boot in members:
        got = delivered.get(instance.instance_id)
        if got is None:
            continue
        joined = cluster.store.peek(NODES, "", instance.instance_id) is not None
        if joined or may_join(cluster, got, now):
            by_id[instance.instance_id] = (instance, boot)
    for instance_id, (instance, boot) in by_id.items():
        node = cluster.store.peek(NODES, "", instance_id)
        healthy = instance_healthy(world, instance)
        record = cluster.nodes.get(instance_id)
        if node is None:
            started = instance.started_at or now
            if healthy and now - max(started, cluster.created_at) >= timings.node_join_s:
                node = _new_node(world, cluster, instance, boot, now)
                cluster.store.create(NODES, node, now)
                cluster.nodes[instance_id] = NodeRecord(instance_id, boot.role, boot.node_pool, now, now)
                stored = cluster.store.peek(NODES, "", instance_id)
                if stored is not None:
                    cluster.record_event(
                        stored,
                        "Normal",
                        "RegisteredNode",
                        f"Node {instance_id} event: Registered Node {instance_id} in Controller",
                        "node-controller",
                        now,
                    )
            continue
        if record is None:
            record = cluster.nodes.setdefault(
                instance_id, NodeRecord(instance_id, boot.role, boot.node_pool, now)
            )
        if healthy:
            record.unhealthy_since = None
            if not node_ready(node) and now - (instance.started_at or now) >= timings.node_join_s:
                _set_ready(cluster, node, True, now)
                record.ready_since = now
        else:
            record.unhealthy_since = record.unhealthy_since or now
            if node_ready(node) and now - record.unhealthy_since >= timings.node_monitor_grace_s:
                _set_ready(cluster, node, False, now)
                record.ready_since = None
    for node in list(cluster.store.items(NODES)):
        name = node["metadata"]["name"]
        record = cluster.nodes.setdefault(name, NodeRecord(name, "worker", None, now))
        if name not in by_id:
            record.gone_since = record.gone_since or now
            record.unhealthy_since = record.unhealthy_since or now
            if node_ready(node) and now - record.unhealthy_since >= timings.node_monitor_grace_s:
                _set_ready(cluster, node, False, now)
            if not node_ready(node) and now - record.gone_since >= timings.node_removal_s:
                cluster.record_event(
                    node,
                    "Normal",
                    "DeletingNode",
                    f"Deleting node {name} because it does not exist in the cloud provider",
                    "cloud-node-lifecycle-controller",
                    now,
                )
                cluster.store.delete(NODES, "", name)
                cluster.nodes.pop(name, None)
                continue
        _evict_from_unreachable(cluster, node, record, timings, now)


def _evict_from_unreachable(
    cluster: Cluster, node: dict[str, Any], record: NodeRecord, timings: KubeTimings, now: float
) -> None:
    """Pods on a NotReady node turn unready, and after the eviction grace are deleted."""
    if node_ready(node):
        return
    name = node["metadata"]["name"]
    not_ready_for = now - (record.unhealthy_since or now) - timings.node_monitor_grace_s
    for pod in list(cluster.store.items(PODS)):
        if (pod.get("spec") or {}).get("nodeName") != name:
            continue
        if not_ready_for >= timings.pod_eviction_s:
            cluster.record_event(
                pod,
                "Normal",
                "TaintManagerEviction",
                f"Marking for deletion Pod {pod['metadata']['namespace']}/{pod['metadata']['name']}",
                "taint-eviction-controller",
                now,
            )
            cluster.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            continue
        changed = False
        for cond in pod.get("status", {}).get("conditions") or []:
            if cond["type"] in ("Ready", "ContainersReady") and cond["status"] != "False":
                cond["status"], cond["lastTransitionTime"] = "False", rfc3339(now)
                changed = True
        for cstatus in pod.get("status", {}).get("containerStatuses") or []:
            if cstatus.get("ready"):
                cstatus["ready"], changed = False, True
        if changed:
            cluster.store.touch(PODS, pod)


def node_leases(cluster: Cluster, namespace: str | None, now: float) -> list[dict[str, Any]]:
    """The kubelets' heartbeat Leases in ``kube-node-lease``: renewed now while the node's machine is
    healthy, frozen at the moment it stopped posting otherwise."""
    if namespace not in (None, "kube-node-lease"):
        return []
    leases = []
    for node in cluster.store.items(NODES):
        name = node["metadata"]["name"]
        record = cluster.nodes.get(name)
        renewed = record.unhealthy_since if record and record.unhealthy_since else now
        leases.append(
            {
                "kind": "Lease",
                "apiVersion": "coordination.k8s.io/v1",
                "metadata": {
                    "name": name,
                    "namespace": "kube-node-lease",
                    "creationTimestamp": node["metadata"]["creationTimestamp"],
                    "ownerReferences": [
                        {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
                    ],
                },
                "spec": {
                    "holderIdentity": name,
                    "leaseDurationSeconds": 40,
                    "renewTime": micro_time(renewed),
                },
            }
        )
    return leases
