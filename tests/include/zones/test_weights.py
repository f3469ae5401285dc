"""SLB weight plans: batching (fewest calls, API-server LBs first, <= 20 per call), quota minutes,
remembered weights, idempotent re-plans, gradual restore to the previous weights."""

from __future__ import annotations

import math

import pytest

from include.zones.settings import ZoneHealthSettings
from include.zones.weights import (
    Backend,
    LoadBalancer,
    WeightPlan,
    merge_saved_weights,
    plan_evacuation,
    plan_restore,
    quota_minutes,
    restore_weight,
)

H, I = "cn-hangzhou-h", "cn-hangzhou-i"  # noqa: E741 (zone letters)


def lb(
    lb_id: str, role: str, in_h: int, in_i: int = 2, weight: int = 100, cluster: str = "demo"
) -> LoadBalancer:
    backends = [Backend(f"i-{lb_id}-h{n:02d}", weight, H) for n in range(in_h)]
    backends += [Backend(f"i-{lb_id}-i{n:02d}", weight, I) for n in range(in_i)]
    return LoadBalancer(lb_id, role, tuple(backends), cluster)


def apply(lbs: list[LoadBalancer], plan: WeightPlan) -> list[LoadBalancer]:
    """The load balancers after the plan's calls (what SetBackendServers would leave)."""
    new = {(c.lb_id, s): w for c in plan.calls for s, w in c.weights}
    return [
        LoadBalancer(
            x.lb_id,
            x.role,
            tuple(
                Backend(b.server_id, new.get((x.lb_id, b.server_id), b.weight), b.zone) for b in x.backends
            ),
            x.cluster,
        )
        for x in lbs
    ]


def weights(lbs: list[LoadBalancer], zone: str = H) -> dict[str, dict[str, int]]:
    return {x.lb_id: {b.server_id: b.weight for b in x.backends if b.zone == zone} for x in lbs}


def test_45_backends_over_3_lbs_take_the_fewest_calls_api_server_first() -> None:
    lbs = [
        lb("lb-svc-a", "service-lb", 25),
        lb("lb-svc-b", "service-lb", 15),
        lb("lb-api", "apiserver-lb", 5),
    ]
    plan = plan_evacuation(H, lbs)
    assert plan.servers == 45
    assert len(plan.calls) == math.ceil(25 / 20) + math.ceil(15 / 20) + math.ceil(5 / 20) == 4
    assert [c.lb_id for c in plan.calls] == ["lb-api", "lb-svc-a", "lb-svc-a", "lb-svc-b"]
    assert [len(c.weights) for c in plan.calls] == [5, 20, 5, 15]
    assert all(len(c.weights) <= 20 and all(w == 0 for _, w in c.weights) for c in plan.calls)
    changed = {s for c in plan.calls for s, _ in c.weights}
    assert len(changed) == 45 and all(s.rsplit("-", 1)[1].startswith("h") for s in changed)  # only zone h
    assert plan.calls[0].backend_servers()[0] == {"ServerId": "i-lb-api-h00", "Weight": "0"}
    assert plan.saved_weights["lb-svc-a"]["i-lb-svc-a-h24"] == 100 and len(plan.saved_weights) == 3
    assert plan.minutes == 1.0


def test_api_server_lbs_of_every_cluster_go_before_any_service_lb() -> None:
    lbs = [
        lb("lb-s1", "service-lb", 1, cluster="a"),
        lb("lb-a2", "apiserver-lb", 1, cluster="b"),
        lb("lb-x", "other", 1, cluster="a"),
        lb("lb-a1", "apiserver-lb", 1, cluster="a"),
    ]
    assert [c.lb_id for c in plan_evacuation(H, lbs).calls] == ["lb-a1", "lb-a2", "lb-s1", "lb-x"]


@pytest.mark.parametrize(
    ("calls", "quota", "minutes"),
    [(0, 90, 0.0), (1, 90, 1.0), (90, 90, 1.0), (91, 90, 2.0), (120, 90, 2.0), (181, 90, 3.0), (10, 5, 2.0)],
)
def test_quota_minutes(calls: int, quota: int, minutes: float) -> None:
    assert quota_minutes(calls, quota=quota) == minutes


def test_a_large_fleet_is_stamped_with_its_quota_windows() -> None:
    """120 API-server LBs + 60 service LBs, 3 backends each in the zone: 180 calls, 2 minutes at 90/min."""
    lbs = [lb(f"lb-s{n:03d}", "service-lb", 3) for n in range(60)]
    lbs += [lb(f"lb-a{n:03d}", "apiserver-lb", 3) for n in range(120)]
    plan = plan_evacuation(H, lbs)
    assert len(plan.calls) == 180 and plan.minutes == 2.0
    assert [c.window for c in plan.calls[:91:90]] == [0, 1]
    assert {c.role for c in plan.calls[:120]} == {"apiserver-lb"}
    quick = plan_evacuation(H, lbs, settings=ZoneHealthSettings(slb_write_quota=200))
    assert quick.minutes == 1.0 and {c.window for c in quick.calls} == {0}


def test_a_converged_zone_plans_no_call() -> None:
    lbs = [lb("lb-api", "apiserver-lb", 3), lb("lb-svc", "service-lb", 4)]
    first = plan_evacuation(H, lbs)
    again = plan_evacuation(H, apply(lbs, first), remembered=first.saved_weights)
    assert again.calls == () and again.minutes == 0.0
    assert again.saved_weights == first.saved_weights


