"""Benchmark: the capacity planner (include/capacity) on synthetic clusters of 1,000 and 5,000 nodes x 30
pods.

Two snapshots per size, both seeded and deterministic:

- ``scale-up``: nodes x 30 pods all pending (a cluster being filled from an empty pool of 3 zones); the
  planner must buy the nodes. Quality: nodes planned against the lower bound
  ``max(ceil(sum CPU requests / node CPU), ceil(sum memory requests / node memory))``. The step limits
  are lifted (``max_new_nodes_per_pool`` / ``_per_run``) so that one plan covers all pods.
- ``steady``: the same number of nodes, each running 30 pods of autoscaled Deployments with CPU
  metrics, a few nodes underused, some pods pending: every tier runs (HPA rule, scale-up, scale-down
  simulation).

Measured per snapshot: load time (``json.loads`` + ``Snapshot.from_json`` of its JSON text, best of 3),
plan time (``plan_capacity``, best of 3), peak traced memory of one plan (``tracemalloc``, run apart
so that tracing does not slow the timed runs). Targets (issue 11): plan time below load time; nodes
planned <= 1.05 x the lower bound.

Small instances (<= 200 pods, one instance type): the planner's node count against the optimum of
OR-Tools CP-SAT (exact bin packing over CPU, memory and pod slots, 10 s limit per instance); reported:
how often the planner matches the optimum and the largest gap.

Writes bench/results/capacity_planner.md.
"""

from __future__ import annotations

import gc
import json
import math
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from include.capacity.instance_types import instance_allocatable  # noqa: E402
from include.capacity.model import (  # noqa: E402
    ADD_NODES,
    INSTANCE_TYPE_LABEL,
    POOL_LABEL,
    ZONE_LABEL,
    DeploymentView,
    NodeView,
    PodView,
    PoolView,
    Resources,
    Snapshot,
)
from include.capacity.plan import plan_capacity  # noqa: E402
from include.capacity.settings import CapacitySettings  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results"
SIZES = (1000, 5000)
PODS_PER_NODE = 30
ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")
INSTANCE_TYPE = "ecs.g7.2xlarge"  # 8 vCPU, 32 GiB
MI = 1024**2
NOW = 1_800_000_000.0
REPEATS = 3
SMALL_INSTANCES = 40
SOLVER_SECONDS = 10.0
#: pod shapes (CPU m, memory MiB): around 1/30 of a node on average, mixed CPU- and memory-heavy
SHAPES = ((100, 256), (150, 512), (200, 768), (250, 1024), (300, 512), (400, 1536), (500, 2048), (120, 1024))
UNLIMITED = CapacitySettings(max_new_nodes_per_pool=10**6, max_new_nodes_per_run=10**6)


def pool(max_size: int) -> PoolView:
    return PoolView(
        "workers", ZONES, (INSTANCE_TYPE,), 0, max_size, {INSTANCE_TYPE: instance_allocatable(INSTANCE_TYPE)}
    )


def _deployments(rng: random.Random, pods: int) -> list[tuple[str, int, int, int]]:
    """(name, cpu m, memory bytes, replicas) whose replicas add up to ``pods``."""
    result = []
    left, i = pods, 0
    while left > 0:
        cpu, mem = rng.choice(SHAPES)
        replicas = min(left, rng.randint(20, 400))
        result.append((f"app{i:04d}", cpu, mem * MI, replicas))
        left -= replicas
        i += 1
    return result


def scale_up_snapshot(nodes: int, seed: int = 1) -> Snapshot:
    rng = random.Random(seed)  # noqa: S311 (seeded synthetic data)
    pods = []
    for name, cpu, mem, replicas in _deployments(rng, nodes * PODS_PER_NODE):
        for r in range(replicas):
            pods.append(
                PodView(
                    "bench",
                    f"{name}-5f7d-{r}",
                    None,
                    "Pending",
                    True,
                    Resources(cpu, mem),
                    "ReplicaSet",
                    f"{name}-5f7d",
                )
            )
    return Snapshot("bench", NOW, (), tuple(pods), (), (pool(nodes * 3),))


