"""Apply for ``reconcile_capacity``: one cluster's plan, action by action, every call audited by its hook.

- ``scale_deployment``: the Deployment's scale subresource (no call when it already has the replicas).
- ``add_nodes``: :func:`flows.nodes.ensure_worker_batch` (a fresh bootstrap token per batch, the join
  bundle in a KMS delivery secret, RunInstances). The planned offering first, then the planner's
  fallbacks **in the same task** when RunInstances answers a stock error (``OperationDenied.NoStock``,
  ``Zone.NotOnSale``): each failed offering is backed off in the registry
  (``include.capacity.zones.backoff_for``). Every (zone, type, batch) attempt has its own ClientToken
  (``include.capacity.zones.client_token``), so a fallback never re-sends a token with other
  parameters and a retried task re-sends the same ones.
- ``remove_node``: cordon, drain through the eviction API (PodDisruptionBudgets honoured), then
  DeleteInstances. A drain the budgets refuse for ``drain_timeout_s`` leaves the node uncordoned and
  running, and the result says why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from include.capacity.model import ADD_NODES, REMOVE_NODE, SCALE_DEPLOYMENT, Action, Offering, Snapshot
from include.errors import ConfigurationError, PermanentCloudError
from include.fleet.contract import ROLE_WORKER, TAG_INTENT
from operators.hooks.ecs import EcsHook

log = logging.getLogger(__name__)

#: connection extras of the apply step (seconds)
DRAIN_TIMEOUT_EXTRA = "capacity_drain_timeout_s"
DEFAULT_DRAIN_TIMEOUT_S = 120.0
DRAIN_POLL_S = 2.0


class OfferingEcsHook(EcsHook):
    """``EcsHook`` whose RunInstances ClientTokens name the offering and batch being launched.

    ``ensure_instances`` derives its token from ``run-instances:<cluster>:<pool>:<zone>:<offset>+<n>``,
    which does not name the instance type; here that intent becomes the ``generation`` part of
    ``include.capacity.zones.client_token`` so the type and the plan's batch are in the token too.
    """

    def __init__(self, *, pool: str, zone: str, instance_type: str, batch: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offering_pool, self.offering_zone = pool, zone
        self.offering_type, self.offering_batch = instance_type, batch

    def client_token(self, intent: str) -> str:
        if not intent.startswith("run-instances:"):
            return str(super().client_token(intent))
        from include.capacity.zones import client_token

        return client_token(
            str(self.cluster),
            self.offering_pool,
            self.offering_zone,
            self.offering_type,
            self.offering_batch,
            intent.split(":", 4)[-1],
            identity=self.audit_context.identity,
        )


@dataclass
class LaunchContext:
    """What every new worker of a cluster is launched with (read once per cluster, only when needed)."""

    cluster: str
    region_id: str
    domain: str
    kubernetes_version: str
    vswitches: dict[str, str]
    security_group_id: str
    images: dict[str, str]
    creds: Any = field(repr=False)
    settings: Any


def launch_context(
    cluster: str, *, ecs: Any, registry: Any, extra: Mapping[str, Any], pools: list[str]
) -> LaunchContext:
    """Read what a scale-up needs: vSwitches per zone, the cluster's security group, each pool's image.

    :raises ConfigurationError: the cluster has no Kubernetes version, vSwitch, security group or image.
    """
    from flows.provision_reads import DEFAULT_IMAGE_FAMILY
    from include.provisioning.apply import load_credentials
    from include.provisioning.bootstrap_settings import BootstrapSettings
    from include.provisioning.naming import security_group_name

    record = registry.require_cluster(cluster)
    spec = dict(record.spec or {})
    version = spec.get("kubernetes_version")
    if not version:
        raise ConfigurationError(f"cluster {cluster!r} has no kubernetes_version in its registry spec")
    zones = sorted({p.zone_id for p in record.node_pools})
    net = ecs.network(zones, extra.get("vpc_id"))
    if net is None:
        raise ConfigurationError(f"no VPC with vSwitches for {cluster}'s zones {zones}")
    groups = ecs.list_security_groups(cluster)
    named = [g.security_group_id for g in groups if g.name == security_group_name(cluster)]
    chosen = named or sorted(g.security_group_id for g in groups)
    if not chosen:
        raise ConfigurationError(f"cluster {cluster!r} has no security group tagged for it")
    explicit = {p.get("name"): p.get("image_id") for p in spec.get("node_pools") or [] if isinstance(p, dict)}
    images: dict[str, str] = {}
    for pool in pools:
        wanted = explicit.get(pool) or extra.get("image_id") or None
        family = None if wanted else str(extra.get("image_family") or DEFAULT_IMAGE_FAMILY)
        images[pool] = ecs.resolve_image(image_id=wanted, image_family=family)
    return LaunchContext(
        cluster=cluster,
        region_id=record.region_id,
        domain=record.domain,
        kubernetes_version=str(version),
        vswitches=dict(net.vswitches),
        security_group_id=chosen[0],
        images=images,
        creds=load_credentials(registry, cluster),
        settings=BootstrapSettings.from_extra(extra),
    )


def batch_key(action: Action, offering: Offering, batch: int) -> str:
    """The batch's name in its delivery secret and ``yunfleet:intent`` tag."""
    return f"capacity-{action.pool}-{offering.zone}-{offering.instance_type}-b{batch}"


