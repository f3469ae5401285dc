"""kubectl (as a subprocess) against a sandbox cluster: the commands platform teams use every day."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.sandbox.kube.helpers import make_cluster, wait_until

pytestmark = pytest.mark.kubectl

MANIFESTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
                        }
                    ]
                },
            },
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
    },
    {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    },
]


@pytest.fixture
def cluster(clean_sandbox, tmp_path):
    cluster = make_cluster(clean_sandbox, tmp_path, "kctl", workers=2)
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(yaml.safe_dump_all(MANIFESTS))
    out = cluster.kubectl("create", "-f", str(manifest)).stdout
    assert "namespace/shop created" in out and "deployment.apps/web created" in out
    assert "service/web created" in out and "poddisruptionbudget.policy/web created" in out
    wait_until(
        lambda: "2/2" in cluster.kubectl("get", "deployment", "web", "-n", "shop").stdout,
        what="deployment ready",
    )
    return cluster


def test_get_in_every_format(cluster):
    nodes = cluster.kubectl("get", "nodes").stdout
    assert nodes.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    pods = cluster.kubectl("get", "pods", "-n", "shop", "-o", "wide").stdout.splitlines()
    assert pods[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(pods) == 3 and all("Running" in line and "1/1" in line for line in pods[1:])
    every = cluster.kubectl("get", "pods", "-A").stdout.splitlines()
    assert every[0].startswith("NAMESPACE") and all(line.startswith("shop ") for line in every[1:])
    deployments = cluster.kubectl("get", "deployments", "-n", "shop", "-o", "wide").stdout
    assert "web" in deployments and "nginx:1.27" in deployments and "app=web" in deployments
    services = cluster.kubectl("get", "svc", "-n", "shop").stdout
    assert "ClusterIP" in services and "80/TCP" in services
    namespaces = cluster.kubectl("get", "namespaces").stdout
    assert {"default", "kube-system", "shop"} <= {line.split()[0] for line in namespaces.splitlines()[1:]}
    assert "Active" in namespaces
    pdb = cluster.kubectl("get", "pdb", "-n", "shop").stdout.splitlines()
    assert pdb[0].split()[:3] == ["NAME", "MIN", "AVAILABLE"] and pdb[1].split()[:2] == ["web", "1"]
    events = cluster.kubectl("get", "events", "-n", "shop").stdout
    assert "Scheduled" in events and "Successfully assigned shop/web-" in events

    listing = json.loads(cluster.kubectl("get", "pods", "-n", "shop", "-o", "json").stdout)
    assert listing["kind"] == "List" and len(listing["items"]) == 2
    assert all(p["status"]["phase"] == "Running" for p in listing["items"])
    node = json.loads(cluster.kubectl("get", "node", cluster.workers[0], "-o", "json").stdout)
    assert node["spec"]["providerID"] == f"alicloud://cn-hangzhou.{cluster.workers[0]}"


def test_describe_node(cluster):
    out = cluster.kubectl("describe", "node", cluster.workers[0]).stdout
    assert f"Name:               {cluster.workers[0]}" in out
    assert "topology.kubernetes.io/zone=cn-hangzhou-h" in out
    assert f"ProviderID:                   alicloud://cn-hangzhou.{cluster.workers[0]}" in out
    ready = next(line for line in out.splitlines() if line.strip().startswith("Ready "))
    assert ready.split()[1] == "True" and "KubeletReady" in ready
    assert "Non-terminated Pods:" in out and "Allocated resources" in out
    assert "RegisteredNode" in out
    assert f"HolderIdentity:  {cluster.workers[0]}" in out


def test_scale_label_annotate_delete(cluster):
    assert "scaled" in cluster.kubectl("scale", "deployment/web", "-n", "shop", "--replicas=4").stdout
    wait_until(lambda: "4/4" in cluster.kubectl("get", "deployment", "web", "-n", "shop").stdout, what="4/4")
    cluster.kubectl("label", "deployment", "web", "-n", "shop", "tier=frontend")
    cluster.kubectl("annotate", "deployment", "web", "-n", "shop", "yunfleet.io/autoscale=true")
    deployment = json.loads(cluster.kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert deployment["metadata"]["labels"]["tier"] == "frontend"
    assert deployment["metadata"]["annotations"]["yunfleet.io/autoscale"] == "true"
    labelled = cluster.kubectl("get", "deployments", "-n", "shop", "-l", "tier=frontend", "-o", "name").stdout
    assert labelled.strip() == "deployment.apps/web"
    cluster.kubectl("label", "deployment", "web", "-n", "shop", "tier-")
    deployment = json.loads(cluster.kubectl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert "tier" not in deployment["metadata"]["labels"]

    assert "deleted" in cluster.kubectl("delete", "deployment", "web", "-n", "shop").stdout
    wait_until(
        lambda: "No resources found" in cluster.kubectl("get", "pods", "-n", "shop").stderr,
        what="pods removed with their deployment",
    )
    missing = cluster.kubectl("get", "deployment", "web", "-n", "shop", check=False)
    assert missing.returncode == 1 and 'deployments.apps "web" not found' in missing.stderr
    cluster.kubectl("delete", "namespace", "shop")
    assert "shop" not in cluster.kubectl("get", "ns", "-o", "name").stdout


def test_cordon_uncordon_and_drain(cluster):
    node = cluster.workers[0]
    assert "cordoned" in cluster.kubectl("cordon", node).stdout
    assert "SchedulingDisabled" in cluster.kubectl("get", "node", node).stdout
    cordoned = cluster.kubectl("get", "nodes", "--field-selector", "spec.unschedulable=true", "-o", "name")
    assert cordoned.stdout.split() == [f"node/{node}"]
    assert "uncordoned" in cluster.kubectl("uncordon", node).stdout
    schedulable = cluster.kubectl(
        "get", "nodes", "--field-selector", "spec.unschedulable=false", "-o", "name"
    )
    assert len(schedulable.stdout.split()) == 3
    assert "SchedulingDisabled" not in cluster.kubectl("get", "node", node).stdout

    drained = cluster.kubectl("drain", node, "--ignore-daemonsets", "--timeout=60s")
    assert f"node/{node} drained" in drained.stdout
    assert "SchedulingDisabled" in cluster.kubectl("get", "node", node).stdout
    wait_until(
        lambda: "2/2" in cluster.kubectl("get", "deployment", "web", "-n", "shop").stdout,
        what="replacement pods ready",
    )
    on_drained = cluster.kubectl(
        "get", "pods", "-A", "--field-selector", f"spec.nodeName={node}", "-o", "name"
    )
    assert on_drained.stdout.strip() == ""


def test_rolling_update_respects_surge_and_unavailability(cluster):
    core = cluster.core()
    cluster.apps().patch_namespaced_deployment(
        "web",
        "shop",
        {"spec": {"replicas": 4, "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}},
    )
    wait_until(lambda: "4/4" in cluster.kubectl("get", "deployment", "web", "-n", "shop").stdout, what="4/4")
    cluster.kubectl("set", "image", "deployment/web", "-n", "shop", "web=nginx:1.28")
    most, fewest_ready = 0, 4
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod("shop", label_selector="app=web").items
        ready = [
            p
            for p in pods
            if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        most, fewest_ready = max(most, len(pods)), min(fewest_ready, len(ready))
        images = {p.spec.containers[0].image for p in ready}
        if len(pods) == 4 and len(ready) == 4 and images == {"nginx:1.28"}:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the rollout did not finish")
    assert most == 5 and fewest_ready == 4
    assert (
        "successfully rolled out"
        in cluster.kubectl("rollout", "status", "deployment/web", "-n", "shop").stdout
    )