def test_a_re_plan_after_a_lost_response_keeps_the_real_weights() -> None:
    """The calls went through but the answer was lost: the re-run sees weights 0 and must not remember 0."""
    lbs = [lb("lb-svc", "service-lb", 3, weight=70)]
    first = plan_evacuation(H, lbs)
    evacuated = apply(lbs, first)
    again = plan_evacuation(H, evacuated, remembered=first.saved_weights)
    assert again.saved_weights == {"lb-svc": {f"i-lb-svc-h{n:02d}": 70 for n in range(3)}}
    # without what the first run stored, 0 is all that can be seen: store saved_weights before the calls
    assert set(plan_evacuation(H, evacuated).saved_weights["lb-svc"].values()) == {0}


def test_re_evacuating_during_a_restore_remembers_the_weights_before_the_first_evacuation() -> None:
    lbs = [lb("lb-svc", "service-lb", 2, weight=100)]
    evacuation = plan_evacuation(H, lbs)
    trickle = apply(
        apply(lbs, evacuation), plan_restore(H, apply(lbs, evacuation), evacuation.saved_weights, step=0)
    )
    assert set(weights(trickle)["lb-svc"].values()) == {10}
    again = plan_evacuation(H, trickle, remembered=evacuation.saved_weights)
    assert set(again.saved_weights["lb-svc"].values()) == {100}
    assert [w for c in again.calls for _, w in c.weights] == [0, 0]


def test_a_backend_at_0_before_any_evacuation_stays_0_and_new_backends_are_remembered() -> None:
    base = lb("lb-svc", "service-lb", 2)
    idle = Backend("i-idle", 0, H)
    lbs = [LoadBalancer(base.lb_id, base.role, (*base.backends, idle), base.cluster)]
    plan = plan_evacuation(H, lbs)
    assert plan.saved_weights["lb-svc"]["i-idle"] == 0
    assert "i-idle" not in {s for c in plan.calls for s, _ in c.weights}  # already 0: no change needed
    # a backend added during the evacuation (a provisioning re-run) is drained and remembered too
    joined = [LoadBalancer("lb-svc", "service-lb", (*apply(lbs, plan)[0].backends, Backend("i-new", 100, H)))]
    again = plan_evacuation(H, joined, remembered=plan.saved_weights)
    assert [c.weights for c in again.calls] == [(("i-new", 0),)]
    assert again.saved_weights["lb-svc"]["i-new"] == 100 and again.saved_weights["lb-svc"]["i-idle"] == 0
    restored = plan_restore(H, apply(joined, again), again.saved_weights, step=2)
    assert dict(w for c in restored.calls for w in c.weights) == {
        "i-lb-svc-h00": 100,
        "i-lb-svc-h01": 100,
        "i-new": 100,
    }


@pytest.mark.parametrize(
    ("previous", "expected"),
    [(100, [10, 50, 100]), (3, [1, 2, 3]), (1, [1, 1, 1]), (0, [0, 0, 0]), (5, [1, 3, 5]), (15, [2, 8, 15])],
)
def test_restore_weight_steps(previous: int, expected: list[int]) -> None:
    assert [restore_weight(previous, f) for f in (0.1, 0.5, 1.0)] == expected


def test_gradual_restore_goes_back_to_the_previous_weights() -> None:
    lbs = [
        LoadBalancer(
            "lb-api", "apiserver-lb", (Backend("i-a", 100, H), Backend("i-b", 3, H), Backend("i-c", 50, I))
        ),
        LoadBalancer("lb-svc", "service-lb", tuple(Backend(f"i-s{n:02d}", 80, H) for n in range(25))),
    ]
    evacuation = plan_evacuation(H, lbs)
    current = apply(lbs, evacuation)
    seen = []
    for step in range(3):
        plan = plan_restore(H, current, evacuation.saved_weights, step=step)
        assert plan.action == "restore" and plan.step == step
        assert [c.lb_id for c in plan.calls] == ["lb-api", "lb-svc", "lb-svc"]
        assert max(len(c.weights) for c in plan.calls) <= 20
        current = apply(current, plan)
        seen.append((weights(current)["lb-api"], weights(current)["lb-svc"]["i-s00"]))
    assert seen == [
        ({"i-a": 10, "i-b": 1}, 8),
        ({"i-a": 50, "i-b": 2}, 40),
        ({"i-a": 100, "i-b": 3}, 80),
    ]
    assert weights(current) == weights(lbs)  # exactly the weights before the evacuation
    assert weights(current, I) == weights(lbs, I)
    assert plan_restore(H, current, evacuation.saved_weights, step=2).calls == ()  # re-run: converged


def test_restore_leaves_unremembered_and_detached_servers_alone() -> None:
    lbs = [LoadBalancer("lb-svc", "service-lb", (Backend("i-a", 0, H), Backend("i-stranger", 0, H)))]
    saved = {"lb-svc": {"i-a": 60, "i-gone": 90}, "lb-deleted": {"i-x": 10}}
    plan = plan_restore(H, lbs, saved, step=1)
    assert [c.weights for c in plan.calls] == [(("i-a", 30),)]
    with pytest.raises(IndexError, match=r"restore step 3 is outside 0\.\.2"):
        plan_restore(H, lbs, saved, step=3)


def test_merge_keeps_what_was_remembered_first() -> None:
    assert merge_saved_weights({"lb": {"a": 100}}, {"lb": {"a": 0, "b": 5}, "lb2": {"c": 1}}) == {
        "lb": {"a": 100, "b": 5},
        "lb2": {"c": 1},
    }


def test_plan_round_trips_through_json() -> None:
    plan = plan_evacuation(H, [lb("lb-api", "apiserver-lb", 21)])
    data = plan.to_json()
    assert data["minutes"] == 1.0 and data["servers"] == 21
    assert WeightPlan.from_json(data) == plan
