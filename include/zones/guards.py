"""Guard rails of zone failover: never act when every zone looks failed, never drain below the pools' minimum.

- :func:`all_zones_failed`: if every zone that has targets looks bad in the same round and the round
  would leave one of them failed, the probes are probably wrong (or the monitor is cut off): hold every
  zone as it was, alert, change nothing, and DNS keeps answering. This covers every zone failing at
  once, and also outages that start a probe apart (the first zone to reach failed is held while the
  others are still suspect). AWS ELB sends traffic to every zone when all look unhealthy; Envoy's
  panic threshold ignores health below 50 %; k8gb warns of premature failover when the monitor is
  partitioned.
- :func:`capacity_guard`: evacuating a zone is refused, with the reason, when what remains in the
  other zones cannot carry a pool's minimum size (AWS zonal autoshift checks capacity for the same
  reason: it "does not wait for auto scaling").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from include.zones.probes import ZoneProbe


@dataclass(frozen=True)
class AllZonesDecision:
    """``hold`` when every zone with targets would be failed; ``zones``: the zones with targets."""

    hold: bool
    zones: tuple[str, ...]
    message: str = ""


def all_zones_failed(proposed: Mapping[str, str], probes: Mapping[str, ZoneProbe]) -> AllZonesDecision:
    """Whether to hold everything: ``proposed`` is ``{zone_id: state after this round}``; a zone has
    targets when its probe's verdict is not ``unknown``.

    Holds when at least one zone has targets, every such zone's probe is ``bad``, and at least one of
    them would be ``failed`` after the round. So every zone failing at once is held, and so is a zone
    reaching failed while every other one looks bad too; a single round where every zone looks bad
    but none would fail (a blip) is not held: the zones become suspect, which moves no traffic.
    """
    zones = tuple(sorted(z for z, p in probes.items() if p.verdict != "unknown"))
    every_zone_bad = bool(zones) and all(probes[z].verdict == "bad" for z in zones)
    failing = tuple(z for z in zones if proposed.get(z) == "failed")
    if every_zone_bad and failing:
        return AllZonesDecision(
            True,
            zones,
            f"every zone with targets looks bad ({', '.join(zones)}) and {', '.join(failing)} would be "
            "failed: the probes are probably wrong; no zone changes state, no traffic moves, DNS keeps "
            "answering; check the probes and the cloud API before evacuating by hand",
        )
    return AllZonesDecision(False, zones)


@dataclass(frozen=True)
class PoolCapacity:
    """A worker node pool of one cluster, over its zones (registry ``node_pools`` rows of one name).

    :ivar min_size: the pool's minimum size over all its zones (the sum of the rows' ``min_size``).
    :ivar max_size: the pool's maximum size over all its zones (the sum of the rows' ``max_size``).
    :ivar ready: Ready nodes of the pool per zone.
    :ivar nodes: all nodes of the pool per zone, NotReady and on their way included (default: ``ready``);
        they all count against ``max_size``, the evacuated zone's too (they stay, cordoned).
    """

    cluster: str
    pool: str
    zones: tuple[str, ...]
    min_size: int
    max_size: int
    ready: Mapping[str, int]
    nodes: Mapping[str, int] | None = None

    def in_zone(self, zone_id: str) -> bool:
        return (
            zone_id in self.zones or self.ready.get(zone_id, 0) > 0 or (self.nodes or {}).get(zone_id, 0) > 0
        )


@dataclass(frozen=True)
class PoolShortfall:
    """A pool that the evacuation would leave below its minimum."""

    cluster: str
    pool: str
    min_size: int
    remaining_ready: int
    can_add: int
    zones_left: tuple[str, ...]

    @property
    def message(self) -> str:
        head = f"pool {self.cluster}/{self.pool} needs {self.min_size} nodes (min_size) but"
        if not self.zones_left:
            return f"{head} it has no other usable zone"
        return (
            f"{head} the zones left ({', '.join(self.zones_left)}) have {self.remaining_ready} Ready "
            f"and it can add {self.can_add} more (max_size)"
        )


@dataclass(frozen=True)
class CapacityDecision:
    """``allowed`` or not, a one-line ``message`` saying why, and the pools that fall short."""

    allowed: bool
    message: str
    shortfalls: tuple[PoolShortfall, ...] = field(default_factory=tuple)


def capacity_guard(
    zone_id: str, pools: Iterable[PoolCapacity], *, failed_zones: Collection[str] = ()
) -> CapacityDecision:
    """May ``zone_id`` be evacuated without leaving a pool below its minimum?

    Rule, per pool that has the zone (in its zones or with nodes there); other pools are unaffected:

    - zones left = the pool's zones other than ``zone_id`` and other than ``failed_zones``;
    - remaining = Ready nodes of the pool in the zones left;
    - can add = ``max_size`` - all nodes of the pool (every zone), at least 0; 0 when no zone is left;
    - the pool is short when remaining + can add < ``min_size``.

    Stock in the zones left is not checked (a sold-out type falls back at apply time). Refused when any
    pool is short; the message names each.
    """
    failed = set(failed_zones)
    shortfalls = []
    checked = 0
    for pool in sorted(pools, key=lambda p: (p.cluster, p.pool)):
        if not pool.in_zone(zone_id) or pool.min_size <= 0:
            continue
        checked += 1
        left = tuple(z for z in pool.zones if z != zone_id and z not in failed)
        remaining = sum(pool.ready.get(z, 0) for z in left)
        total = sum((pool.nodes if pool.nodes is not None else pool.ready).values())
        can_add = max(0, pool.max_size - total) if left else 0
        if remaining + can_add < pool.min_size:
            shortfalls.append(PoolShortfall(pool.cluster, pool.pool, pool.min_size, remaining, can_add, left))
    if shortfalls:
        return CapacityDecision(
            False,
            f"refusing to evacuate {zone_id}: " + "; ".join(s.message for s in shortfalls),
            tuple(shortfalls),
        )
    return CapacityDecision(
        True, f"evacuating {zone_id} leaves every pool its minimum size ({checked} pool(s) in the zone)"
    )
