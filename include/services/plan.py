"""The Service registry's plan: the minimal writes that make the zone publish the exported Services.

:func:`plan_registrations` is a pure function of the settings, the zone's records and how the run
sees each cluster (:class:`~include.services.model.ClusterView`). A converged zone gives a plan with
no change. Rules (docs/service-registry.md):

- per cluster: ``<svc>.<ns>.<cluster>`` has exactly the A records of the Service's load balancer;
- across clusters: ``<svc>.<ns>.global`` has one A record per cluster exporting the Service, weighted
  round robin on once it has two records, each weighted by ``yunfleet.io/weight`` (or the default);
  a record of a cluster that is not serving is disabled, unless that would leave the name without
  any enabled record (then every record answers: fail-open);
- every name carries the ownership record ``_yunfleet.<rr>`` of this fleet, written first;
- a foreign name (see :mod:`include.services.ownership`) is reported and never written to;
- a name or a record of a ``kept`` cluster stays exactly as it is; names of ``gone`` clusters and of
  Services no longer exported are removed (policy ``sync``) or left (``upsert-only``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from include.fleet.contract import ownership_rr, ownership_value
from include.services.changes import (
    ADD,
    DELETE,
    SET_STATUS,
    SET_WEIGHT,
    SET_WEIGHTED,
    TTL_ACTIONS,
    UPDATE,
    NamePlan,
    RecordChange,
)
from include.services.model import (
    MODE_GONE,
    MODE_KEPT,
    MODE_OBSERVED,
    POLICY_SYNC,
    ClusterView,
    RegistrationSettings,
    ZoneRecord,
)
from include.services.naming import ServiceName, cluster_name, global_name, name_problem, parse_rr
from include.services.ownership import NameState, ZoneIndex


@dataclass(frozen=True)
class Target:
    """One address a name should answer with."""

    value: str
    cluster: str
    weight: int | None = None
    enabled: bool = True


@dataclass
class Desired:
    """What one name should hold: ``targets`` by value, and ``keep``: values left exactly as they are."""

    name: ServiceName
    targets: dict[str, Target] = field(default_factory=dict)
    keep: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class GlobalCheck:
    """A global name after the plan, for the gate: how many targets are healthy."""

    rr: str
    healthy_targets: int

    def to_json(self) -> dict[str, Any]:
        return {"rr": self.rr, "healthy_targets": self.healthy_targets}


@dataclass(frozen=True)
class ServicePlan:
    """The writes of one run, by name, with what was left alone and why."""

    domain: str
    ttl: int
    policy: str
    names: tuple[NamePlan, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    checks: tuple[GlobalCheck, ...] = ()
    published: int = 0

    @property
    def changes(self) -> list[RecordChange]:
        return [c for n in self.names for c in n.changes]

    @property
    def writes_ttl(self) -> bool:
        return any(c.action in TTL_ACTIONS for c in self.changes)

    def summary(self) -> list[str]:
        """The plan as lines: conflicts, notes, then each change."""
        lines = [f"! conflict, left alone: {c}" for c in self.conflicts]
        lines += [f"note: {n}" for n in self.notes]
        for name in self.names:
            lines += [c.describe(self.domain) for c in name.changes]
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "ttl": self.ttl,
            "policy": self.policy,
            "names": [n.to_json() for n in self.names],
            "conflicts": list(self.conflicts),
            "notes": list(self.notes),
            "checks": [c.to_json() for c in self.checks],
            "published": self.published,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServicePlan:
        return cls(
            domain=data["domain"],
            ttl=int(data["ttl"]),
            policy=data["policy"],
            names=tuple(NamePlan.from_json(n) for n in data.get("names") or ()),
            conflicts=tuple(data.get("conflicts") or ()),
            notes=tuple(data.get("notes") or ()),
            checks=tuple(GlobalCheck(**c) for c in data.get("checks") or ()),
            published=int(data.get("published") or 0),
        )


def plan_registrations(
    settings: RegistrationSettings, records: Iterable[ZoneRecord], clusters: Mapping[str, ClusterView]
) -> ServicePlan:
    """The writes that make the zone publish what ``clusters`` export; see the module docstring.

    :param records: every record of the zone (``DescribeDomainRecords``, all pages).
    :param clusters: the registered clusters by name. A cluster found only in the zone's names is
        ``gone`` when ``settings.complete``, else ``kept``.
    """
    index = ZoneIndex.build(records, settings.owner)
    owned = index.owned_service_names()
    views = dict(clusters)
    for name in owned:
        if not name.is_global and name.scope not in views:
            views[name.scope] = ClusterView(
                name.scope,
                MODE_GONE if settings.complete else MODE_KEPT,
                reason="not a registered cluster" if settings.complete else "not in this run",
            )
    builder = _DesiredBuilder(settings, index, owned, views)
    desired = builder.build()
    notes = builder.notes
    conflicts: list[str] = []
    plans: list[NamePlan] = []
    for rr in sorted(set(desired) | {n.rr for n in owned}):
        if rr in builder.frozen:
            continue
        state = index.state(rr)
        want = desired.get(rr)
        if want is None:
            conflict = state.conflict()
            if conflict:
                conflicts.append(f"{rr}.{settings.domain}: {conflict}")
                continue
            if settings.policy != POLICY_SYNC:
                notes.append(
                    f"{rr}.{settings.domain} is no longer published; kept (policy {settings.policy})"
                )
                continue
            name = next(n for n in owned if n.rr == rr)
            changes = _removal(state, None if name.is_global else name.scope)
            source = name.source
        else:
            conflict = state.conflict()
            if conflict:
                conflicts.append(f"{rr}.{settings.domain}: {conflict}")
                continue
            changes = _diff(state, want, settings, builder.attributed, notes)
            source = want.name.source
        if changes:
            plans.append(NamePlan(rr, source, tuple(changes)))
    checks = tuple(
        GlobalCheck(rr, sum(1 for t in d.targets.values() if views[t.cluster].serving))
        for rr, d in sorted(desired.items())
        if d.name.is_global and rr not in builder.frozen and not index.state(rr).conflict()
    )
    return ServicePlan(
        domain=settings.domain,
        ttl=settings.ttl,
        policy=settings.policy,
        names=tuple(plans),
        conflicts=tuple(conflicts),
        notes=tuple(notes),
        checks=checks,
        published=len(desired),
    )


def plan_withdrawal(
    settings: RegistrationSettings, records: Iterable[ZoneRecord], cluster: str
) -> ServicePlan:
    """The writes that take ``cluster``'s names out of the zone and leave every other name as it is.

    Its ``<svc>.<ns>.<cluster>`` names go, and its records in global names (recognised by the
    addresses of its own names); a global name it alone served goes too. For decommissioning.
    """
    scoped = replace(settings, complete=False)
    return plan_registrations(
        scoped, records, {cluster: ClusterView(cluster, MODE_GONE, reason="decommissioned")}
    )


def plan_out_of_service(
    settings: RegistrationSettings, records: Iterable[ZoneRecord], not_serving: Mapping[str, str]
) -> ServicePlan:
    """The status writes that disable, in global names, the records of the clusters in ``not_serving``
    (``{cluster: reason}``) and leave every other record of the zone as it is.

    The fast path of a zone evacuation (``zone_failover``): no cluster is read, the clusters' own names
    stay, and a global name whose every record would be off keeps answering (fail-open: its records
    are enabled), exactly as a full ``register_services`` run would plan it, so the next full run plans
    no other status for them. Only ``SetDomainRecordStatus`` writes are kept: a TTL or ownership fix
    the full planner would add waits for that run, so it can never stand in front of a disable.
    """
    scoped = replace(settings, complete=False)
    views = {c: ClusterView(c, MODE_KEPT, False, reason) for c, reason in not_serving.items()}
    full = plan_registrations(scoped, records, views)
    names = []
    for name in full.names:
        statuses = tuple(c for c in name.changes if c.action == SET_STATUS)
        if statuses:
            names.append(NamePlan(name.rr, name.source, statuses))
    return replace(full, names=tuple(names))


def hold_back_enables(plan: ServicePlan, left_service: Iterable[str]) -> tuple[ServicePlan, list[str]]:
    """``plan`` without the global names whose writes could make them answer with a cluster in
    ``left_service``: the clusters that went out of service after the plan was made (a zone evacuated
    while the run was reading), whose records the evacuation has just disabled.

    A global name is held back whole when any of its writes touches such a cluster other than by
    disabling or deleting its record (an enable, an add, a value update, a weight): sending only part
    of a name's plan could leave it with no enabled record, or stop at a weight write the disabled
    record refuses. Every other name is sent. Returns the plan and one line per name held back (the
    run the evacuation started plans them again from the new zone states).
    """
    gone = set(left_service)
    if not gone:
        return plan, []
    held: list[str] = []
    names: list[NamePlan] = []
    for name in plan.names:
        parsed = parse_rr(name.rr)
        touching = sorted(
            {
                str(c.cluster)
                for c in name.changes
                if c.cluster in gone
                and c.action != DELETE
                and not (c.action == SET_STATUS and c.status == "Disable")
            }
        )
        if parsed is not None and parsed.is_global and touching:
            held.append(
                f"{name.rr}.{plan.domain}: {len(name.changes)} write(s) held back "
                f"({', '.join(touching)} no longer serving)"
            )
        else:
            names.append(name)
    return replace(plan, names=tuple(names)), held


class _DesiredBuilder:
    """Builds the desired names from the cluster views and the values that must stay as they are."""

    def __init__(
        self,
        settings: RegistrationSettings,
        index: ZoneIndex,
        owned: list[ServiceName],
        views: Mapping[str, ClusterView],
    ) -> None:
        self.settings = settings
        self.index = index
        self.owned = owned
        self.views = views
        self.desired: dict[str, Desired] = {}
        #: names left exactly as they are
        self.frozen: set[str] = set()
        #: address -> cluster, from the per-cluster names we own (which cluster a global record is)
        self.attributed: dict[str, str] = {}
        self.notes: list[str] = []

    def _current_values(self, rr: str) -> set[str]:
        state = self.index.state(rr)
        return {r.value for r in state.managed} if state.owned else set()

    def _keep_in_global(self, namespace: str, service: str, values: set[str]) -> None:
        if values:
            name = global_name(namespace, service)
            self.desired.setdefault(name.rr, Desired(name)).keep.update(values)

    def build(self) -> dict[str, Desired]:
        for name in self.owned:
            if not name.is_global:
                for value in self._current_values(name.rr):
                    self.attributed[value] = name.scope
        for view in sorted(self.views.values(), key=lambda v: v.name):
            if view.mode == MODE_KEPT:
                self._keep_cluster(view)
            elif view.mode == MODE_OBSERVED:
                self._observed_cluster(view)
            elif view.mode == MODE_GONE:
                self.notes.append(f"cluster {view.name} is leaving the fleet ({view.reason}): its names go")
        self._keep_unattributed()
        self._fail_open()
        return self.desired

    def _keep_cluster(self, view: ClusterView) -> None:
        """Its own names stay exactly as they are; in global names its addresses stay as they are too,
        unless zone health says it is not serving: then they are disabled like an observed cluster's
        (a cluster in a failed zone usually cannot be read, which must not keep it in global names)."""
        self.notes.append(f"cluster {view.name} kept as it is ({view.reason or 'not observed'})")
        if not view.serving:
            self.notes.append(f"cluster {view.name} is not serving: out of global names")
        for name in self.owned:
            if name.scope == view.name:
                self.frozen.add(name.rr)
                values = self._current_values(name.rr)
                if view.serving:
                    self._keep_in_global(name.namespace, name.service, values)
                else:
                    self._disable_in_global(name.namespace, name.service, values, view.name)

    def _disable_in_global(self, namespace: str, service: str, values: set[str], cluster: str) -> None:
        shared = global_name(namespace, service)
        want = self.desired.setdefault(shared.rr, Desired(shared))
        current = {r.value: r.weight for r in self.index.state(shared.rr).managed}
        for value in values:
            weight = current.get(value) or self.settings.default_weight
            want.targets.setdefault(value, Target(value, cluster, weight, False))

    def _observed_cluster(self, view: ClusterView) -> None:
        if not view.serving:
            self.notes.append(f"cluster {view.name} is not serving ({view.reason}): out of global names")
        for service in view.services:
            problem = service.problem or name_problem(
                view.name, service.namespace, service.name, self.settings.domain
            )
            local = cluster_name(view.name, service.namespace, service.name)
            if problem is None and not service.addresses:
                problem = f"{service.key} has no load balancer address yet; its names are left as they are"
            if problem:
                self.notes.append(problem)
                self.frozen.add(local.rr)
                values = self._current_values(local.rr) | set(service.addresses)
                self._keep_in_global(service.namespace, service.name, values)
                continue
            self.desired[local.rr] = Desired(local, {a: Target(a, view.name) for a in service.addresses})
            shared = global_name(service.namespace, service.name)
            want = self.desired.setdefault(shared.rr, Desired(shared))
            weight = service.weight or self.settings.default_weight
            for address in service.addresses:
                want.targets[address] = Target(address, view.name, weight, view.serving)

    def _keep_unattributed(self) -> None:
        """In a run over a subset of clusters, a global record nobody can be sure of stays."""
        if self.settings.complete:
            return
        for name in self.owned:
            if name.is_global:
                loose = {v for v in self._current_values(name.rr) if v not in self.attributed}
                self._keep_in_global(name.namespace, name.service, loose)

    def _fail_open(self) -> None:
        for rr, want in self.desired.items():
            if not want.name.is_global or not want.targets:
                continue
            if any(t.enabled for t in want.targets.values()):
                continue
            state = self.index.state(rr)
            kept_enabled = state.owned and any(r.enabled and r.value in want.keep for r in state.managed)
            if kept_enabled:
                continue
            self.notes.append(
                f"{rr}.{self.settings.domain}: every cluster serving it is failed; "
                "all keep answering (fail-open)"
            )
            want.targets = {v: Target(t.value, t.cluster, t.weight, True) for v, t in want.targets.items()}


def _removal(state: NameState, cluster: str | None) -> list[RecordChange]:
    """Delete our A records at a name, then its ownership records (last: the name stays ours until empty)."""
    changes = [_delete(r, cluster) for r in sorted(state.managed, key=_order) if not r.locked]
    if len(changes) == len(state.managed):
        changes += [_delete(r) for r in sorted(state.claims, key=_order)]
    return changes


def _diff(
    state: NameState,
    want: Desired,
    settings: RegistrationSettings,
    attributed: Mapping[str, str],
    notes: list[str],
) -> list[RecordChange]:
    ttl, rr, domain = settings.ttl, state.rr, settings.domain
    sync = settings.policy == POLICY_SYNC
    changes: list[RecordChange] = []
    claim = ownership_value(settings.owner, want.name.source)
    claims = sorted(state.claims, key=_order)
    if not claims:
        changes.append(RecordChange(ADD, ownership_rr(rr), "TXT", claim, ttl))
    elif claims[0].value.strip('"') != claim or claims[0].ttl != ttl:
        changes.append(RecordChange(UPDATE, ownership_rr(rr), "TXT", claim, ttl, claims[0].record_id))
    current = {r.value: r for r in state.managed}
    targets = want.targets
    doomed = [v for v in sorted(current) if v not in targets and v not in want.keep and not current[v].locked]
    if not sync:
        doomed = []
    missing = [v for v in sorted(targets) if v not in current and targets[v].enabled]
    # a record whose value was changed by hand is changed back: one update, not an add and a delete
    reused = {new: current[old] for new, old in zip(missing, doomed, strict=False)}
    added, doomed = missing[len(reused) :], doomed[len(reused) :]
    live = {v: current[v] for v in targets if v in current} | reused
    changes += [RecordChange(ADD, rr, "A", v, ttl, cluster=targets[v].cluster) for v in added]
    for value in sorted(live):
        record = live[value]
        if (value in reused or record.ttl != ttl) and not record.locked:
            changes.append(
                RecordChange(UPDATE, rr, "A", value, ttl, record.record_id, cluster=targets[value].cluster)
            )
    for value in sorted(live):
        if targets[value].enabled and not live[value].enabled:
            changes.append(_status(live[value], "Enable", targets[value].cluster, value))
    if want.name.is_global and len(current) - len(doomed) + len(added) >= 2:
        if not any(r.weighted for r in current.values()):
            changes.append(RecordChange(SET_WEIGHTED, rr, "A", open=True))
        for value in sorted(set(live) | set(added)):
            target, existing = targets[value], live.get(value)
            if target.enabled and (existing is None or existing.weight != target.weight):
                record_id = existing.record_id if existing else None
                changes.append(
                    RecordChange(
                        SET_WEIGHT,
                        rr,
                        "A",
                        value,
                        record_id=record_id,
                        weight=target.weight,
                        cluster=target.cluster,
                    )
                )
    for value in sorted(live):
        if not targets[value].enabled and live[value].enabled:
            changes.append(_status(live[value], "Disable", targets[value].cluster, value))
    changes += [_delete(current[v], attributed.get(v)) for v in doomed]
    if sync:
        changes += [_delete(r) for r in claims[1:]]
    locked = sorted(v for v, r in current.items() if r.locked and v not in targets and v not in want.keep)
    if locked:
        notes.append(f"{rr}.{domain}: locked records left as they are: {', '.join(locked)}")
    return changes


def _order(record: ZoneRecord) -> tuple[int, str]:
    return (0, record.record_id.zfill(24)) if record.record_id.isdigit() else (1, record.record_id)


def _delete(record: ZoneRecord, cluster: str | None = None) -> RecordChange:
    return RecordChange(
        DELETE, record.rr, record.type, record.value, record_id=record.record_id, cluster=cluster
    )


def _status(record: ZoneRecord, status: str, cluster: str | None, value: str) -> RecordChange:
    return RecordChange(
        SET_STATUS, record.rr, record.type, value, record_id=record.record_id, status=status, cluster=cluster
    )