def steady_snapshot(nodes: int, seed: int = 2) -> Snapshot:
    """``nodes`` nodes running 30 pods each, except every 20th (6 pods: a scale-down candidate, unneeded
    for an hour); 0.5 % of the pods pending (unschedulable); usage 30-90 % of requests, target 60 %."""
    rng = random.Random(seed)  # noqa: S311 (seeded synthetic data)
    alloc = instance_allocatable(INSTANCE_TYPE)
    node_views = []
    slots: list[str] = []
    for n in range(nodes):
        zone = ZONES[n % 3]
        labels = {ZONE_LABEL: zone, INSTANCE_TYPE_LABEL: INSTANCE_TYPE, POOL_LABEL: "workers"}
        name = f"node-{n:05d}"
        node_views.append(
            NodeView(name, "workers", zone, INSTANCE_TYPE, f"i-{n:08x}", alloc, True, False, 0.0, labels)
        )
        slots.extend([name] * (6 if n % 20 == 0 else PODS_PER_NODE))
    rng.shuffle(slots)
    pods: list[PodView] = []
    views = []
    for name, cpu, mem, replicas in _deployments(rng, len(slots)):
        usage_ratio = rng.uniform(0.3, 0.9)
        views.append(DeploymentView("bench", name, replicas, True, 1, replicas * 3, 60, cpu, (), mem))
        for r in range(replicas):
            node = slots.pop()
            pending = rng.random() < 0.005
            pods.append(
                PodView(
                    "bench",
                    f"{name}-5f7d-{r}",
                    None if pending else node,
                    "Pending" if pending else "Running",
                    pending,
                    Resources(cpu, mem),
                    "ReplicaSet",
                    f"{name}-5f7d",
                    cpu_usage_m=None if pending else int(cpu * usage_ratio * rng.uniform(0.8, 1.2)),
                    ready=not pending,
                )
            )
    return Snapshot(
        "bench",
        NOW,
        tuple(node_views),
        tuple(pods),
        tuple(views),
        (pool(nodes * 2),),
        unneeded_since={n.name: NOW - 3600 for n in node_views[::20]},
    )


def lower_bound(snapshot: Snapshot) -> int:
    alloc = instance_allocatable(INSTANCE_TYPE)
    cpu = sum(p.requests.cpu_m for p in snapshot.pods)
    mem = sum(p.requests.memory_b for p in snapshot.pods)
    return max(math.ceil(cpu / alloc.cpu_m), math.ceil(mem / alloc.memory_b))


