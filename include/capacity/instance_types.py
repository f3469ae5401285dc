"""What a new node of an ECS instance type offers pods: capacity from the type's name, allocatable after
the kubelet's reservations.

Reservations follow GKE's published tiers (https://cloud.google.com/kubernetes-engine/docs/concepts/
plan-node-sizes, "Memory and CPU reservations"):

- CPU: 6 % of the first core, 1 % of the next core (up to 2), 0.5 % of the next 2 cores (up to 4),
  0.25 % of every core above 4.
- Memory: 255 MiB on machines under 1 GiB; otherwise 25 % of the first 4 GiB, 20 % of the next 4 GiB
  (up to 8), 10 % of the next 8 GiB (up to 16), 6 % of the next 112 GiB (up to 128), 2 % above 128 GiB;
  plus the kubelet's hard eviction threshold of 100 MiB.

The catalog: Alibaba Cloud's general-purpose families are named ``ecs.<family>.<size>``; the first
letter of the family gives the memory per vCPU (``c`` 2 GiB, ``g`` 4 GiB, ``r`` 8 GiB: compute,
general-purpose and memory-optimised, https://www.alibabacloud.com/help/en/ecs/user-guide/overview-of-instance-families),
the size gives the vCPUs (``large`` 2, ``xlarge`` 4, ``<n>xlarge`` 4n). Anything else must be given
explicitly (``specs``, e.g. from ``DescribeInstanceTypes``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from include.capacity.model import Resources

MIB = 1024**2
GIB = 1024**3
#: kubelet ``--eviction-hard memory.available`` default
EVICTION_THRESHOLD_B = 100 * MIB
#: kubelet ``--max-pods`` default
DEFAULT_MAX_PODS = 110

#: GiB of memory per vCPU by the first letter of an ECS family
FAMILY_MEMORY_PER_VCPU = {"c": 2, "g": 4, "r": 8}
_SIZE = re.compile(r"^(\d*)xlarge$")
_NAME = re.compile(r"^ecs\.([a-z]+)(\d+[a-z]*)\.([a-z0-9]+)$")

_CPU_TIERS = ((1000, 0.06), (1000, 0.01), (2000, 0.005))
_CPU_REST = 0.0025
_MEMORY_TIERS = ((4 * GIB, 0.25), (4 * GIB, 0.20), (8 * GIB, 0.10), (112 * GIB, 0.06))
_MEMORY_REST = 0.02


class UnknownInstanceType(ValueError):
    """An instance type whose vCPUs and memory the catalog cannot tell."""


def _tiered(amount: int, tiers: Iterable[tuple[int, float]], rest: float) -> float:
    reserved = 0.0
    left = amount
    for size, share in tiers:
        step = min(left, size)
        reserved += step * share
        left -= step
        if left <= 0:
            return reserved
    return reserved + left * rest


def reserved_cpu_m(cpu_m: int) -> int:
    """Millicores the node keeps for the system (GKE tiers), rounded up."""
    return int(-(-_tiered(cpu_m, _CPU_TIERS, _CPU_REST) // 1))


def reserved_memory_b(memory_b: int) -> int:
    """Bytes the node keeps for the system (GKE tiers) plus the eviction threshold, rounded up."""
    reserved = 255 * MIB if memory_b < GIB else _tiered(memory_b, _MEMORY_TIERS, _MEMORY_REST)
    return int(-(-reserved // 1)) + EVICTION_THRESHOLD_B


def allocatable_from_capacity(vcpus: int, memory_gib: float, max_pods: int = DEFAULT_MAX_PODS) -> Resources:
    """Allocatable of a node with ``vcpus`` and ``memory_gib``: capacity minus the reservations above.

    >>> allocatable_from_capacity(4, 16).cpu_m
    3920
    """
    cpu_m = vcpus * 1000
    memory_b = int(memory_gib * GIB)
    return Resources(cpu_m - reserved_cpu_m(cpu_m), memory_b - reserved_memory_b(memory_b), max_pods)


def instance_capacity(instance_type: str) -> tuple[int, float]:
    """``(vCPUs, memory GiB)`` of an ``ecs.<c|g|r><generation>.<size>`` type.

    :raises UnknownInstanceType: any other name.
    """
    match = _NAME.match(instance_type)
    size = _SIZE.match(match[3]) if match else None
    if match is None or match[1][0] not in FAMILY_MEMORY_PER_VCPU or (size is None and match[3] != "large"):
        raise UnknownInstanceType(
            f"instance type {instance_type!r} is not in the catalog "
            "(ecs.<c|g|r><gen>.<large|xlarge|Nxlarge>); "
            "give its vCPUs and memory in the pool's instance type specs"
        )
    vcpus = 2 if size is None else 4 * int(size[1] or 1)
    return vcpus, float(vcpus * FAMILY_MEMORY_PER_VCPU[match[1][0]])


def instance_allocatable(
    instance_type: str,
    specs: Mapping[str, tuple[int, float]] | None = None,
    max_pods: int = DEFAULT_MAX_PODS,
) -> Resources:
    """Allocatable of a new node of ``instance_type``; ``specs`` (``{type: (vCPUs, GiB)}``) wins over the
    catalog.

    :raises UnknownInstanceType: neither knows the type.
    """
    vcpus, memory_gib = (specs or {}).get(instance_type) or instance_capacity(instance_type)
    return allocatable_from_capacity(vcpus, memory_gib, max_pods)


def pool_allocatable(
    instance_types: Iterable[str], specs: Mapping[str, tuple[int, float]] | None = None
) -> dict[str, Resources]:
    """``PoolView.allocatable`` for a pool's instance types.

    :raises UnknownInstanceType: a type neither ``specs`` nor the catalog knows.
    """
    return {t: instance_allocatable(t, specs) for t in instance_types}
