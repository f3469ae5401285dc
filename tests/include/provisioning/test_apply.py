"""Apply steps with a fake ECS hook: what is asked for, in which order, with which user-data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.provisioning.apply import ensure_control_plane, node_pool_rows, security_rules
from include.provisioning.cloudinit import parse_user_data
from include.provisioning.pki import generate_credentials
from include.provisioning.plan import plan_provision
from tests.include.provisioning.conftest import make_request


@dataclass
class Spec:
    kwargs: dict[str, Any]

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


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

    def ensure_instances(self, spec: Spec) -> Result:
        kw = spec.kwargs
        self.asked.append(kw)
        key = (kw["role"], kw["node_pool"], kw["zone_id"])
        have = self.existing.setdefault(key, [])
        created = [f"i-{kw['zone_id'][-1]}{len(have) + n}" for n in range(kw["count"] - len(have))]
        have.extend(created)
        return Result(sorted(have), created)


VSW = {"cn-hangzhou-h": "vsw-h", "cn-hangzhou-i": "vsw-i", "cn-hangzhou-j": "vsw-j"}


def run_cp(ecs: FakeEcs, request: Any) -> dict[str, Any]:
    return ensure_control_plane(
        ecs,
        Spec,
        request=request,
        plan=plan_provision(request),
        creds=CREDS,
        domain="fleet.example.com",
        vswitches=VSW,
        security_group_id="sg-1",
        image_id="img",
    )


CREDS = generate_credentials("demo")


def test_three_masters_in_three_zones_init_then_join() -> None:
    ecs = FakeEcs()
    result = run_cp(ecs, make_request())
    assert len(result["created_ids"]) == 3
    assert [a["zone_id"] for a in ecs.asked] == ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    assert [a["vswitch_id"] for a in ecs.asked] == ["vsw-h", "vsw-i", "vsw-j"]
    commands = [parse_user_data(a["user_data"])["runcmd"][-1][-1] for a in ecs.asked]
    assert commands[0].startswith("kubeadm init") and all(c.startswith("kubeadm join") for c in commands[1:])
    assert all(a["role"] == "control-plane" and a["node_pool"] is None for a in ecs.asked)


def test_three_masters_in_one_zone_grow_one_by_one_and_rerun_creates_none() -> None:
    ecs = FakeEcs()
    request = make_request(
        zones=["cn-hangzhou-h"],
        node_pools=[
            {"name": "p", "instance_type": "ecs.g7.xlarge", "min_size": 0, "max_size": 2, "desired_size": 1}
        ],
    )
    first = run_cp(ecs, request)
    assert [a["count"] for a in ecs.asked] == [1, 2, 3]
    assert len(first["instance_ids"]) == 3
    again = run_cp(ecs, request)
    assert again["created_ids"] == [] and again["instance_ids"] == first["instance_ids"]


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
