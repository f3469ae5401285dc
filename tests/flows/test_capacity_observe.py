"""Observe's views of client models: owners kept as they are, taints and tolerations carried, launched
instances matched to Nodes by providerID or by name."""

from __future__ import annotations

from types import SimpleNamespace

from kubernetes import client

from flows.capacity_observe import deployment_view_of, node_view, pod_view, upcoming_nodes
from include.capacity.model import POOL_LABEL, ZONE_LABEL, PoolView, Resources, deployment_of

H = "cn-hangzhou-h"
TOLERATE_ALL = client.V1Toleration(operator="Exists")
CONTROL_PLANE = client.V1Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")


def v1_pod(owner_kind: str, owner: str, **spec: object) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=f"{owner}-abc12",
            namespace="default",
            labels={"pod-template-hash": "7d9f"},
            owner_references=[
                client.V1OwnerReference(
                    api_version="apps/v1", kind=owner_kind, name=owner, uid="u", controller=True
                )
            ],
        ),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="app",
                    resources=client.V1ResourceRequirements(requests={"cpu": "250m", "memory": "64Mi"}),
                )
            ],
            **spec,
        ),
        status=client.V1PodStatus(phase="Running"),
    )


def test_a_pod_owned_by_its_deployment_keeps_that_owner() -> None:
    view = pod_view(v1_pod("Deployment", "web"), {"default/web-abc12": 120}, {})
    assert (view.owner_kind, view.owner_name) == ("Deployment", "web")
    assert deployment_of(view) == "web" and view.cpu_usage_m == 120
    rs = pod_view(v1_pod("ReplicaSet", "web-7d9f"), {}, {})
    assert (rs.owner_kind, rs.owner_name) == ("ReplicaSet", "web-7d9f") and deployment_of(rs) == "web"


def test_tolerations_and_taints_are_carried() -> None:
    tolerant = pod_view(
        v1_pod(
            "Deployment",
            "agent",
            tolerations=[
                TOLERATE_ALL,
                client.V1Toleration(key="dedicated", value="gpu", effect="NoExecute"),
            ],
        ),
        {},
        {},
    )
    assert tolerant.tolerations == (("", "Exists", "", ""), ("dedicated", "Equal", "gpu", "NoExecute"))
    node = client.V1Node(
        metadata=client.V1ObjectMeta(name="i-cp", labels={ZONE_LABEL: H}),
        spec=client.V1NodeSpec(provider_id="alicloud://cn-hangzhou.i-cp", taints=[CONTROL_PLANE]),
        status=client.V1NodeStatus(
            allocatable={"cpu": "2", "memory": "8Gi", "pods": "110"},
            conditions=[client.V1NodeCondition(type="Ready", status="True")],
        ),
    )
    view = node_view(node)
    assert view.taints == (("node-role.kubernetes.io/control-plane", "", "NoSchedule"),)
    assert not view.managed and view.ready
    template = client.V1PodTemplateSpec(
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="a", resources=client.V1ResourceRequirements(requests={"cpu": "100m"})
                )
            ],
            tolerations=[TOLERATE_ALL],
        )
    )
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="agent", namespace="default"),
        spec=client.V1DeploymentSpec(replicas=1, selector=client.V1LabelSelector(), template=template),
    )
    assert deployment_view_of(deployment, {}).template_pod(0).tolerations == (("", "Exists", "", ""),)


def test_a_launched_instance_whose_node_has_no_provider_id_is_not_upcoming() -> None:
    pool = PoolView("general", (H,), ("ecs.g7.large",), 1, 4, {"ecs.g7.large": Resources(2000, 8 << 30, 110)})
    bare = client.V1Node(
        metadata=client.V1ObjectMeta(name="i-joined", labels={ZONE_LABEL: H, POOL_LABEL: "general"}),
        spec=client.V1NodeSpec(),
        status=client.V1NodeStatus(allocatable={"cpu": "2", "memory": "8Gi"}, conditions=[]),
    )
    instances = [
        SimpleNamespace(
            instance_id=i,
            zone_id=H,
            instance_type="ecs.g7.large",
            tags={"yunfleet:node-pool": "general"},
            creation_time=None,
        )
        for i in ("i-joined", "i-booting")
    ]
    found = upcoming_nodes(instances, (node_view(bare),), (pool,))
    assert [n.name for n in found] == ["i-booting"]