def add_nodes(
    action: Action,
    batch: int,
    *,
    ctx: LaunchContext,
    snapshot: Snapshot,
    settings: Any,
    instances: dict[str, list[str]],
    blocked: set[Offering],
    registry: Any,
    kms: Any,
    kube: Any,
    now: float,
) -> dict[str, Any]:
    """Launch ``action.count`` workers: the planned offering, else its fallbacks in order.

    ``instances`` (``{"<pool>/<zone>": ids}``, as observed) gives the count each batch ensures and is
    updated; ``blocked`` collects offerings sold out in this run (shared by the cluster's actions).
    Returns ``{"target", "pool", "zone", "instance_type", "count", "instance_ids", "created_ids",
    "secret_name", "tried"}``; ``zone`` is ``None`` when every offering was sold out.
    """
    from flows.nodes import ensure_worker_batch
    from include.capacity.zones import STOCK_ERRORS, backoff_for
    from include.provisioning.node import NodeSpec
    from include.provisioning.node_batches import Placement

    assert action.pool and action.zone and action.instance_type
    known = {b.offering: b for b in snapshot.backoffs}
    active = set(snapshot.active_backoffs())
    tried: list[dict[str, Any]] = []
    for offering in (Offering(action.zone, action.instance_type), *action.fallbacks):
        if offering in blocked or offering in active:
            tried.append({"offering": offering.to_json(), "outcome": "backed off"})
            continue
        if offering.zone not in ctx.vswitches:
            tried.append({"offering": offering.to_json(), "outcome": "no vSwitch in the zone"})
            continue
        key = f"{action.pool}/{offering.zone}"
        count = len(instances.get(key, [])) + action.count
        name = batch_key(action, offering, batch)
        ecs = OfferingEcsHook(
            pool=action.pool,
            zone=offering.zone,
            instance_type=offering.instance_type,
            batch=batch,
            cluster=ctx.cluster,
        )
        node = NodeSpec(
            cluster=ctx.cluster,
            region_id=ctx.region_id,
            domain=ctx.domain,
            kubernetes_version=ctx.kubernetes_version,
            role=ROLE_WORKER,
            zone=offering.zone,
            instance_type=offering.instance_type,
            node_pool=action.pool,
        )
        try:
            result = ensure_worker_batch(
                ecs,
                kms,
                kube,
                node=node,
                count=count,
                batch_key=name,
                nonce=ecs.client_token(f"delivery:{name}"),
                placement=Placement(
                    ctx.vswitches[offering.zone],
                    ctx.security_group_id,
                    ctx.images[action.pool],
                    {TAG_INTENT: name},
                ),
                creds=ctx.creds,
                settings=ctx.settings,
            )
        except PermanentCloudError as exc:
            if exc.code not in STOCK_ERRORS:
                raise
            backoff = backoff_for(offering, now, settings, reason=str(exc.code), previous=known.get(offering))
            registry.record_backoff(
                offering.zone,
                offering.instance_type,
                until=dt.datetime.fromtimestamp(backoff.until, dt.UTC),
                reason=f"{exc.code}: {exc.message}",
                failures=backoff.failures,
            )
            blocked.add(offering)
            tried.append({"offering": offering.to_json(), "outcome": str(exc.code)})
            log.warning(
                "%s %s sold out (%s); backed off for %.0f s; trying the next offering",
                offering.zone,
                offering.instance_type,
                exc.code,
                backoff.until - now,
            )
            continue
        instances[key] = list(result["instance_ids"])
        tried.append({"offering": offering.to_json(), "outcome": "launched"})
        log.info(
            "%s: %d node(s) of %s in %s (created %s)",
            action.pool,
            action.count,
            offering.instance_type,
            offering.zone,
            result["created_ids"],
        )
        return {
            "target": action.target,
            "pool": action.pool,
            "zone": offering.zone,
            "instance_type": offering.instance_type,
            "count": action.count,
            "fallback": offering != Offering(action.zone, action.instance_type),
            "pods": list(action.pods),
            **result,
            "tried": tried,
        }
    return {
        "target": action.target,
        "pool": action.pool,
        "zone": None,
        "instance_type": None,
        "count": action.count,
        "instance_ids": [],
        "created_ids": [],
        "secret_name": None,
        "pods": list(action.pods),
        "tried": tried,
    }


def remove_node(action: Action, *, kube: Any, ecs: Any, drain_timeout: float) -> dict[str, Any]:
    """Cordon, drain (eviction API, budgets honoured), release the instance.

    A drain refused for ``drain_timeout`` seconds uncordons the node (``kube.drain``) and returns
    ``{"removed": False, "refused": <why>}``; nothing is deleted then.
    """
    from operators.utils.kubernetes_errors import DrainTimeoutError

    if not action.instance_id:
        return {"node": action.target, "removed": False, "refused": "no instance id (unmanaged); left alone"}
    try:
        drained = kube.drain(action.target, timeout=drain_timeout, poll_interval=DRAIN_POLL_S)
    except DrainTimeoutError as exc:
        log.warning("%s", exc)
        return {
            "node": action.target,
            "instance_id": action.instance_id,
            "removed": False,
            "refused": str(exc),
        }
    deleted = ecs.delete_instances([action.instance_id], cluster=kube.cluster)
    log.info(
        "%s drained (%d pods evicted), instance %s released", action.target, len(drained["evicted"]), deleted
    )
    return {
        "node": action.target,
        "instance_id": action.instance_id,
        "removed": True,
        "evicted": drained["evicted"],
        "deleted": deleted,
    }


def scale_deployment(action: Action, *, kube: Any) -> dict[str, Any]:
    """The Deployment's replicas through the scale subresource (no call when already there)."""
    namespace, _, name = action.target.partition("/")
    assert action.replicas is not None
    return dict(kube.scale_deployment(namespace, name, int(action.replicas)))


ORDER = {SCALE_DEPLOYMENT: 0, ADD_NODES: 1, REMOVE_NODE: 2}
