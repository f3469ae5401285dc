"""Clusters come alive from RunInstances with a bootstrap block; nodes follow their instances."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import SandboxCluster, make_cluster, wait_until


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


def test_only_workers_with_the_cluster_join_token_join(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "tokens", workers=1)
    intruder = SandboxCluster(clean_sandbox, "tokens", tmp_path / "other")
    stranger = intruder.add_workers(1)  # same cluster name, different join token
    good = cluster.add_workers(1)
    cluster.wait_ready_nodes(3)
    names = {n.metadata.name for n in cluster.core().list_node().items}
    assert good[0] in names and stranger[0] not in names


def test_a_decommissioned_cluster_is_forgotten_and_a_new_one_starts_empty(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "reborn", workers=1)
    cluster.core().create_namespace({"metadata": {"name": "leftover"}})
    cluster.delete_instances(cluster.control_planes + cluster.workers)

    def gone():
        try:
            cluster.core().list_namespace()
        except ApiException as error:
            return error.status == 404
        return False

    wait_until(gone, what="cluster forgotten")
    again = make_cluster(clean_sandbox, tmp_path / "again", "reborn", workers=0)
    names = {n.metadata.name for n in again.core().list_namespace().items}
    assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}
    with pytest.raises(ApiException) as info:
        cluster.core().list_namespace()  # the old admin token is not the new cluster's
    assert info.value.status == 401
