"""Nodes get their bootstrap material from KMS with their RAM role, and the API server authenticates
clients by certificate: what joins, what does not, and what the call log shows."""

from __future__ import annotations

import datetime as dt
import json

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_kms20160120 import models as kms_models

from include.provisioning.bootstrap_tokens import new_bootstrap_token, token_secret_manifest
from include.provisioning.pki import generate_credentials
from tests.sandbox.helpers import REGION, instance_statuses
from tests.sandbox.kube.helpers import SandboxCluster, make_cluster, wait_until


def _nodes(cluster: SandboxCluster) -> set[str]:
    return {n.metadata.name for n in cluster.core().list_node().items}


def test_nodes_read_their_secret_once_with_their_role_and_keep_what_they_read(clean_sandbox, tmp_path):
    since = clean_sandbox.calls()["next"]
    cluster = make_cluster(clean_sandbox, tmp_path, "delivery", workers=1)
    reads = [c for c in clean_sandbox.calls(since)["calls"] if c["action"] == "GetSecretValue"]
    assert sorted(r["params"]["Caller"] for r in reads) == sorted(
        f"instance/{i}" for i in cluster.control_planes + cluster.workers
    )
    assert {r["params"]["RamRoleName"] for r in reads} == {"yunfleet-node"} and {
        r["status"] for r in reads
    } == {200}
    described = (
        clean_sandbox.ecs_client()
        .describe_instances(
            ecs_models.DescribeInstancesRequest(region_id=REGION, instance_ids=json.dumps(cluster.workers))
        )
        .body.instances.instance[0]
    )
    assert described.metadata_options.http_tokens == "required"
    for name in cluster.secret_names:  # the product deletes them once the nodes joined
        clean_sandbox.kms_client().delete_secret(
            kms_models.DeleteSecretRequest(secret_name=name, force_delete_without_recovery="true")
        )
    cluster.stop_instances(cluster.workers)
    wait_until(
        lambda: set(instance_statuses(clean_sandbox, cluster.workers).values()) == {"Stopped"}, what="stopped"
    )
    clean_sandbox.ecs_client().start_instances(
        ecs_models.StartInstancesRequest(region_id=REGION, instance_id=cluster.workers)
    )
    cluster.wait_ready_nodes(2, timeout=40)


def test_no_role_no_metadata_no_secret_or_a_wrong_token_means_no_node(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "strict", workers=0)
    no_role = cluster.add_workers(1, ram_role_name=None)
    no_metadata = cluster.add_workers(1, http_endpoint="disabled")
    wrong = cluster.add_workers(1, token="abcdef.0123456789abcdef")
    good = cluster.add_workers(1)
    cluster.wait_ready_nodes(2)
    names = _nodes(cluster)
    assert good[0] in names and not names & {no_role[0], no_metadata[0], wrong[0]}


def test_a_worker_added_later_joins_with_a_token_made_through_the_api(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "later", workers=0)
    fresh = new_bootstrap_token(dt.datetime.now(dt.UTC), dt.timedelta(minutes=30))
    cluster.core().create_namespaced_secret("kube-system", token_secret_manifest(fresh, "scale-up"))
    expired = new_bootstrap_token(dt.datetime.now(dt.UTC) - dt.timedelta(hours=3), dt.timedelta(hours=1))
    cluster.core().create_namespaced_secret("kube-system", token_secret_manifest(expired, "old"))
    stale = cluster.add_workers(1, token=expired.value)
    added = cluster.add_workers(1, token=fresh.value)
    cluster.wait_ready_nodes(2)
    assert added[0] in _nodes(cluster) and stale[0] not in _nodes(cluster)
    state = json.dumps(clean_sandbox.state())
    assert fresh.secret not in state


def test_only_this_clusters_certificates_are_admins(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "certs", workers=0)
    other = make_cluster(clean_sandbox, tmp_path / "other", "certs2", workers=0)
    cluster.creds, saved = other.creds, cluster.creds  # a certificate of another cluster's CA
    cluster.write_kubeconfig()
    status = wait_until(lambda: _status(lambda: cluster.core().list_node()), what="401")
    assert status == 401
    cluster.creds = generate_credentials("certs")  # issued by an unknown CA: refused in the handshake
    cluster.write_kubeconfig()
    assert _status(lambda: cluster.core().list_node()) in (401, "tls")
    cluster.creds = saved
    cluster.write_kubeconfig()
    assert cluster.core().list_node().items


def _status(call):
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import MaxRetryError, SSLError

    try:
        call()
    except ApiException as error:
        return error.status
    except (MaxRetryError, SSLError, OSError):
        return "tls"
    return 200
