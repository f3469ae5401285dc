"""Whether a cluster may answer in global names, read from the zone states in the fleet registry.

The interface with zone health (issue 12) is the registry table ``zone_states``
(``FleetRegistry.set_zone_state(zone_id, state, scope=...)``):

- scope ``""`` (fleet-wide): the state of an availability zone for every cluster;
- scope ``<cluster>``: the state of a zone as that cluster sees it; zone id ``*`` stands for the
  whole cluster (``set_zone_state("*", "failed", scope="c1")`` takes ``c1`` out).

A cluster serves from the zones of its node pools (the registry's ``node_pools``, else the ``zones``
of its request). It is **not serving** when its ``*`` row is failed, or when every one of its zones
is failed (fleet-wide or in its own scope): a cluster that still has a healthy zone keeps serving,
and zone failover drains the failed zone's backends inside it. A zone in any other state
(``healthy``, ``degraded``, ``recovering``...) serves, so a recovering zone puts its clusters back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: zone states that take a zone's capacity out of global names
NOT_SERVING_STATES = frozenset({"failed"})
#: zone id of a cluster-scoped row that stands for the whole cluster
WHOLE_CLUSTER = "*"


@dataclass(frozen=True)
class Health:
    serving: bool
    reason: str = ""


def cluster_health(
    cluster: str,
    zones: Iterable[str],
    fleet_states: Mapping[str, str],
    cluster_states: Mapping[str, str],
) -> Health:
    """Whether ``cluster`` serves, from its zones and the zone states (``{zone_id: state}``).

    >>> cluster_health("c1", ["z1", "z2"], {"z1": "failed"}, {}).serving
    True
    >>> cluster_health("c1", ["z1"], {"z1": "failed"}, {}).reason
    'every zone of c1 is failed: z1'
    """
    if cluster_states.get(WHOLE_CLUSTER) in NOT_SERVING_STATES:
        return Health(False, f"{cluster} is marked {cluster_states[WHOLE_CLUSTER]}")
    zone_list = sorted(set(zones))
    if not zone_list:
        return Health(True)

    def failed(zone: str) -> bool:
        return cluster_states.get(zone) in NOT_SERVING_STATES or fleet_states.get(zone) in NOT_SERVING_STATES

    if all(failed(z) for z in zone_list):
        return Health(False, f"every zone of {cluster} is failed: {', '.join(zone_list)}")
    return Health(True)
