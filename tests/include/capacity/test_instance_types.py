"""Allocatable of new nodes: GKE's reservation tiers and the ECS family catalog."""

from __future__ import annotations

import pytest

from include.capacity.instance_types import (
    GIB,
    MIB,
    UnknownInstanceType,
    allocatable_from_capacity,
    instance_allocatable,
    instance_capacity,
    reserved_cpu_m,
    reserved_memory_b,
)


@pytest.mark.parametrize(
    ("cpus", "reserved"),
    # GKE's published examples: 1 core 60m, 2 cores 70m, 4 cores 80m, 8 cores 90m, 32 cores 150m
    [(1, 60), (2, 70), (4, 80), (8, 90), (32, 150)],
)
def test_reserved_cpu(cpus: int, reserved: int) -> None:
    assert reserved_cpu_m(cpus * 1000) == reserved


@pytest.mark.parametrize(
    ("gib", "reserved_mib"),
    # 25% of 4, 20% of next 4, 10% of next 8, 6% of next 112, 2% above 128 (+100 MiB eviction)
    [
        (4, 1024 + 100),
        (8, 1024 + 819.2 + 100),
        (16, 1024 + 819.2 + 819.2 + 100),
        (256, 1024 + 819.2 + 819.2 + 6881.28 + 2621.44 + 100),
    ],
)
def test_reserved_memory(gib: int, reserved_mib: float) -> None:
    assert reserved_memory_b(gib * GIB) == pytest.approx(reserved_mib * MIB, abs=1)


def test_small_machine_reserves_255_mib() -> None:
    assert reserved_memory_b(512 * MIB) == 255 * MIB + 100 * MIB


@pytest.mark.parametrize(
    ("instance_type", "capacity"),
    [
        ("ecs.g7.large", (2, 8.0)),
        ("ecs.g7.xlarge", (4, 16.0)),
        ("ecs.c7.2xlarge", (8, 16.0)),
        ("ecs.r7.4xlarge", (16, 128.0)),
        ("ecs.g8i.xlarge", (4, 16.0)),
    ],
)
def test_catalog(instance_type: str, capacity: tuple[int, float]) -> None:
    assert instance_capacity(instance_type) == capacity


@pytest.mark.parametrize("instance_type", ["ecs.gn7i-c8g1.2xlarge", "ecs.g7.medium", "m5.large", ""])
def test_catalog_refuses_unknown(instance_type: str) -> None:
    with pytest.raises(UnknownInstanceType, match="not in the catalog"):
        instance_capacity(instance_type)


def test_specs_win_over_the_catalog_and_allocatable_is_below_capacity() -> None:
    assert instance_allocatable("ecs.gn7i.2xlarge", {"ecs.gn7i.2xlarge": (8, 30.0)}).cpu_m == 7910
    alloc = allocatable_from_capacity(4, 16)
    assert alloc.cpu_m == 3920 and alloc.pods == 110
    assert alloc.memory_b == 16 * GIB - reserved_memory_b(16 * GIB)
