"""Which clusters a run reads, and how it treats the others (from the fleet registry, before any call).

- ``ready`` and ``degraded`` clusters are read (``observed``) unless the run names other clusters;
- ``decommissioning`` clusters are ``gone``: their names are removed while their load balancers still
  exist, so a global name stops answering with them first;
- clusters in any other state (``requested``, ``provisioning``, ``failed``) and clusters outside the
  run's ``clusters`` are ``kept``: their names stay exactly as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from include.services.health import cluster_health
from include.services.model import MODE_GONE, MODE_KEPT, MODE_OBSERVED, ClusterView

READ_STATES = frozenset({"ready", "degraded"})
LEAVING_STATES = frozenset({"decommissioning", "deleted"})


@dataclass(frozen=True)
class RegisteredCluster:
    """What the registry says about a cluster: its state and the zones it serves from."""

    name: str
    state: str
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunScope:
    views: dict[str, ClusterView]
    #: the clusters whose Services this run reads, sorted
    observe: list[str]
    #: ``True`` when every registered cluster is considered (no ``clusters`` subset)
    complete: bool


def run_scope(
    registered: Iterable[RegisteredCluster],
    requested: Sequence[str],
    fleet_states: Mapping[str, str],
    cluster_states: Mapping[str, Mapping[str, str]],
) -> RunScope:
    """The run's view of every registered cluster.

    :param requested: the run's ``clusters`` param (empty: every cluster).
    :param fleet_states: ``{zone_id: state}`` of the fleet-wide zone states.
    :param cluster_states: ``{cluster: {zone_id: state}}`` of cluster-scoped zone states.
    :raises ValueError: a requested cluster is not registered (one line naming the known ones).
    """
    clusters = {c.name: c for c in registered}
    unknown = sorted(set(requested) - set(clusters))
    if unknown:
        known = ", ".join(sorted(clusters)) or "none"
        raise ValueError(f"clusters not in the fleet registry: {', '.join(unknown)} (registered: {known})")
    views: dict[str, ClusterView] = {}
    for name, cluster in sorted(clusters.items()):
        health = cluster_health(name, cluster.zones, fleet_states, cluster_states.get(name, {}))
        if cluster.state in LEAVING_STATES:
            views[name] = ClusterView(name, MODE_GONE, False, f"state {cluster.state}")
        elif requested and name not in requested:
            views[name] = ClusterView(name, MODE_KEPT, health.serving, "not in this run's clusters")
        elif cluster.state not in READ_STATES:
            views[name] = ClusterView(name, MODE_KEPT, health.serving, f"state {cluster.state}")
        else:
            views[name] = ClusterView(name, MODE_OBSERVED, health.serving, health.reason)
    observe = sorted(n for n, v in views.items() if v.mode == MODE_OBSERVED)
    return RunScope(views, observe, complete=not requested)
