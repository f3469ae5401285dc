"""Verbs, selectors, patches, subresources and Status errors through the official kubernetes client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.helpers import deployment_body, make_cluster, wait_until


@pytest.fixture
def cluster(clean_sandbox, tmp_path):
    return make_cluster(clean_sandbox, tmp_path, "verbs", workers=2)


def _error(call) -> tuple[int, dict]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


def _pod(name: str, labels: dict[str, str] | None = None, cpu: str = "100m") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}},
                }
            ]
        },
    }


def test_namespace_and_pod_crud_with_selectors(cluster):
    core = cluster.core()
    core.create_namespace({"metadata": {"name": "team-a", "labels": {"team": "a"}}})
    assert core.read_namespace("team-a").status.phase == "Active"
    assert [n.metadata.name for n in core.list_namespace(label_selector="team=a").items] == ["team-a"]

    core.create_namespaced_pod("team-a", _pod("web-1", {"app": "web", "tier": "front"}))
    core.create_namespaced_pod("team-a", _pod("web-2", {"app": "web", "tier": "back"}))
    core.create_namespaced_pod("team-a", _pod("db-1", {"app": "db"}))
    running = wait_until(
        lambda: (
            [p for p in core.list_namespaced_pod("team-a").items if p.status.phase == "Running"]
            if len([p for p in core.list_namespaced_pod("team-a").items if p.status.phase == "Running"]) == 3
            else None
        ),
        what="3 running pods",
    )
    assert all(p.spec.node_name in cluster.workers for p in running)
    assert all(p.status.pod_ip.startswith("10.244.") for p in running)

    names = lambda pods: sorted(p.metadata.name for p in pods.items)  # noqa: E731
    assert names(core.list_namespaced_pod("team-a", label_selector="app=web")) == ["web-1", "web-2"]
    assert names(core.list_namespaced_pod("team-a", label_selector="app in (web,db),tier!=back")) == [
        "db-1",
        "web-1",
    ]
    assert names(core.list_namespaced_pod("team-a", label_selector="!tier")) == ["db-1"]
    assert names(core.list_namespaced_pod("team-a", field_selector="metadata.name=web-2")) == ["web-2"]
    assert names(core.list_pod_for_all_namespaces(field_selector="status.phase=Running")) == [
        "db-1",
        "web-1",
        "web-2",
    ]
    node = core.read_namespaced_pod("web-1", "team-a").spec.node_name
    on_node = names(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}"))
    assert "web-1" in on_node
    assert set(on_node) < {"db-1", "web-1", "web-2"} or len(on_node) == 3

    status, body = _error(lambda: core.list_namespaced_pod("team-a", field_selector="spec.hostname=x"))
    assert status == 400 and body["reason"] == "BadRequest" and "field label not supported" in body["message"]

    deleted = core.delete_namespaced_pod("db-1", "team-a")
    assert deleted.metadata.name == "db-1"
    status, body = _error(lambda: core.read_namespaced_pod("db-1", "team-a"))
    assert status == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "db-1" not found',
        "reason": "NotFound",
        "details": {"name": "db-1", "kind": "pods"},
        "code": 404,
    }

    core.delete_namespace("team-a")
    assert _error(lambda: core.read_namespaced_pod("web-1", "team-a"))[0] == 404
    assert _error(lambda: core.read_namespace("team-a"))[0] == 404


def test_conflicts_and_resource_versions(cluster):
    apps = cluster.apps()
    created = apps.create_namespaced_deployment("default", deployment_body("api", 1))
    rv = int(created.metadata.resource_version)
    status, body = _error(lambda: apps.create_namespaced_deployment("default", deployment_body("api", 1)))
    assert status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'deployments.apps "api" already exists'

    current = apps.read_namespaced_deployment("api", "default")
    current.spec.replicas = 2
    updated = apps.replace_namespaced_deployment("api", "default", current)
    assert int(updated.metadata.resource_version) > rv
    assert updated.metadata.generation == 2
    current.spec.replicas = 3  # still carries the old resourceVersion
    status, body = _error(lambda: apps.replace_namespaced_deployment("api", "default", current))
    assert status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]

    listing = apps.list_namespaced_deployment("default")
    assert int(listing.metadata.resource_version) >= int(updated.metadata.resource_version)


def test_validation_errors_are_422_with_causes(cluster):
    apps, core = cluster.apps(), cluster.core()
    bad = deployment_body("broken", -1)
    status, body = _error(lambda: apps.create_namespaced_deployment("default", bad))
    assert status == 422 and body["reason"] == "Invalid"
    assert body["details"]["kind"] == "Deployment"
    assert {
        "reason": "FieldValueInvalid",
        "field": "spec.replicas",
        "message": "Invalid value: -1: must be greater than or equal to 0",
    } in body["details"]["causes"]

    mismatched = deployment_body("mismatch", 1)
    mismatched["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    status, body = _error(lambda: apps.create_namespaced_deployment("default", mismatched))
    assert status == 422 and "`selector` does not match template `labels`" in body["message"]

    status, body = _error(lambda: core.create_namespaced_pod("default", _pod("Bad_Name")))
    assert status == 422 and body["details"]["causes"][0]["field"] == "metadata.name"

    pod = _pod("q")
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    assert _error(lambda: core.create_namespaced_pod("default", pod))[0] == 422
    assert _error(lambda: core.create_namespaced_pod("missing-ns", _pod("x")))[0] == 404


def test_patch_types(cluster):
    apps = cluster.apps()
    body = deployment_body("patchme", 1)
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    apps.create_namespaced_deployment("default", body)

    # strategic merge: the container list merges by name, env by name
    apps.patch_namespaced_deployment(
        "patchme",
        "default",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "app", "image": "nginx:1.28", "env": [{"name": "B", "value": "2"}]}
                        ]
                    }
                }
            }
        },
    )
    container = apps.read_namespaced_deployment("patchme", "default").spec.template.spec.containers[0]
    assert container.image == "nginx:1.28"
    assert container.resources.requests["cpu"] == "500m"
    assert sorted(e.name for e in container.env) == ["A", "B"]

    # merge patch: lists are replaced, null deletes
    apps.patch_namespaced_deployment(
        "patchme",
        "default",
        {"metadata": {"labels": {"app": None, "tier": "x"}}},
        _content_type="application/merge-patch+json",
    )
    assert apps.read_namespaced_deployment("patchme", "default").metadata.labels == {"tier": "x"}

    # JSON patch
    apps.patch_namespaced_deployment(
        "patchme",
        "default",
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/annotations", "value": {"yunfleet.io/autoscale": "true"}},
        ],
    )
    patched = apps.read_namespaced_deployment("patchme", "default")
    assert patched.spec.replicas == 3
    assert patched.metadata.annotations == {"yunfleet.io/autoscale": "true"}
    status, body = _error(
        lambda: apps.patch_namespaced_deployment(
            "patchme", "default", [{"op": "test", "path": "/spec/replicas", "value": 9}]
        )
    )
    assert status == 422

    # a patch carrying a stale resourceVersion is a conflict
    status, body = _error(
        lambda: apps.patch_namespaced_deployment(
            "patchme",
            "default",
            {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
            _content_type="application/merge-patch+json",
        )
    )
    assert status == 409


def test_scale_subresource_and_deployment_status(cluster):
    apps, core = cluster.apps(), cluster.core()
    apps.create_namespaced_deployment("default", deployment_body("scaled", 1))
    scale = apps.read_namespaced_deployment_scale("scaled", "default")
    assert scale.spec.replicas == 1 and scale.status.selector == "app=scaled"
    apps.patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": 3}})
    wait_until(
        lambda: apps.read_namespaced_deployment("scaled", "default").status.ready_replicas == 3,
        what="3 ready replicas",
    )
    scale = apps.read_namespaced_deployment_scale("scaled", "default")
    scale.spec.replicas = 2
    apps.replace_namespaced_deployment_scale("scaled", "default", scale)
    wait_until(
        lambda: len(core.list_namespaced_pod("default", label_selector="app=scaled").items) == 2,
        what="scale down to 2 pods",
    )
    deployment = apps.read_namespaced_deployment("scaled", "default")
    assert deployment.status.observed_generation == deployment.metadata.generation
    pods = core.list_namespaced_pod("default", label_selector="app=scaled").items
    assert all(p.metadata.owner_references[0].uid == deployment.metadata.uid for p in pods)
    assert all(p.metadata.owner_references[0].controller for p in pods)

    apps.delete_namespaced_deployment("scaled", "default")
    wait_until(
        lambda: not core.list_namespaced_pod("default", label_selector="app=scaled").items,
        what="pods garbage-collected",
    )


def test_services_endpoints_and_events(cluster):
    apps, core = cluster.apps(), cluster.core()
    apps.create_namespaced_deployment("default", deployment_body("shop", 2))
    service = core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "shop"},
            "spec": {"selector": {"app": "shop"}, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    )
    assert service.spec.type == "ClusterIP"
    assert service.spec.cluster_ip.startswith("10.")

    def endpoint_ips():
        subsets = core.read_namespaced_endpoints("shop", "default").subsets or []
        return [a.ip for s in subsets for a in s.addresses or []]

    ips = wait_until(lambda: endpoint_ips() if len(endpoint_ips()) == 2 else None, what="2 endpoints")
    pods = core.list_namespaced_pod("default", label_selector="app=shop").items
    assert sorted(ips) == sorted(p.status.pod_ip for p in pods)
    assert core.read_namespaced_endpoints("shop", "default").subsets[0].ports[0].port == 80

    api = core.read_namespaced_endpoints("kubernetes", "default").subsets[0]
    control_plane = core.read_node(cluster.control_planes[0]).status.addresses[0].address
    assert [a.ip for a in api.addresses] == [control_plane] and api.ports[0].port == 6443

    events = core.list_namespaced_event("default").items
    reasons = {e.reason for e in events}
    assert {"Scheduled", "ScalingReplicaSet"} <= reasons
    scheduled = [e for e in events if e.reason == "Scheduled"]
    assert scheduled[0].involved_object.kind == "Pod"
    by_pod = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={pods[0].metadata.name},involvedObject.kind=Pod"
    )
    assert by_pod.items and all(e.involved_object.name == pods[0].metadata.name for e in by_pod.items)


def test_auth_and_unreachable_api(cluster, clean_sandbox):
    bad = cluster.workdir / "bad.kubeconfig"
    cluster.kubeconfig, good = bad, cluster.kubeconfig
    cluster.write_kubeconfig(token="not-the-token")
    status, body = _error(lambda: cluster.core().list_node())
    assert status == 401 and body["reason"] == "Unauthorized"
    cluster.write_kubeconfig(token=cluster.join_token)
    assert _error(lambda: cluster.core().list_node())[0] == 403
    cluster.kubeconfig = good
    assert k8s.VersionApi(cluster.api_client()).get_code().git_version == "v1.31.0"

    cluster.stop_instances(cluster.control_planes)
    status, body = wait_until(lambda: _error(lambda: cluster.core().list_node()), what="API down")
    assert status == 503 and body["reason"] == "ServiceUnavailable"


def test_watch_streams_changes(cluster):
    from kubernetes import watch

    core = cluster.core()
    start = core.list_namespaced_pod("default").metadata.resource_version
    core.create_namespaced_pod("default", _pod("watched", {"app": "watched"}))
    seen = []
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_pod,
        "default",
        label_selector="app=watched",
        resource_version=start,
        timeout_seconds=5,
    ):
        seen.append((event["type"], event["object"].status.phase))
        if event["object"].status.phase == "Running":
            stream.stop()
    assert seen[0] == ("ADDED", "Pending")
    assert seen[-1] == ("MODIFIED", "Running")
