"""The planner's data model: providerIDs, resource arithmetic, JSON forms, the plan table."""

from __future__ import annotations

import json

import pytest

from include.capacity.model import (
    ADD_NODES,
    Action,
    Backoff,
    CapacityPlan,
    Floor,
    NodeView,
    Offering,
    Resources,
    Snapshot,
    floor_at,
    instance_id_of,
)
from tests.include.capacity.factory import GI, H, deployment, node, pod, pool, snapshot


@pytest.mark.parametrize(
    ("provider_id", "expected"),
    [
        ("alicloud://cn-hangzhou.i-bp1abc", "i-bp1abc"),
        ("alicloud://cn-hangzhou.", None),
        ("alicloud://i-bp1abc", None),
        ("aws:///us-east-1a/i-0abc", None),
        ("", None),
        (None, None),
    ],
)
def test_instance_id_of(provider_id: str | None, expected: str | None) -> None:
    assert instance_id_of(provider_id) == expected


@pytest.mark.parametrize(
    ("labels", "provider_id", "managed"),
    [
        ({"yunfleet.io/node-pool": "workers"}, "alicloud://cn-hangzhou.i-1", True),
        ({}, "alicloud://cn-hangzhou.i-1", False),
        ({"yunfleet.io/node-pool": "workers"}, None, False),
        ({"yunfleet.io/node-pool": "workers"}, "kind://docker/x", False),
    ],
)
def test_node_is_managed_with_pool_label_and_provider_id(
    labels: dict[str, str], provider_id: str | None, managed: bool
) -> None:
    view = NodeView.from_labels("n", labels, provider_id, Resources(1000, GI), ready=True)
    assert view.managed is managed


def test_resources_arithmetic_and_fit() -> None:
    a, b = Resources(1000, 2 * GI, 1), Resources(500, GI, 1)
    assert a + b == Resources(1500, 3 * GI, 2)
    assert a - b == Resources(500, GI, 0)
    assert b.fits_in(a) and not a.fits_in(b)
    assert a.fits(b) and not b.fits(a)
    assert Resources(1000, GI).utilisation(Resources(4000, 2 * GI)) == 0.5
    assert b.times(3) == Resources(1500, 3 * GI, 3)


@pytest.mark.parametrize(
    ("floors", "hour", "expected"),
    [
        ((Floor(480, 1200, 5),), 7, 0),
        ((Floor(480, 1200, 5),), 8, 5),
        ((Floor(480, 1200, 5),), 20, 0),
        ((Floor(1320, 120, 2),), 23, 2),
        ((Floor(1320, 120, 2),), 1, 2),
        ((Floor(1320, 120, 2),), 2, 0),
        ((Floor(0, 1440, 3), Floor(480, 1200, 5)), 9, 5),
    ],
)
def test_floor_at_hour_utc(floors: tuple[Floor, ...], hour: int, expected: int) -> None:
    assert floor_at(floors, 86400 * 100 + hour * 3600) == expected


def test_snapshot_json_round_trip() -> None:
    snap = snapshot(
        (node("n1"), node("u1", managed=False)),
        (
            pod("web-7d9f-a", "n1", usage_m=300),
            pod(
                "pinned",
                zone=H,
                required_terms=((("topology.kubernetes.io/zone", (H,)),),),
                local_storage=True,
            ),
        ),
        deployments=(deployment(floors=(Floor(480, 1200, 5),)),),
        failed_zones=frozenset({"cn-hangzhou-j"}),
        backoffs=(Backoff(Offering(H, "ecs.g7.xlarge"), 10.0, "OperationDenied.NoStock"),),
        history={"shop/web": ((1.0, 3), (2.0, 4))},
        unneeded_since={"n1": 5.0},
        upcoming=(node("i-new", created_at=9.0, ready=False),),
    )
    again = Snapshot.loads(json.dumps(json.loads(snap.dumps())))
    assert again == snap


def test_plan_json_round_trip_and_rows() -> None:
    plan = CapacityPlan(
        "demo",
        (
            Action(
                ADD_NODES,
                "workers",
                "7 pending pods",
                pool="workers",
                zone=H,
                instance_type="ecs.g7.xlarge",
                count=2,
                pods=tuple(f"shop/p{i}" for i in range(7)),
                fallbacks=(Offering("cn-hangzhou-i", "ecs.g7.xlarge"),),
            ),
        ),
        unmanaged_nodes=("u1",),
        history={"shop/web": ((1.0, 3),)},
        unneeded_since={"n1": 2.0},
        notes={"shop/x": "no node planned"},
        errors={"shop/y": "bad annotation"},
    )
    assert CapacityPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    (row,) = plan.rows()
    assert row["kind"] == ADD_NODES and row["count"] == 2 and row["reason"] == "7 pending pods"
    assert row["pods"].endswith("+2 more")


def test_action_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="action kind"):
        Action("delete_cluster", "demo", "no")


def test_pool_json_keeps_allocatable() -> None:
    p = pool(types=("ecs.g7.xlarge", "ecs.g7.2xlarge"))
    assert type(p).from_json(json.loads(json.dumps(p.to_json()))) == p
