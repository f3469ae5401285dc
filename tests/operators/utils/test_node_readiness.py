"""The nodes-Ready report: what is Ready, what is missing and why, and when waiting cannot help."""

from __future__ import annotations

import pytest

from operators.utils.kubernetes_models import NodeInfo
from operators.utils.node_readiness import ExpectedNode, assess

READY = ("True", "KubeletReady", "kubelet is posting ready status")
LOST = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
BOOTING = ("False", "KubeletNotReady", "container runtime network not ready")
H, J = "cn-hangzhou-h", "cn-hangzhou-j"
OUTAGE = {J: "ECS DescribeZones offers no instance creation there"}


def node(instance: str, zone: str, condition: tuple[str, str, str] = READY) -> NodeInfo:
    status, reason, message = condition
    return NodeInfo(
        name=f"cn-hangzhou.{instance}",
        ready=status == "True",
        unschedulable=False,
        zone=zone,
        instance_type="ecs.g7.large",
        node_pool="general",
        provider_id=f"alicloud://cn-hangzhou.{instance}",
        allocatable_cpu_millicores=2000,
        allocatable_memory_bytes=8 << 30,
        ready_status=status,
        ready_reason=reason,
        ready_message=message,
    )


def expected(instance: str, zone: str) -> ExpectedNode:
    return ExpectedNode(instance, "general", zone)


CASES = [
    pytest.param(
        [node("i-a", H), node("i-b", H)],
        2,
        [],
        {},
        (True, False),
        ["2 of 2 nodes Ready", "cn-hangzhou.i-a (general, cn-hangzhou-h)"],
        id="all-ready",
    ),
    pytest.param(
        [node("i-a", H), node("i-c", J, LOST)],
        2,
        [expected("i-a", H), expected("i-c", J)],
        {},
        (False, False),
        [
            "1 of 2 nodes Ready",
            "missing: pool general, zone cn-hangzhou-j, instance i-c: node cn-hangzhou.i-c Ready=Unknown "
            "(NodeStatusUnknown: Kubelet stopped posting node status.)",
        ],
        id="lost-node-named-with-its-condition",
    ),
    pytest.param(
        [node("i-a", H)],
        2,
        [expected("i-a", H), expected("i-c", J)],
        {},
        (False, False),
        ["missing: pool general, zone cn-hangzhou-j, instance i-c: no Node registered"],
        id="never-registered",
    ),
    pytest.param(
        [node("i-a", H), node("i-c", J, LOST)],
        2,
        [expected("i-a", H), expected("i-c", J)],
        OUTAGE,
        (False, True),
        ["zone cn-hangzhou-j is unavailable (ECS DescribeZones offers no instance creation there)"],
        id="missing-node-in-unavailable-zone-blocks",
    ),
    pytest.param(
        [node("i-a", H), node("i-b", H, BOOTING)],
        2,
        [],
        OUTAGE,
        (False, False),
        ["node cn-hangzhou.i-b Ready=False (KubeletNotReady: container runtime network not ready)"],
        id="unavailable-zone-without-missing-nodes-does-not-block",
    ),
    pytest.param(
        [node("i-a", H), node("i-b", H)],
        2,
        [],
        OUTAGE,
        (True, False),
        ["2 of 2 nodes Ready"],
        id="enough-never-blocks",
    ),
    pytest.param(
        [],
        3,
        [],
        {},
        (False, False),
        ["0 of 3 nodes Ready; no other node has registered"],
        id="nothing-yet",
    ),
]


@pytest.mark.parametrize(("nodes", "wanted", "expect", "zones", "verdict", "phrases"), CASES)
def test_assess(
    nodes: list[NodeInfo],
    wanted: int,
    expect: list[ExpectedNode],
    zones: dict[str, str],
    verdict: tuple[bool, bool],
    phrases: list[str],
) -> None:
    report = assess(nodes, wanted, expect, zones)
    result = report.to_waiter_result()
    assert (result["Enough"], result["Blocked"]) == verdict
    for phrase in phrases:
        assert phrase in result["Summary"]


def test_a_node_named_after_its_instance_matches_without_a_provider_id() -> None:
    bare = NodeInfo("i-z", True, False, H, None, "general", None, 0, 0)
    assert assess([bare], 1, [ExpectedNode("i-z")]).missing == ()


def test_long_lists_are_cut_with_a_count() -> None:
    nodes = [node(f"i-{n}", J, LOST) for n in range(8)]
    summary = assess(nodes, 8).summary()
    assert summary.count("Ready=Unknown") == 5 and "and 3 more" in summary


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("i-a", ExpectedNode("i-a")),
        ({"instance_id": "i-a", "pool": "gpu", "zone": J}, ExpectedNode("i-a", "gpu", J)),
    ],
)
def test_expected_nodes_come_as_ids_or_objects(raw: object, parsed: ExpectedNode) -> None:
    assert ExpectedNode.parse(raw) == parsed


def test_a_malformed_expected_node_is_refused() -> None:
    with pytest.raises(ValueError, match="instance id"):
        ExpectedNode.parse({"pool": "gpu"})
