"""Which pods are a Deployment's (owned through a ReplicaSet or by the Deployment itself), and taints:
new replicas are packed in the same run as their scale-up, never onto nodes whose taints they do not
tolerate (a control plane), so one run scales the replicas and buys the nodes they need."""

from __future__ import annotations

import dataclasses

import pytest

from include.capacity.binpack import pack
from include.capacity.model import (
    ADD_NODES,
    SCALE_DEPLOYMENT,
    DeploymentView,
    NodeView,
    PodView,
    Snapshot,
    deployment_of,
)
from include.capacity.placement import tolerates
from include.capacity.plan import plan_capacity
from include.capacity.scaledown import find_unneeded
from tests.include.capacity.factory import BIG, H, I, J, deployment, node, pod, snapshot

CONTROL_PLANE = ("node-role.kubernetes.io/control-plane", "", "NoSchedule")


def control_plane(name: str = "cp1") -> NodeView:
    """A Ready control plane with a lot of free room: no pool label, tainted NoSchedule."""
    return dataclasses.replace(node(name, J, pool_name=None, allocatable=BIG), taints=(CONTROL_PLANE,))


# -- ownership ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner_kind", "owner", "expected"),
    [
        ("ReplicaSet", "web-7d9f", "web"),
        ("ReplicaSet", "web-api-5c8b", "web-api"),
        ("Deployment", "web", "web"),
        ("Deployment", "web-api", "web-api"),
        ("DaemonSet", "agent", None),
        ("StatefulSet", "db", None),
        ("ReplicaSet", "nohash", None),
        (None, None, None),
    ],
)
def test_deployment_of_a_pod(owner_kind: str | None, owner: str | None, expected: str | None) -> None:
    assert deployment_of(pod("p", "n1", owner=owner, owner_kind=owner_kind)) == expected


@pytest.mark.parametrize(
    ("owner_kind", "owner", "namespace", "owned"),
    [
        ("ReplicaSet", "web-7d9f", "shop", True),
        ("Deployment", "web", "shop", True),
        ("Deployment", "web", "other", False),
        ("Deployment", "web-api", "shop", False),
        ("ReplicaSet", "web-api-5c8b", "shop", False),
    ],
)
def test_a_deployment_owns_pods_of_its_replicasets_and_its_own(
    owner_kind: str, owner: str, namespace: str, owned: bool
) -> None:
    view = deployment()
    assert view.owns(pod("p", "n1", owner=owner, owner_kind=owner_kind, namespace=namespace)) is owned


@pytest.mark.parametrize("owner_kind", ["ReplicaSet", "Deployment"])
def test_the_pod_tier_scales_on_pods_owned_either_way(owner_kind: str) -> None:
    owner = "web-7d9f" if owner_kind == "ReplicaSet" else "web"
    nodes = (node("h1", H), node("i1", I))
    # 2 pods of 1000m each using 1000m (100 %) against a 50 % target: the HPA rule wants 4
    pods = tuple(
        pod(f"web-{n.name}", n.name, 1000, owner=owner, owner_kind=owner_kind, usage_m=1000) for n in nodes
    )
    plan = plan_capacity(snapshot(nodes, pods, deployments=(deployment(replicas=2),)))
    (scale,) = [a for a in plan.actions if a.kind == SCALE_DEPLOYMENT]
    assert (scale.previous, scale.replicas) == (2, 4)


# -- taints ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tolerations", "taints", "allowed"),
    [
        ((), (), True),
        ((), (CONTROL_PLANE,), False),
        ((), (("dedicated", "gpu", "NoExecute"),), False),
        ((), (("soft", "", "PreferNoSchedule"),), True),
        ((("node-role.kubernetes.io/control-plane", "Exists", "", "NoSchedule"),), (CONTROL_PLANE,), True),
        ((("node-role.kubernetes.io/control-plane", "Exists", "", ""),), (CONTROL_PLANE,), True),
        ((("", "Exists", "", ""),), (CONTROL_PLANE, ("dedicated", "gpu", "NoExecute")), True),
        ((("node-role.kubernetes.io/control-plane", "Exists", "", "NoExecute"),), (CONTROL_PLANE,), False),
        ((("dedicated", "Equal", "gpu", "NoExecute"),), (("dedicated", "gpu", "NoExecute"),), True),
        ((("dedicated", "Equal", "cpu", "NoExecute"),), (("dedicated", "gpu", "NoExecute"),), False),
        ((("dedicated", "Equal", "gpu", ""),), (("dedicated", "gpu", "NoExecute"), CONTROL_PLANE), False),
    ],
)
def test_tolerations_against_taints(
    tolerations: tuple[tuple[str, str, str, str], ...],
    taints: tuple[tuple[str, str, str], ...],
    allowed: bool,
) -> None:
    assert tolerates(tolerations, taints) is allowed


def busy_workers() -> Snapshot:
    """Two workers, each with one 3000m pod of web using all of it; a control plane with room to spare."""
    nodes = (node("h1", H), node("i1", I), control_plane())
    pods = tuple(
        pod(f"web-7d9f-{n.name}", n.name, 3000, owner="web", owner_kind="Deployment", usage_m=3000)
        for n in nodes[:2]
    )
    return snapshot(nodes, pods, deployments=(deployment(replicas=2, target=50, cpu_m=3000),))


def test_one_run_scales_replicas_and_buys_their_nodes_past_a_tainted_control_plane() -> None:
    plan = plan_capacity(busy_workers())
    (scale,) = [a for a in plan.actions if a.kind == SCALE_DEPLOYMENT]
    assert (scale.previous, scale.replicas) == (2, 4)
    added = [a for a in plan.actions if a.kind == ADD_NODES]
    # two new 3000m replicas: none fits on a 4000m worker with 1000m left, none may use the control plane
    assert sum(a.count for a in added) == 2
    # zone tier: the empty zone j first, then the tie goes to the pool's first zone
    assert sorted(a.zone for a in added) == [H, J]
    assert {p for a in added for p in a.pods} == {"shop/web-new-0", "shop/web-new-1"}


def test_replicas_that_tolerate_the_taint_use_the_control_planes_room() -> None:
    snap = busy_workers()
    tolerant = dataclasses.replace(
        snap.deployments[0],
        tolerations=(("node-role.kubernetes.io/control-plane", "Exists", "", "NoSchedule"),),
    )
    plan = plan_capacity(dataclasses.replace(snap, deployments=(tolerant,)))
    assert [a.kind for a in plan.actions] == [SCALE_DEPLOYMENT]


def test_pending_pods_and_new_replicas_never_go_to_a_tainted_node_that_is_not_ready_yet() -> None:
    booting = dataclasses.replace(control_plane("cp2"), ready=False)
    pods = (pod("job-1", None, 1000, owner="job-1a"),)
    up = pack(pods, snapshot((booting,), pods))
    assert not up.on_existing and [n.pods for n in up.new_nodes] == [("shop/job-1",)]


def test_scale_down_does_not_move_pods_onto_a_tainted_node() -> None:
    nodes = (node("h1", H), control_plane())
    pods = (pod("web-7d9f-a", "h1", 500),)
    unneeded, kept = find_unneeded(snapshot(nodes, pods))
    assert "h1" not in unneeded and "do not all fit" in kept["h1"]
    tolerant = (dataclasses.replace(pods[0], tolerations=(("", "Exists", "", ""),)),)
    unneeded, _ = find_unneeded(snapshot(nodes, tolerant))
    assert unneeded["h1"][1] == ("shop/web-7d9f-a",)


def test_taints_and_tolerations_survive_json() -> None:
    snap = busy_workers()
    tolerant_pod: PodView = dataclasses.replace(snap.pods[0], tolerations=(("", "Exists", "", ""),))
    tolerant: DeploymentView = dataclasses.replace(
        snap.deployments[0], tolerations=(("a", "Equal", "b", "NoSchedule"),)
    )
    snap = dataclasses.replace(snap, pods=(tolerant_pod, *snap.pods[1:]), deployments=(tolerant,))
    back = Snapshot.loads(snap.dumps())
    assert back == snap
    assert back.nodes[2].taints == (CONTROL_PLANE,)
    assert back.deployments[0].template_pod(0).tolerations == (("a", "Equal", "b", "NoSchedule"),)
