"""Node batches launched with their delivery secrets, with fake hooks: what is asked for, in which
order, and that a converged batch asks for nothing (``flows/nodes.py``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from flows.nodes import ensure_control_plane, ensure_worker_batch
from include.provisioning.apply import ensure_control_plane_bootstrap
from include.provisioning.bootstrap_settings import BootstrapSettings
from include.provisioning.bootstrap_tokens import new_bootstrap_token
from include.provisioning.cloudinit import parse_user_data
from include.provisioning.delivery import KUBEADM_CONFIG_PATH, parse_bundle
from include.provisioning.node_batches import Placement, node_spec
from include.provisioning.pki import generate_credentials
from include.provisioning.plan import plan_provision
from tests.include.provisioning.builders import make_request

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CREDS = generate_credentials("demo", now=NOW)
VSW = {"cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j"}
SETTINGS = BootstrapSettings()


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

    def ensure_instances(self, spec: Any) -> Result:
        kw = asdict(spec)
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
