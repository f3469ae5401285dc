"""The scheduler against capacity: Unschedulable pods, a new worker from ECS, nodeSelector."""

from __future__ import annotations

from tests.sandbox.kube.helpers import deployment_body, make_cluster, wait_until


def _pods(core, selector):
    return core.list_namespaced_pod("default", label_selector=selector).items


def _scheduled(pod) -> str | None:
    for cond in pod.status.conditions or []:
        if cond.type == "PodScheduled":
            return cond.status
    return None


def test_scale_up_beyond_capacity_then_a_new_worker_schedules_the_rest(clean_sandbox, tmp_path):
    # one ecs.g7.large worker: 2 CPUs; each pod asks for 600m -> 3 fit, the rest stay Pending
    cluster = make_cluster(clean_sandbox, tmp_path, "capacity", workers=1)
    apps, core = cluster.apps(), cluster.core()
    apps.create_namespaced_deployment("default", deployment_body("batch", 5, cpu="600m"))

    def pending():
        pods = _pods(core, "app=batch")
        stuck = [p for p in pods if _scheduled(p) == "False"]
        return stuck if len(pods) == 5 and len(stuck) == 2 else None

    stuck = wait_until(pending, what="2 unschedulable pods")
    condition = next(c for c in stuck[0].status.conditions if c.type == "PodScheduled")
    assert condition.reason == "Unschedulable"
    assert "Insufficient cpu" in condition.message
    assert condition.message.startswith("0/2 nodes are available")
    assert all(p.status.phase == "Pending" and p.spec.node_name is None for p in stuck)
    failed = core.list_namespaced_event("default", field_selector="reason=FailedScheduling").items
    assert failed and failed[0].type == "Warning"
    wait_until(
        lambda: apps.read_namespaced_deployment("batch", "default").status.ready_replicas == 3,
        what="the 3 pods that fit running",
    )
    assert len([p for p in _pods(core, "app=batch") if _scheduled(p) == "False"]) == 2

    new = cluster.add_workers(1, zone="cn-hangzhou-i", node_pool="general")
    wait_until(
        lambda: apps.read_namespaced_deployment("batch", "default").status.ready_replicas == 5,
        timeout=20,
        what="all 5 replicas ready after the new worker joined",
    )
    placed = {p.spec.node_name for p in _pods(core, "app=batch")}
    assert new[0] in placed
    node = core.read_node(new[0])
    assert node.metadata.labels["topology.kubernetes.io/zone"] == "cn-hangzhou-i"


def test_node_selector_on_zone_and_pool_and_control_plane_taint(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "selectors", workers=1, zone="cn-hangzhou-h")
    cluster.add_workers(1, zone="cn-hangzhou-j", node_pool="batch")
    cluster.wait_ready_nodes(3)
    apps, core = cluster.apps(), cluster.core()
    apps.create_namespaced_deployment(
        "default",
        deployment_body(
            "zonal", 2, cpu="100m", node_selector={"topology.kubernetes.io/zone": "cn-hangzhou-j"}
        ),
    )
    apps.create_namespaced_deployment(
        "default",
        deployment_body("pooled", 2, cpu="100m", node_selector={"yunfleet.io/node-pool": "general"}),
    )
    apps.create_namespaced_deployment(
        "default", deployment_body("nowhere", 1, cpu="100m", node_selector={"yunfleet.io/node-pool": "gpu"})
    )
    wait_until(
        lambda: all(
            apps.read_namespaced_deployment(n, "default").status.ready_replicas == 2
            for n in ("zonal", "pooled")
        ),
        what="selected deployments ready",
    )
    batch_node = cluster.workers[1]
    assert {p.spec.node_name for p in _pods(core, "app=zonal")} == {batch_node}
    assert {p.spec.node_name for p in _pods(core, "app=pooled")} == {cluster.workers[0]}
    nowhere = wait_until(
        lambda: [p for p in _pods(core, "app=nowhere") if _scheduled(p) == "False"], what="unschedulable pod"
    )
    message = next(c for c in nowhere[0].status.conditions if c.type == "PodScheduled").message
    assert "didn't match Pod's node affinity/selector" in message
    assert "untolerated taint {node-role.kubernetes.io/control-plane: }" in message
    control_plane = cluster.control_planes[0]
    assert all(p.spec.node_name != control_plane for p in core.list_pod_for_all_namespaces().items)
