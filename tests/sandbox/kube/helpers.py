"""Helpers for the Kubernetes sandbox tests: clusters made as the product makes them (a KMS delivery
secret per batch through the KMS SDK, the product's user-data naming it, RunInstances through the ECS
SDK with a RAM role and hardened metadata), client-certificate kubeconfigs, the kubernetes client and
kubectl."""

from __future__ import annotations

import base64
import datetime as dt
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
from alibabacloud_kms20160120 import models as kms_models
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from include.loopback import PROXY_VARIABLES
from include.provisioning.cloudinit import Delivery
from include.provisioning.cloudinit import render_user_data as product_user_data
from include.provisioning.delivery import Endpoint, init_bundle, join_bundle, new_control_plane_bootstrap
from include.provisioning.node import NodeSpec
from include.provisioning.pki import generate_credentials, pem_b64
from include.provisioning.sources import node_sources
from tests.sandbox.helpers import REGION, create_security_group, run_instances

T = TypeVar("T")


ROLE = "yunfleet-node"
HARDENED = {"ram_role_name": ROLE, "http_endpoint": "enabled", "http_tokens": "required"}


def node(
    cluster: str, role: str, node_pool: str | None = None, zone: str = "cn-hangzhou-h", index: int = 0
) -> NodeSpec:
    return NodeSpec(
        cluster, REGION, "fleet.example.com", "1.31", role, zone, "ecs.g7.large", node_pool, index
    )


def put_secret(sandbox: Any, name: str, data: str) -> None:
    """CreateSecret through the official KMS SDK, as the product does."""
    sandbox.kms_client().create_secret(
        kms_models.CreateSecretRequest(secret_name=name, secret_data=data, version_id="v1")
    )


def render_user_data(spec: NodeSpec, secret_name: str) -> str:
    """The product's user-data for ``spec``, naming its delivery secret."""
    return product_user_data(spec, node_sources(REGION, "1.31"), Delivery(secret_name))


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
        now = dt.datetime.now(dt.UTC)
        self.creds = generate_credentials(name)
        # the control plane's bootstrap token; workers join with it too unless a test gives another
        self.control_plane = new_control_plane_bootstrap(now)
        self.join_token = self.control_plane.token.value
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.security_group = create_security_group(sandbox, f"{name}-sg")
        self.control_planes: list[str] = []
        self.workers: list[str] = []
        self.secret_names: list[str] = []
        self.kubeconfig = workdir / f"{name}.kubeconfig"
        self.write_kubeconfig()

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.sandbox.kube_port}/k8s/{self.name}"

    def write_kubeconfig(self, token: str | None = None) -> Path:
        """A kubeconfig for the admin client certificate, or for bearer ``token`` when given."""
        ca = Path(self.sandbox.state_dir, "ca.crt")
        ca_data = base64.b64encode(ca.read_bytes()).decode() if ca.exists() else ""
        user: dict[str, str] = (
            {"token": token}
            if token
            else {
                "client-certificate-data": pem_b64(self.creds.admin_cert_pem),
                "client-key-data": pem_b64(self.creds.admin_key_pem),
            }
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": self.name,
            "clusters": [
                {"name": self.name, "cluster": {"server": self.server, "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": f"{self.name}-admin", "user": user}],
            "contexts": [
                {"name": self.name, "context": {"cluster": self.name, "user": f"{self.name}-admin"}}
            ],
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        return self.kubeconfig

    # -- instances ------------------------------------------------------------------------------

    def bundle(self, spec: NodeSpec, token: str | None = None) -> str:
        endpoint = Endpoint(f"api.{self.name}.fleet.example.com", 6443)
        if spec.initialises:
            return init_bundle(
                spec,
                self.creds,
                self.control_plane,
                endpoint=endpoint,
                kubernetes_release="v1.31.10",
                image_repository="registry.cn-hangzhou.aliyuncs.com/google_containers",
                now=dt.datetime.now(dt.UTC),
            )
        if token is None:
            join = self.control_plane.token
        else:
            token_id, secret = token.split(".")
            join = type(self.control_plane.token)(token_id, secret, self.control_plane.token.expires_at)
        return join_bundle(
            spec,
            token=join,
            ca_hash=self.creds.ca_hash,
            endpoint=endpoint,
            certificate_key=self.control_plane.certificate_key if spec.role == "control-plane" else None,
        )

    def _run(
        self,
        role: str,
        amount: int,
        zone: str,
        instance_type: str,
        node_pool: str | None,
        token: str | None = None,
        **fields: Any,
    ) -> list[str]:
        spec = node(
            self.name, role, node_pool, zone, index=len(self.control_planes) if role == "control-plane" else 0
        )
        secret_name = f"yunfleet/{self.name}/{role}-{secrets.token_hex(4)}"
        put_secret(self.sandbox, secret_name, self.bundle(spec, token))
        self.secret_names.append(secret_name)
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
            user_data=render_user_data(spec, secret_name),
            instance_name=f"{self.name}-{node_pool or role}",
            **{**HARDENED, **fields},
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
        token: str | None = None,
        **fields: Any,
    ) -> list[str]:
        """Workers joining with the control plane's token, or ``token``; ``fields`` go to RunInstances."""
        ids = self._run("worker", amount, zone, instance_type, node_pool, token, **fields)
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
