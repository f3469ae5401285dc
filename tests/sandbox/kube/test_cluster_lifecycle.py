"""Clusters come alive from RunInstances with a bootstrap block; nodes follow their instances."""

from __future__ import annotations

from tests.sandbox.kube.helpers import make_cluster


def test_kubectl_lists_nodes_of_a_cluster_made_by_run_instances(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "alpha", workers=2, instance_type="ecs.g7.xlarge")
    out = cluster.kubectl("get", "nodes", "-o", "wide").stdout
    lines = out.strip().splitlines()
    assert lines[0].split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "INTERNAL-IP" in lines[0]
    assert len(lines) == 4
    for instance_id in cluster.workers:
        row = next(line for line in lines if line.startswith(instance_id))
        assert " Ready " in row and "198.18." in row and "v1.31.0" in row
    cp_row = next(line for line in lines if line.startswith(cluster.control_planes[0]))
    assert "control-plane" in cp_row

    node = cluster.core().read_node(cluster.workers[0])
    labels = node.metadata.labels
    assert labels["topology.kubernetes.io/zone"] == "cn-hangzhou-h"
    assert labels["node.kubernetes.io/instance-type"] == "ecs.g7.xlarge"
    assert labels["yunfleet.io/node-pool"] == "general"
    assert node.spec.provider_id == f"alicloud://cn-hangzhou.{cluster.workers[0]}"
    assert node.status.capacity["cpu"] == "4"
    assert node.status.capacity["memory"] == f"{16 * 1024 * 1024}Ki"
