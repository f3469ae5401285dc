"""Launching batches of nodes whose secret bootstrap material travels through KMS.

Shared by ``provision_cluster`` and capacity scale-up (``reconcile_capacity``), one function per kind
of batch:

- :func:`ensure_control_plane`: the control-plane nodes of a new cluster; node 0 initialises it
  with the cluster CA, the others join with the control plane's bootstrap token and certificate key.
- :func:`ensure_worker_batch`: ``count`` workers of one pool in one zone, joining with a bootstrap
  token created for this batch through the cluster's API (so a batch added weeks later works).

Each batch first counts the instances it already has (tags); only when some are missing does it
issue a token, write the delivery secret (``CreateSecret``; an existing secret of the same name,
from an earlier try of the same task, is kept) and call RunInstances with user-data that names the
secret. What a node is and what it receives is decided in ``include.provisioning`` (node specs,
bundles, user-data); the hooks (``EcsHook``, ``KmsHook``, ``FleetKubernetesHook``) are passed in.
Results hold ids and secret names only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from include.fleet.contract import ROLE_CONTROL_PLANE, ROLE_WORKER, TAG_INTENT
from include.provisioning.bootstrap_settings import BootstrapSettings
from include.provisioning.bootstrap_tokens import DEFAULT_TTL
from include.provisioning.catalog import KUBERNETES_PATCH_RELEASES
from include.provisioning.cloudinit import Delivery, render_user_data
from include.provisioning.delivery import (
    ControlPlaneBootstrap,
    delivery_secret_name,
    delivery_tags,
    init_bundle,
    join_bundle,
)
from include.provisioning.naming import instance_name
from include.provisioning.node import NodeSpec
from include.provisioning.node_batches import Placement, endpoint_of, node_spec
from include.provisioning.pki import ClusterCredentials
from include.provisioning.plan import PlannedResource, ProvisionPlan
from include.provisioning.request import ProvisionRequest


def launch_batch(
    ecs: Any,
    kms: Any,
    *,
    node: NodeSpec,
    count: int,
    batch_key: str,
    nonce: str,
    placement: Placement,
    settings: BootstrapSettings,
    bundle_for: Callable[[], str],
) -> dict[str, Any]:
    """Ensure ``count`` live instances of ``node``'s role/pool in its zone.

    ``bundle_for`` is called only when instances are missing; its value becomes the delivery secret.

    :returns: ``{"instance_ids", "created_ids", "secret_name"}`` (``secret_name`` None when nothing
        was launched).
    """
    existing = ecs.list_cluster_instances(
        node.cluster,
        role=node.role,
        node_pool=node.node_pool if node.role == ROLE_WORKER else None,
        zone_id=node.zone,
    )
    if len(existing) >= count:
        return {
            "instance_ids": sorted(i.instance_id for i in existing),
            "created_ids": [],
            "secret_name": None,
        }
    secret_name = delivery_secret_name(node.cluster, batch_key, nonce)
    kms.create_secret(
        secret_name,
        bundle_for(),
        tags=delivery_tags(node.cluster),
        description=f"yunfleet node bootstrap: {node.cluster} {batch_key}",
        encryption_key_id=settings.kms_encryption_key_id,
        cluster=node.cluster,
    )
    sources = settings.sources(node.region_id, node.kubernetes_version)
    label = str(node.index) if node.role == ROLE_CONTROL_PLANE else str(node.node_pool)
    from operators.hooks.ecs import InstanceSpec

    spec = InstanceSpec(
        cluster=node.cluster,
        role=node.role,
        count=count,
        zone_id=node.zone,
        vswitch_id=placement.vswitch_id,
        instance_type=node.instance_type,
        image_id=placement.image_id,
        security_group_id=placement.security_group_id,
        node_pool=node.node_pool if node.role == ROLE_WORKER else None,
        name_prefix=instance_name(node.cluster, node.role, label),
        user_data=render_user_data(node, sources, Delivery(secret_name, settings.kms_node_endpoint)),
        ram_role_name=settings.instance_ram_role,
        extra_tags=dict(placement.extra_tags),
    )
    result: dict[str, Any] = ecs.ensure_instances(spec).to_dict()
    return {**result, "secret_name": secret_name}


def ensure_control_plane(
    ecs: Any,
    kms: Any,
    *,
    request: ProvisionRequest,
    plan: ProvisionPlan,
    creds: ClusterCredentials,
    control_plane: Callable[[], ControlPlaneBootstrap],
    domain: str,
    vswitches: Mapping[str, str],
    security_group_id: str,
    image_id: str,
    settings: BootstrapSettings,
    nonce_for: Callable[[str], str],
    now: dt.datetime,
) -> dict[str, Any]:
    """Control-plane nodes in plan order: node 0 (``kubeadm init``) first, the others join.

    ``control_plane`` gives the shared token and certificate key (asked for only when a node is
    missing; the registry keeps them while they are valid). Several nodes in one zone are ensured
    with a growing count (1, 2, ...), so each call creates at most the node it is about.

    :returns: ``{"instance_ids", "created_ids", "secret_names"}``.
    """
    per_zone: dict[str, int] = {}
    instance_ids: set[str] = set()
    created: list[str] = []
    secret_names: list[str] = []
    for item in plan.control_plane():
        node = node_spec(request, item, domain)
        per_zone[node.zone] = per_zone.get(node.zone, 0) + 1

        def bundle_for(node: NodeSpec = node) -> str:
            shared = control_plane()
            if node.initialises:
                return init_bundle(
                    node,
                    creds,
                    shared,
                    endpoint=endpoint_of(node),
                    kubernetes_release=KUBERNETES_PATCH_RELEASES[node.kubernetes_version],
                    image_repository=settings.sources(
                        node.region_id, node.kubernetes_version
                    ).image_repository,
                    now=now,
                )
            return join_bundle(
                node,
                token=shared.token,
                ca_hash=creds.ca_hash,
                endpoint=endpoint_of(node),
                certificate_key=shared.certificate_key,
            )

        result = launch_batch(
            ecs,
            kms,
            node=node,
            count=per_zone[node.zone],
            batch_key=item.key,
            nonce=nonce_for(item.key),
            placement=Placement(vswitches[node.zone], security_group_id, image_id),
            settings=settings,
            bundle_for=bundle_for,
        )
        instance_ids.update(result["instance_ids"])
        created.extend(result["created_ids"])
        if result["secret_name"]:
            secret_names.append(result["secret_name"])
    return {"instance_ids": sorted(instance_ids), "created_ids": created, "secret_names": secret_names}


def ensure_worker_batch(
    ecs: Any,
    kms: Any,
    kube: Any,
    *,
    node: NodeSpec,
    count: int,
    batch_key: str,
    nonce: str,
    placement: Placement,
    creds: ClusterCredentials,
    settings: BootstrapSettings,
    token_ttl: dt.timedelta = DEFAULT_TTL,
) -> dict[str, Any]:
    """Ensure ``count`` workers of ``node.node_pool`` in ``node.zone``, joining with a fresh token.

    The token is created through the cluster's API (``kube.create_bootstrap_token``, a
    ``bootstrap-token-<id>`` Secret living ``token_ttl``) only when workers are missing, so this is
    what any later scale-up of a running cluster calls too.

    :returns: ``{"instance_ids", "created_ids", "secret_name"}``.
    """
    if node.role != ROLE_WORKER:
        raise ValueError(f"ensure_worker_batch launches workers, got role {node.role!r}")

    def bundle_for() -> str:
        token = kube.create_bootstrap_token(ttl=token_ttl, description=f"yunfleet {batch_key}")
        return join_bundle(node, token=token, ca_hash=creds.ca_hash, endpoint=endpoint_of(node))

    return launch_batch(
        ecs,
        kms,
        node=node,
        count=count,
        batch_key=batch_key,
        nonce=nonce,
        placement=placement,
        settings=settings,
        bundle_for=bundle_for,
    )


def ensure_planned_workers(
    ecs: Any,
    kms: Any,
    kube: Any,
    *,
    request: ProvisionRequest,
    item: PlannedResource,
    creds: ClusterCredentials,
    domain: str,
    vswitches: Mapping[str, str],
    security_group_id: str,
    image_id: str,
    settings: BootstrapSettings,
    nonce: str,
) -> dict[str, Any]:
    """:func:`ensure_worker_batch` for one planned pool/zone batch of a provisioning request."""
    node = node_spec(request, item, domain)
    return ensure_worker_batch(
        ecs,
        kms,
        kube,
        node=node,
        count=item.count,
        batch_key=item.key,
        nonce=nonce,
        placement=Placement(vswitches[node.zone], security_group_id, image_id, {TAG_INTENT: item.key}),
        creds=creds,
        settings=settings,
    )
