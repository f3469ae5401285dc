"""Node bootstrap end to end: what a real region would see of a provisioned cluster's nodes.

The session's shared small cluster (tests/fixtures/small_cluster.py, provisioned through the REST
API), then only public interfaces: every RunInstances of its provisioning run asked for the node RAM
role and session-token metadata; the user-data ECS hands out (DescribeUserData) holds no private key,
admin credential or token; each node read its KMS delivery secret once; each worker batch made its
own bootstrap token; the admin kubeconfig authenticates with a client certificate. The fixture's
teardown decommissions it and checks that nothing tagged is left.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from alibabacloud_ecs20140526 import models as ecs_models

from tests.fixtures.provisioning import all_calls, tagged_inventory
from tests.fixtures.small_cluster import SmallCluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def test_nodes_bootstrap_through_kms_with_hardened_metadata(
    platform: Any, small_cluster: SmallCluster, tmp_path: Path
) -> None:
    cluster = small_cluster.name
    calls = all_calls(platform.sandbox, small_cluster.calls_since, small_cluster.calls_until)
    zones = len(small_cluster.conf["zones"])

    runs = [c for c in calls if c["action"] == "RunInstances"]
    # one control plane batch, one worker batch per zone of the pool
    assert len(runs) == 1 + zones and all(c["status"] == 200 for c in runs)
    for call in runs:
        assert call["params"]["HttpTokens"] == "required" and call["params"]["HttpEndpoint"] == "enabled"
        assert call["params"]["RamRoleName"] == "yunfleet-node"
    created = [c for c in calls if c["product"] == "kms" and c["action"] == "CreateSecret"]
    reads = [c for c in calls if c["action"] == "GetSecretValue"]
    assert len(created) == 1 + zones and all(
        c["params"]["SecretName"].startswith(f"yunfleet/{cluster}/") for c in created
    )
    instances = [i["id"] for i in tagged_inventory(platform.sandbox, cluster)["instances"]]
    assert sorted(c["params"]["Caller"] for c in reads) == sorted(f"instance/{i}" for i in instances)
    tokens = [
        c for c in calls if c["product"] == "k8s" and c["action"].endswith("/namespaces/kube-system/secrets")
    ]
    # each worker batch's own bootstrap token
    assert len(tokens) == zones and all(t["status"] == 201 for t in tokens)

    ecs = platform.sandbox.ecs_client()
    for instance_id in instances:
        raw = ecs.describe_user_data(
            ecs_models.DescribeUserDataRequest(region_id="cn-hangzhou", instance_id=instance_id)
        ).body.user_data
        text = base64.b64decode(raw).decode()
        assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" not in text
        assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text)
        assert "admin_token" not in text and "token-auth-file" not in text
        assert f"yunfleet/{cluster}/" in text  # only the name of the delivery secret

    out = subprocess.run(
        [str(Path(sys.executable).parent / "yunfleet"), "kubeconfig", cluster],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    user = yaml.safe_load(out.stdout)["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    path = tmp_path / "kubeconfig"
    path.write_text(out.stdout)
    nodes = subprocess.run(
        ["kubectl", "--kubeconfig", str(path), "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert nodes.returncode == 0, nodes.stderr
    assert len(nodes.stdout.split()) == 1 + small_cluster.conf["node_pools"][0]["desired_size"]
