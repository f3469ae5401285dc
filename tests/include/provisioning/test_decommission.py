"""The decommission plan: reverse order, only what is tagged for the cluster, re-runnable."""

from __future__ import annotations

from include.provisioning.decommission import DecommissionPlan, ObservedResource, plan_decommission

CLUSTER = {"yunfleet:cluster": "demo"}


def inventory() -> list[ObservedResource]:
    return [
        ObservedResource("instance", "i-w2", tags={**CLUSTER, "yunfleet:role": "worker"}),
        ObservedResource("instance", "i-cp1", tags={**CLUSTER, "yunfleet:role": "control-plane"}),
        ObservedResource("instance", "i-w1", tags={**CLUSTER, "yunfleet:role": "worker"}),
        ObservedResource("security_group", "sg-1", name="yunfleet-demo", tags=CLUSTER),
        ObservedResource("load_balancer", "lb-1", name="yunfleet-demo-apiserver", tags=CLUSTER),
        ObservedResource("dns_record", "rec-1", name="api.demo", owned=True),
        ObservedResource("instance", "i-other", tags={"yunfleet:cluster": "prod"}),
        ObservedResource("instance", "i-untagged"),
        ObservedResource("load_balancer", "lb-other", tags={"owner": "someone"}),
        ObservedResource("dns_record", "rec-foreign", name="api.demo", owned=False),
    ]


def test_reverse_order_and_only_ours() -> None:
    plan = plan_decommission("demo", inventory(), registered=True)
    assert [(a.product, a.action, a.targets) for a in plan.actions] == [
        ("alidns", "DeleteDomainRecord", ("rec-1",)),
        ("slb", "DeleteLoadBalancer", ("lb-1",)),
        ("ecs", "DeleteInstances", ("i-w1", "i-w2")),
        ("ecs", "DeleteInstances", ("i-cp1",)),
        ("ecs", "DeleteSecurityGroup", ("sg-1",)),
        ("registry", "DeregisterCluster", ("demo",)),
    ]
    assert plan.refused == (
        "dns_record rec-foreign",
        "instance i-other",
        "instance i-untagged",
        "load_balancer lb-other",
    )
    touched = {t for a in plan.actions for t in a.targets}
    assert not touched & {"i-other", "i-untagged", "lb-other", "rec-foreign"}


def test_nothing_left_gives_an_empty_plan() -> None:
    assert plan_decommission("demo", [], registered=False).actions == ()


def test_partial_leftovers_after_a_failed_run() -> None:
    leftovers = [ObservedResource("security_group", "sg-1", tags=CLUSTER)]
    plan = plan_decommission("demo", leftovers, registered=False)
    assert [a.action for a in plan.actions] == ["DeleteSecurityGroup"]


def test_instances_batched_by_100() -> None:
    many = [
        ObservedResource("instance", f"i-{n:03d}", tags={**CLUSTER, "yunfleet:role": "worker"})
        for n in range(230)
    ]
    plan = plan_decommission("demo", many, registered=False)
    assert [len(a.targets) for a in plan.actions] == [100, 100, 30]


def test_json_round_trip() -> None:
    plan = plan_decommission("demo", inventory(), registered=True)
    assert DecommissionPlan.from_json(plan.to_json()) == plan
