"""The load model: demand set through the control API is shared by Ready pods in the metrics API."""

from __future__ import annotations

from kubernetes.utils import parse_quantity

from tests.sandbox.kube.helpers import deployment_body, make_cluster, wait_until


def _pod_cpu(custom, selector: str) -> dict[str, int]:
    items = custom.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "default", "pods", label_selector=selector
    )["items"]
    return {
        i["metadata"]["name"]: int(sum(parse_quantity(c["usage"]["cpu"]) for c in i["containers"]) * 1000)
        for i in items
    }


def test_metrics_follow_the_demand(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "load", workers=2)
    apps, custom = cluster.apps(), cluster.custom()
    apps.create_namespaced_deployment("default", deployment_body("api", 2, cpu="500m"))
    wait_until(
        lambda: apps.read_namespaced_deployment("api", "default").status.ready_replicas == 2,
        what="2 replicas",
    )

    idle = _pod_cpu(custom, "app=api")
    assert len(idle) == 2 and all(v <= 2 for v in idle.values())

    clean_sandbox.set_workload("load", "default", "api", 1200)
    usage = _pod_cpu(custom, "app=api")
    assert sorted(usage.values()) == [600, 600]

    apps.patch_namespaced_deployment_scale("api", "default", {"spec": {"replicas": 4}})
    wait_until(
        lambda: sorted(_pod_cpu(custom, "app=api").values()) == [300, 300, 300, 300],
        what="demand shared by 4 pods",
    )

    nodes = custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")["items"]
    assert {n["metadata"]["name"] for n in nodes} == {*cluster.workers, *cluster.control_planes}
    node_cpu = {n["metadata"]["name"]: int(parse_quantity(n["usage"]["cpu"]) * 1000) for n in nodes}
    assert sum(node_cpu[w] for w in cluster.workers) == 1200 + 2 * 80
    one = custom.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", cluster.workers[0])
    assert one["kind"] == "NodeMetrics" and one["usage"]["memory"].endswith("Ki")

    top = cluster.kubectl("top", "pods", "-l", "app=api").stdout.splitlines()
    assert top[0].split()[:2] == ["NAME", "CPU(cores)"]
    assert all(line.split()[1] == "300m" for line in top[1:])

    bad = clean_sandbox._http.post(
        f"{clean_sandbox.control_url}/clusters/load/workloads/default/api", json={"cpu_millicores": -5}
    )
    assert bad.status_code == 400 and "cpu_millicores" in bad.json()["error"]
    missing = clean_sandbox._http.post(
        f"{clean_sandbox.control_url}/clusters/nope/workloads/default/api", json={"cpu_millicores": 5}
    )
    assert missing.status_code == 404
