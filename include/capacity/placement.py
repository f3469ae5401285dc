"""Where a pod may run: its nodeSelector and required node affinity against node labels, its
tolerations against node taints.

Semantics are the scheduler's (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/):
every nodeSelector pair must match; of the required affinity's ``nodeSelectorTerms`` at least one must
match (terms are OR-ed, the requirements inside a term AND-ed). Only ``In`` requirements are modelled
(:data:`include.capacity.model.AffinityTerm`).

A new node of pool ``p`` in zone ``z`` of type ``t`` carries exactly the three contract labels; a
constraint on any other label cannot be promised on a new node, so such a pod gets no new node (it is
listed with the reason, never guessed). New nodes carry no taint.

Taints follow https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/: a node's
``NoSchedule`` and ``NoExecute`` taints keep off every pod that does not tolerate each of them
(``PreferNoSchedule`` is a preference, never a bar). A toleration matches a taint when its effect is
empty or the same, and either its operator is ``Exists`` and its key empty or the same, or its operator
is ``Equal`` (the default) and key and value are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from include.capacity.model import (
    INSTANCE_TYPE_LABEL,
    PLACEMENT_LABELS,
    POOL_LABEL,
    ZONE_LABEL,
    AffinityTerm,
    Offering,
    PodView,
    PoolView,
    Taint,
    Toleration,
)

#: taint effects that keep a pod off a node (``PreferNoSchedule`` only discourages)
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})

#: a pod's placement constraints in hashable form: (sorted nodeSelector items, required terms)
Constraints = tuple[tuple[tuple[str, str], ...], tuple[AffinityTerm, ...]]


def constraints_of(pod: PodView) -> Constraints:
    return tuple(sorted(pod.node_selector.items())), pod.required_terms


def matches(constraints: Constraints, labels: Mapping[str, str]) -> bool:
    """The pod may run on a node with ``labels``."""
    selector, terms = constraints
    if any(labels.get(k) != v for k, v in selector):
        return False
    if not terms:
        return True
    return any(all(labels.get(k) in values for k, values in term) for term in terms)


def _tolerated(taint: Taint, tolerations: tuple[Toleration, ...]) -> bool:
    key, value, effect = taint
    for t_key, operator, t_value, t_effect in tolerations:
        if t_effect and t_effect != effect:
            continue
        if operator == "Exists":
            if not t_key or t_key == key:
                return True
        elif t_key == key and t_value == value:
            return True
    return False


def tolerates(tolerations: tuple[Toleration, ...], taints: tuple[Taint, ...]) -> bool:
    """A pod with ``tolerations`` may be placed on a node with ``taints`` (module docstring)."""
    return all(t[2] not in BLOCKING_EFFECTS or _tolerated(t, tolerations) for t in taints)


def foreign_keys(constraints: Constraints) -> tuple[str, ...]:
    """Label keys the constraints need that a new node does not carry (nodeSelector, or every term)."""
    selector, terms = constraints
    keys = {k for k, _ in selector if k not in PLACEMENT_LABELS}
    if terms and all(any(k not in PLACEMENT_LABELS for k, _ in term) for term in terms):
        keys |= {k for term in terms for k, _ in term if k not in PLACEMENT_LABELS}
    return tuple(sorted(keys))


@lru_cache(maxsize=4096)
def _allowed(
    constraints: Constraints, pool: str, zones: tuple[str, ...], types: tuple[str, ...]
) -> frozenset[Offering]:
    return frozenset(
        Offering(z, t)
        for z in zones
        for t in types
        if matches(constraints, {POOL_LABEL: pool, ZONE_LABEL: z, INSTANCE_TYPE_LABEL: t})
    )


def allowed_offerings(constraints: Constraints, pool: PoolView) -> frozenset[Offering]:
    """The (zone, instance type) pairs of ``pool`` whose new nodes the pod may run on."""
    return _allowed(constraints, pool.name, pool.zones, pool.instance_types)