def best_of(fn: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def peak_memory(fn: Any) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def measure(name: str, snapshot: Snapshot, settings: CapacitySettings) -> dict[str, Any]:
    text = snapshot.dumps()
    load_s, loaded = best_of(lambda: Snapshot.from_json(json.loads(text)))
    assert loaded == snapshot
    plan_s, plan = best_of(lambda: plan_capacity(loaded, settings))
    peak = peak_memory(lambda: plan_capacity(loaded, settings))
    kinds: dict[str, int] = {}
    for a in plan.actions:
        kinds[a.kind] = kinds.get(a.kind, 0) + (a.count if a.kind == ADD_NODES else 1)
    return {
        "scenario": name,
        "nodes": len(snapshot.nodes),
        "pods": len(snapshot.pods),
        "snapshot_mb": len(text) / 1e6,
        "load_s": load_s,
        "plan_s": plan_s,
        "peak_mb": peak / 1e6,
        "actions": kinds,
        "plan": plan,
    }


# -- small instances against CP-SAT ------------------------------------------------------------------


def small_instance(rng: random.Random) -> Snapshot:
    """20..200 pods of larger shapes (a few per node), so that packing decisions matter."""
    count = rng.randint(20, 200)
    pods = []
    for i in range(count):
        cpu = rng.choice((250, 500, 750, 1000, 1500, 2000, 3000))
        mem = rng.choice((512, 1024, 2048, 4096, 6144, 8192)) * MI
        pods.append(
            PodView("bench", f"p{i}", None, "Pending", True, Resources(cpu, mem), "ReplicaSet", "app-5f7d")
        )
    return Snapshot("bench", NOW, (), tuple(pods), (), (pool(10_000),))


def optimum(snapshot: Snapshot, upper: int) -> tuple[int, bool]:
    """Fewest nodes holding the pods (CP-SAT); ``(count, proven optimal)``."""
    from ortools.sat.python import cp_model

    alloc = instance_allocatable(INSTANCE_TYPE)
    pods = snapshot.pods
    model = cp_model.CpModel()
    bins = range(upper)
    x = {(i, b): model.NewBoolVar(f"x{i}_{b}") for i in range(len(pods)) for b in bins}
    used = [model.NewBoolVar(f"y{b}") for b in bins]
    for i in range(len(pods)):
        model.AddExactlyOne(x[i, b] for b in bins)
    for b in bins:
        model.Add(sum(pods[i].requests.cpu_m * x[i, b] for i in range(len(pods))) <= alloc.cpu_m * used[b])
        model.Add(
            sum((pods[i].requests.memory_b // MI) * x[i, b] for i in range(len(pods)))
            <= (alloc.memory_b // MI) * used[b]
        )
        model.Add(sum(x[i, b] for i in range(len(pods))) <= alloc.pods * used[b])
        if b > 0:
            model.Add(used[b] <= used[b - 1])
    # the first pod in bin 0 breaks a symmetry cheaply
    model.Add(x[0, 0] == 1)
    model.Add(sum(used) >= lower_bound(snapshot))
    model.Minimize(sum(used))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = SOLVER_SECONDS
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return upper, False
    return round(solver.ObjectiveValue()), status == cp_model.OPTIMAL


def compare_small(seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311 (seeded synthetic data)
    rows = []
    for _ in range(SMALL_INSTANCES):
        snap = small_instance(rng)
        plan = plan_capacity(snap, UNLIMITED)
        planned = sum(a.count for a in plan.actions if a.kind == ADD_NODES)
        best, proven = optimum(snap, planned)
        rows.append(
            {
                "pods": len(snap.pods),
                "planned": planned,
                "optimum": best,
                "proven": proven,
                "lb": lower_bound(snap),
            }
        )
    return rows


# -- report ---------------------------------------------------------------------------------------------


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    big = []
    for n in SIZES:
        up = measure("scale-up", scale_up_snapshot(n), UNLIMITED)
        planned = sum(a.count for a in up["plan"].actions if a.kind == ADD_NODES)
        up["planned_nodes"] = planned
        up["lower_bound"] = lower_bound(scale_up_snapshot(n))
        big.append(up)
        steady = measure("steady", steady_snapshot(n), CapacitySettings())
        big.append(steady)
        print(f"{n} nodes done", flush=True)
    small = compare_small()

    lines = [
        "# Capacity planner benchmark",
        "",
        "Produced by `bench/capacity_planner.py` (`make bench`); see its docstring for the method.",
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}; "
        f"node type {INSTANCE_TYPE} (allocatable after kubelet reservations); best of {REPEATS} runs.",
        "",
        "## Plan time, load time, memory",
        "",
        "| scenario | nodes | pods | snapshot JSON | load (JSON + views) | plan | plan / load "
        "| peak memory (plan) | actions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in big:
        actions = ", ".join(f"{k} {v}" for k, v in sorted(r["actions"].items())) or "none"
        lines.append(
            f"| {r['scenario']} | {r['nodes']:,} | {r['pods']:,} | {r['snapshot_mb']:.1f} MB | "
            f"{r['load_s']:.3f} s | {r['plan_s']:.3f} s | {r['plan_s'] / r['load_s']:.2f} | "
            f"{r['peak_mb']:.1f} MB | {actions} |"
        )
    lines += [
        "",
        "Target: plan time below load time (plan / load < 1).",
        "",
        "## Packing against the lower bound (scale-up from empty)",
        "",
        "| pods | nodes planned | lower bound | ratio | target |",
        "|---:|---:|---:|---:|---|",
    ]
    for r in big:
        if r["scenario"] == "scale-up":
            ratio = r["planned_nodes"] / r["lower_bound"]
            lines.append(
                f"| {r['pods']:,} | {r['planned_nodes']:,} | {r['lower_bound']:,} | {ratio:.3f} | "
                f"{'met' if ratio <= 1.05 else 'missed'} (<= 1.05) |"
            )
    matched = sum(1 for r in small if r["planned"] == r["optimum"])
    proven = sum(1 for r in small if r["proven"])
    worst = max(small, key=lambda r: r["planned"] - r["optimum"])
    lines += [
        "",
        f"## Small instances against CP-SAT ({SMALL_INSTANCES} instances, 20-200 pods, "
        f"{SOLVER_SECONDS:g} s limit each)",
        "",
        f"- planner equals the solver's best: **{matched}/{len(small)}** "
        f"({100 * matched / len(small):.0f} %)",
        f"- solver proved optimality on {proven}/{len(small)}",
        f"- largest gap: {worst['planned'] - worst['optimum']} node(s) "
        f"({worst['planned']} vs {worst['optimum']} for {worst['pods']} pods)",
        f"- planner at the lower bound on {sum(1 for r in small if r['planned'] == r['lb'])}/{len(small)}",
        "",
        "| pods | planner | optimum | proven | lower bound |",
        "|---:|---:|---:|---|---:|",
    ]
    for r in small:
        lines.append(
            f"| {r['pods']} | {r['planned']} | {r['optimum']} | {'yes' if r['proven'] else 'no'} | "
            f"{r['lb']} |"
        )
    (RESULTS / "capacity_planner.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
