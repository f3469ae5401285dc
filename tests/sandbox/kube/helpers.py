"""Helpers for the Kubernetes sandbox tests: cloud-config with the bootstrap block, clusters made by
RunInstances through the ECS SDK, kubeconfigs, the kubernetes client and kubectl."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from alibabacloud_ecs20140526 import models as ecs_models
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from include.loopback import PROXY_VARIABLES
from tests.sandbox.helpers import REGION, create_security_group, run_instances

T = TypeVar("T")


def render_user_data(
    cluster: str,
    role: str,
    join_token: str,
    admin_token: str | None = None,
    node_pool: str | None = None,
    kubernetes_version: str = "1.31",
) -> str:
    """Base64 of a ``#cloud-config`` document carrying /etc/yunfleet/bootstrap.json."""
    block: dict[str, Any] = {
        "cluster": cluster,
        "role": role,
        "node_pool": node_pool,
        "kubernetes_version": kubernetes_version,
        "join_token": join_token,
    }
    if admin_token is not None:
        block["admin_token"] = admin_token
    document = {
        "write_files": [
            {"path": "/etc/yunfleet/bootstrap.json", "permissions": "0600", "content": json.dumps(block)},
            {"path": "/etc/sysctl.d/99-kubernetes.conf", "content": "net.ipv4.ip_forward = 1\n"},
        ],
        "runcmd": [
            ["kubeadm", "init" if role == "control-plane" else "join", "--config", "/etc/kubeadm.yaml"]
        ],
    }
    text = "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False)
    return base64.b64encode(text.encode()).decode()


def wait_until(
    check: Callable[[], T], timeout: float = 15.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except Exception as error:  # the API may answer 503 while a control plane boots
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
        time.sleep(interval)


class SandboxCluster:
    """A cluster brought up through ECS RunInstances calls, with a kubeconfig written for it."""

    def __init__(self, sandbox: Any, name: str, workdir: Path):
        self.sandbox = sandbox
        self.name = name
        self.admin_token = secrets.token_hex(24)
        self.join_token = f"{secrets.token_hex(3)}.{secrets.token_hex(8)}"
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.security_group = create_security_group(sandbox, f"{name}-sg")
        self.control_planes: list[str] = []
        self.workers: list[str] = []
        self.kubeconfig = workdir / f"{name}.kubeconfig"
        self.write_kubeconfig()

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.sandbox.kube_port}/k8s/{self.name}"

    def write_kubeconfig(self, token: str | None = None) -> Path:
        ca = Path(self.sandbox.state_dir, "ca.crt")
        ca_data = base64.b64encode(ca.read_bytes()).decode() if ca.exists() else ""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": self.name,
            "clusters": [
                {"name": self.name, "cluster": {"server": self.server, "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": f"{self.name}-admin", "user": {"token": token or self.admin_token}}],
            "contexts": [
                {"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin"}}
            ],
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        return self.kubeconfig

    # -- instances ------------------------------------------------------------------------------

    def _run(self, role: str, amount: int, zone: str, instance_type: str, node_pool: str | None) -> list[str]:
        user_data = render_user_data(
            self.name, role, self.join_token, self.admin_token if role == "control-plane" else None, node_pool
        )
        tags = {"yunfleet:cluster": self.name, "yunfleet:role": role}
        if node_pool:
            tags["yunfleet:node-pool"] = node_pool
        return run_instances(
            self.sandbox,
            amount=amount,
            zone=zone,
            instance_type=instance_type,
            tags=tags,
            security_group_id=self.security_group,
            user_data=user_data,
            instance_name=f"{self.name}-{node_pool or role}",
        )

    def add_control_plane(
        self, zone: str = "cn-hangzhou-h", instance_type: str = "ecs.g7.large"
    ) -> list[str]:
        ids = self._run("control-plane", 1, zone, instance_type, None)
        self.control_planes += ids
        return ids

    def add_workers(
        self,
        amount: int = 1,
        zone: str = "cn-hangzhou-h",
        instance_type: str = "ecs.g7.large",
        node_pool: str = "general",
    ) -> list[str]:
        ids = self._run("worker", amount, zone, instance_type, node_pool)
        self.workers += ids
        return ids

    def stop_instances(self, ids: list[str]) -> None:
        self.sandbox.ecs_client().stop_instances(
            ecs_models.StopInstancesRequest(region_id=REGION, instance_id=ids)
        )

    def delete_instances(self, ids: list[str]) -> None:
        self.sandbox.ecs_client().delete_instances(
            ecs_models.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True)
        )

    # -- clients --------------------------------------------------------------------------------

    def api_client(self, kubeconfig: Path | None = None) -> k8s.ApiClient:
        return k8s_config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client())

    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api_client())

    def policy(self) -> k8s.PolicyV1Api:
        return k8s.PolicyV1Api(self.api_client())

    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api_client())

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        if shutil.which("kubectl") is None and os.environ.get("CI") != "true":
            pytest.skip("kubectl is not on the PATH (CI installs it; these tests need it there)")
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["HOME"] = str(self.workdir)
        command = [
            "kubectl",
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.workdir / "kcache"),
            *args,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, input=stdin
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    # -- waiting --------------------------------------------------------------------------------

    def wait_ready_nodes(self, count: int, timeout: float = 20.0) -> list[k8s.V1Node]:
        def ready() -> list[k8s.V1Node]:
            nodes = self.core().list_node().items
            good = [
                n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
            ]
            return good if len(good) >= count else []

        return wait_until(ready, timeout, what=f"{count} Ready nodes in {self.name}")

    def wait_api(self, timeout: float = 20.0) -> None:
        wait_until(lambda: self.core().list_namespace().items, timeout, what=f"API server of {self.name}")


def make_cluster(
    sandbox: Any,
    tmp_path: Path,
    name: str = "demo",
    workers: int = 2,
    zone: str = "cn-hangzhou-h",
    instance_type: str = "ecs.g7.large",
    node_pool: str = "general",
) -> SandboxCluster:
    """A cluster with one control plane and ``workers`` workers, all nodes Ready."""
    cluster = SandboxCluster(sandbox, name, tmp_path)
    cluster.add_control_plane(zone)
    if workers:
        cluster.add_workers(workers, zone=zone, instance_type=instance_type, node_pool=node_pool)
    cluster.write_kubeconfig()
    cluster.wait_api()
    cluster.wait_ready_nodes(1 + workers)
    return cluster


def deployment_body(
    name: str,
    replicas: int,
    cpu: str = "500m",
    memory: str = "256Mi",
    node_selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "name": "http"}],
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ]
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }
