"""Apply steps with fake hooks: credentials in the registry, and node batches launched with their
delivery secrets (what is asked for, in which order, and that a converged batch asks for nothing)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from include.provisioning.apply import (
    CONTROL_PLANE_BOOTSTRAP_KEY,
    ensure_control_plane_bootstrap,
    ensure_credentials,
    node_pool_rows,
    security_rules,
)
from include.provisioning.bootstrap_settings import BootstrapSettings
from include.provisioning.bootstrap_tokens import new_bootstrap_token
from include.provisioning.cloudinit import parse_user_data
from include.provisioning.delivery import KUBEADM_CONFIG_PATH, parse_bundle
from include.provisioning.node_batches import Placement, ensure_control_plane, ensure_worker_batch, node_spec
from include.provisioning.pki import ClusterCredentials, generate_credentials
from include.provisioning.plan import plan_provision
from tests.include.provisioning.builders import make_request

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CREDS = generate_credentials("demo", now=NOW)
VSW = {"cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j"}
SETTINGS = BootstrapSettings()


@dataclass
class Spec:
    kwargs: dict[str, Any]

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@dataclass
class Instance:
    instance_id: str


@dataclass
class Result:
    instance_ids: list[str]
    created_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"instance_ids": self.instance_ids, "created_ids": self.created_ids}


@dataclass
class FakeEcs:
    """Keeps instances per (role, pool, zone) like the tag lookup of the real hook."""

    existing: dict[tuple[Any, Any, Any], list[str]] = field(default_factory=dict)
    asked: list[dict[str, Any]] = field(default_factory=list)

    def list_cluster_instances(
        self, cluster: str, *, role: str, node_pool: Any, zone_id: str
    ) -> list[Instance]:
        return [Instance(i) for i in self.existing.get((role, node_pool, zone_id), [])]

    def ensure_instances(self, spec: Spec) -> Result:
        kw = spec.kwargs
        self.asked.append(kw)
        key = (kw["role"], kw["node_pool"], kw["zone_id"])
        have = self.existing.setdefault(key, [])
        created = [f"i-{kw['zone_id'][-1]}{len(have) + n}" for n in range(kw["count"] - len(have))]
        have.extend(created)
        return Result(sorted(have), created)


@dataclass
class FakeKms:
    secrets: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def create_secret(self, name: str, data: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(name)
        created = name not in self.secrets
        self.secrets.setdefault(name, data)
        assert kw["tags"] == {"yunfleet:cluster": "demo", "yunfleet:purpose": "node-bootstrap"}
        return {"secret_name": name, "created": created}


@dataclass
class FakeKube:
    tokens: list[Any] = field(default_factory=list)

    def create_bootstrap_token(self, *, ttl: dt.timedelta, description: str) -> Any:
        token = new_bootstrap_token(NOW, ttl)
        self.tokens.append(token)
        return token


@dataclass
class FakeRegistry:
    stored: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] = field(default_factory=dict)

    def require_cluster(self, name: str) -> Any:
        return type("Record", (), {"has_credentials": bool(self.stored)})()

    def get_credentials(self, name: str) -> dict[str, Any]:
        return dict(self.stored)

    def put_credentials(self, name: str, data: dict[str, Any]) -> None:
        self.stored = dict(data)

    def update_endpoints(self, name: str, **kw: Any) -> None:
        self.endpoints.update(kw)


def kubeadm_docs(kms: FakeKms, name: str) -> dict[str, dict[str, Any]]:
    import yaml

    files = {f.path: f.content for f in parse_bundle(kms.secrets[name])}
    return {d["kind"]: d for d in yaml.safe_load_all(files[KUBEADM_CONFIG_PATH])}


def run_cp(ecs: FakeEcs, kms: FakeKms, request: Any, registry: FakeRegistry | None = None) -> dict[str, Any]:
    registry = registry or FakeRegistry({"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem})
    return ensure_control_plane(
        ecs,
        kms,
        Spec,
        request=request,
        plan=plan_provision(request),
        creds=CREDS,
        control_plane=lambda: ensure_control_plane_bootstrap(registry, request.cluster_name, NOW),
        domain="fleet.example.com",
        vswitches=VSW,
        security_group_id="sg-1",
        image_id="img",
        settings=SETTINGS,
        nonce_for=lambda key: f"run-1/{key}",
        now=NOW,
    )


def test_three_masters_init_then_join_with_one_shared_token_each_through_its_secret() -> None:
    ecs, kms = FakeEcs(), FakeKms()
    result = run_cp(ecs, kms, make_request())
    assert len(result["created_ids"]) == 3 and len(result["secret_names"]) == 3
    assert [a["zone_id"] for a in ecs.asked] == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    assert all(a["ram_role_name"] == "yunfleet-node" for a in ecs.asked)
    names = [
        json.loads(parse_user_data(a["user_data"])["write_files"][0]["content"])["secret_name"]
        for a in ecs.asked
    ]
    assert names == result["secret_names"] and all(n.startswith("yunfleet/demo/") for n in names)
    first = kubeadm_docs(kms, names[0])
    joins = [kubeadm_docs(kms, n)["JoinConfiguration"] for n in names[1:]]
    token = first["InitConfiguration"]["bootstrapTokens"][0]["token"]
    key = first["InitConfiguration"]["certificateKey"]
    assert all(j["discovery"]["bootstrapToken"]["token"] == token for j in joins)
    assert all(j["controlPlane"]["certificateKey"] == key for j in joins)
    assert {f.path for f in parse_bundle(kms.secrets[names[0]])} >= {"/etc/kubernetes/pki/ca.key"}
    assert all(
        "/etc/kubernetes/pki/ca.key" not in {f.path for f in parse_bundle(kms.secrets[n])} for n in names[1:]
    )


def test_masters_in_one_zone_grow_one_by_one_and_a_rerun_creates_nothing() -> None:
    ecs, kms = FakeEcs(), FakeKms()
    request = make_request(
        zones=["cn-hangzhou-h"],
        node_pools=[
            {"name": "p", "instance_type": "ecs.g7.xlarge", "min_size": 0, "max_size": 2, "desired_size": 1}
        ],
    )
    registry = FakeRegistry({"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem})
    first = run_cp(ecs, kms, request, registry)
    assert [a["count"] for a in ecs.asked] == [1, 2, 3]
    secrets_before, asked_before = dict(kms.secrets), len(ecs.asked)
    again = run_cp(ecs, kms, request, registry)
    assert again == {"instance_ids": first["instance_ids"], "created_ids": [], "secret_names": []}
    assert kms.secrets == secrets_before and len(ecs.asked) == asked_before


def test_a_retried_control_plane_step_reuses_the_stored_token_and_key() -> None:
    registry = FakeRegistry({"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem})
    first = ensure_control_plane_bootstrap(registry, "demo", NOW)
    assert ensure_control_plane_bootstrap(registry, "demo", NOW + dt.timedelta(minutes=80)) == first
    later = ensure_control_plane_bootstrap(registry, "demo", NOW + dt.timedelta(minutes=100))
    assert later.token != first.token and later.certificate_key != first.certificate_key
    assert registry.stored[CONTROL_PLANE_BOOTSTRAP_KEY]["token"]["token_id"] == later.token.token_id
    assert registry.stored["ca_key_pem"] == CREDS.ca_key_pem


def test_a_worker_batch_gets_a_fresh_token_only_when_workers_are_missing() -> None:
    ecs, kms, kube = FakeEcs(), FakeKms(), FakeKube()
    request = make_request()
    item = next(i for i in plan_provision(request).worker_batches())
    spec = node_spec(request, item, "fleet.example.com")

    def run(count: int, nonce: str) -> dict[str, Any]:
        return ensure_worker_batch(
            ecs,
            kms,
            kube,
            Spec,
            node=spec,
            count=count,
            batch_key=item.key,
            nonce=nonce,
            placement=Placement("vsw-h", "sg-1", "img"),
            creds=CREDS,
            settings=SETTINGS,
        )

    first = run(2, "run-1")
    assert len(kube.tokens) == 1 and first["secret_name"] in kms.secrets
    join = kubeadm_docs(kms, first["secret_name"])["JoinConfiguration"]
    assert join["discovery"]["bootstrapToken"]["token"] == kube.tokens[0].value
    assert join["discovery"]["bootstrapToken"]["caCertHashes"] == [CREDS.ca_hash]
    assert "controlPlane" not in join
    assert run(2, "run-2")["secret_name"] is None and len(kube.tokens) == 1  # converged: no token, no secret
    weeks_later = run(3, "scale-up-7")  # one more worker: a new token and a new secret
    assert len(kube.tokens) == 2 and weeks_later["secret_name"] != first["secret_name"]
    assert len(weeks_later["created_ids"]) == 1


def test_credentials_are_made_once_and_the_admin_certificate_is_renewed_before_expiry() -> None:
    registry = FakeRegistry()
    creds = ensure_credentials(registry, "demo", "1.31", NOW)
    assert registry.endpoints["ca_cert"] == creds.ca_cert_pem
    assert ensure_credentials(registry, "demo", "1.31", NOW + dt.timedelta(days=300)) == creds
    renewed = ensure_credentials(registry, "demo", "1.31", NOW + dt.timedelta(days=340))
    assert renewed.ca_key_pem == creds.ca_key_pem and renewed.admin_cert_pem != creds.admin_cert_pem
    legacy = FakeRegistry(
        {"ca_cert_pem": CREDS.ca_cert_pem, "ca_key_pem": CREDS.ca_key_pem, "admin_token": "old"}
    )
    upgraded = ensure_credentials(legacy, "demo", "1.31", NOW)
    assert upgraded.admin_cert_pem and "admin_token" not in legacy.stored
    assert ClusterCredentials.from_json(legacy.stored) == upgraded


def test_bad_bootstrap_settings_fail_before_any_call() -> None:
    from include.errors import ConfigurationError

    for extra, key in [
        ({"instance_ram_role": "bad role!"}, "instance_ram_role"),
        ({"kms_node_endpoint": "kms vpc"}, "kms_node_endpoint"),
        ({"kube_apt_repository": "ftp://mirror/"}, "kube_apt_repository"),
        ({"kube_image_repository": "https://registry.example.com/k8s"}, "kube_image_repository"),
    ]:
        with pytest.raises(ConfigurationError, match=key):
            BootstrapSettings.from_extra(extra)
    settings = BootstrapSettings.from_extra(
        {
            "kube_apt_repository": "https://mirror.internal/k8s/v{minor}/deb/",
            "kube_image_repository": "reg.internal:5000/k8s",
        }
    )
    sources = settings.sources("cn-hangzhou", "1.30")
    assert sources.apt_repository == "https://mirror.internal/k8s/v1.30/deb/"
    assert sources.pause_image == "reg.internal:5000/k8s/pause:3.9"


def test_security_rules_and_pool_rows() -> None:
    rules = security_rules("198.18.0.0/15")
    assert {(r["ip_protocol"], r["port_range"]) for r in rules} == {("ALL", "-1/-1"), ("TCP", "6443/6443")}
    rows = node_pool_rows(make_request())
    general = [r for r in rows if r["name"] == "general"]
    assert [(r["min_size"], r["desired_size"], r["max_size"]) for r in general] == [
        (1, 2, 2),
        (0, 1, 2),
        (0, 1, 2),
    ]
    for r in rows:
        assert r["min_size"] <= r["desired_size"] <= r["max_size"]
