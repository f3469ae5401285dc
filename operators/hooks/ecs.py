"""ECS hook: instances for node pools, security groups, stock; batched, paged, idempotent."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from include.errors import ConfigurationError, IdempotencyMismatchError
from include.fleet.contract import ROLES, TAG_CLUSTER, TAG_NODE_POOL, TAG_ROLE
from operators.hooks.base_alibaba import AlibabaCloudBaseHook
from operators.hooks.ecs_images import EcsImage, ImageMixin
from operators.hooks.ecs_region import RegionFactsMixin
from operators.hooks.ecs_security_groups import SecurityGroup, SecurityGroupMixin, SecurityRule
from operators.hooks.ecs_zones import ZoneAvailabilityMixin
from operators.utils.replays import (
    MAX_REPLAY_GENERATIONS,
    generation_intent,
    replay_gone_error,
    token_used_before,
)
from operators.utils.tags import tags_of, tags_param

__all__ = [
    "EcsHook",
    "EcsImage",
    "EcsInstance",
    "EnsureInstancesResult",
    "InstanceSpec",
    "SecurityGroup",
    "SecurityRule",
]

#: Instances in these states still count as present for "ensure" semantics.
LIVE_STATES = frozenset({"Pending", "Starting", "Running", "Stopping", "Stopped"})
DESCRIBE_BATCH = 100
RUN_BATCH = 100
log = logging.getLogger(__name__)
#: Every instance is launched with the metadata service in security hardening mode: reads need a
#: session token from ``PUT /latest/api/token`` (RunInstances ``HttpEndpoint``/``HttpTokens``; ECS
#: docs "Access instance metadata in security hardening mode only").
METADATA_OPTIONS = {"HttpEndpoint": "enabled", "HttpTokens": "required"}


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True)
class EcsInstance:
    """An ECS instance as Yunfleet needs it."""

    instance_id: str
    name: str
    status: str
    zone_id: str
    instance_type: str
    private_ip: str | None
    vswitch_id: str | None
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: str | None = None
    #: ``MetadataOptions.HttpTokens``: ``required`` when the metadata service needs session tokens.
    http_tokens: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> EcsInstance:
        vpc = raw.get("VpcAttributes") or {}
        ips = (vpc.get("PrivateIpAddress") or {}).get("IpAddress") or []
        return cls(
            instance_id=raw["InstanceId"],
            name=raw.get("InstanceName", ""),
            status=raw.get("Status", ""),
            zone_id=raw.get("ZoneId", ""),
            instance_type=raw.get("InstanceType", ""),
            private_ip=ips[0] if ips else None,
            vswitch_id=vpc.get("VSwitchId"),
            tags=tags_of(raw),
            creation_time=raw.get("CreationTime"),
            http_tokens=(raw.get("MetadataOptions") or {}).get("HttpTokens"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InstanceSpec:
    """What a node pool (or the control plane) needs in one zone."""

    cluster: str
    role: str
    count: int
    zone_id: str
    vswitch_id: str
    instance_type: str
    image_id: str
    security_group_id: str
    node_pool: str | None = None
    name_prefix: str | None = None
    user_data: str | None = None
    #: Instance RAM role (``RamRoleName``); nodes read their delivery secret with it.
    ram_role_name: str | None = None
    system_disk_category: str | None = None
    system_disk_size: int | None = None
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigurationError(f"role must be one of {list(ROLES)}, got {self.role!r}")
        if self.count < 0:
            raise ConfigurationError(f"count must be >= 0, got {self.count}")
        for name in ("cluster", "zone_id", "vswitch_id", "instance_type", "image_id", "security_group_id"):
            if not getattr(self, name):
                raise ConfigurationError(f"instance spec needs {name}")

    @property
    def tags(self) -> dict[str, str]:
        tags = {TAG_CLUSTER: self.cluster, TAG_ROLE: self.role, **dict(self.extra_tags)}
        if self.node_pool:
            tags[TAG_NODE_POOL] = self.node_pool
        return tags

    @property
    def pool_label(self) -> str:
        return self.node_pool or self.role


@dataclass(frozen=True)
class EnsureInstancesResult:
    instance_ids: list[str]
    created_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"instance_ids": self.instance_ids, "created_ids": self.created_ids}


class EcsHook(RegionFactsMixin, SecurityGroupMixin, ImageMixin, ZoneAvailabilityMixin, AlibabaCloudBaseHook):
    """Interact with Alibaba Cloud ECS (API 2014-05-26) in Yunfleet's terms."""

    product = "ecs"

    # reads --------------------------------------------------------------------------------

    def describe_instances(
        self,
        *,
        instance_ids: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        zone_id: str | None = None,
        status: str | None = None,
    ) -> list[EcsInstance]:
        """DescribeInstances, 100 ids per call and 100 per page, filters combined with AND."""
        filters: dict[str, Any] = {"ZoneId": zone_id, "Status": status}
        if tags:
            filters["Tag"] = tags_param(tags)
        if instance_ids is not None:
            ids = list(dict.fromkeys(instance_ids))
            found: list[EcsInstance] = []
            for batch in _chunks(ids, DESCRIBE_BATCH):
                found.extend(self._describe_pages({**filters, "InstanceIds": json.dumps(batch)}))
            return found
        return list(self._describe_pages(filters))

    def _describe_pages(self, filters: Mapping[str, Any]) -> Iterator[EcsInstance]:
        for raw in self.invoke_pages("DescribeInstances", filters, items=("Instances", "Instance")):
            yield EcsInstance.from_api(raw)

    def list_cluster_instances(
        self,
        cluster: str,
        *,
        role: str | None = None,
        node_pool: str | None = None,
        zone_id: str | None = None,
        live_only: bool = True,
    ) -> list[EcsInstance]:
        """Instances tagged for ``cluster`` (optionally one role / pool / zone)."""
        tags = {TAG_CLUSTER: cluster}
        if role:
            tags[TAG_ROLE] = role
        if node_pool:
            tags[TAG_NODE_POOL] = node_pool
        found = self.describe_instances(tags=tags, zone_id=zone_id)
        return [i for i in found if i.status in LIVE_STATES] if live_only else found

    def get_instance_statuses(self, instance_ids: Sequence[str]) -> dict[str, str]:
        """{instance id: status}; ids that do not exist are absent."""
        return {i.instance_id: i.status for i in self.describe_instances(instance_ids=instance_ids)}

    def describe_instances_for_waiter(self, instance_ids: Sequence[str]) -> dict[str, Any]:
        """Waiter operation: the status of every id asked for (``Missing`` when it does not exist)."""
        statuses = self.get_instance_statuses(instance_ids)
        return {"Instances": [{"InstanceId": i, "Status": statuses.get(i, "Missing")} for i in instance_ids]}

    def available_stock(self, zone_id: str, instance_type: str) -> str:
        """Stock status of ``instance_type`` in ``zone_id`` (``WithStock``, ``WithoutStock``, ...)."""
        body = self.invoke(
            "DescribeAvailableResource",
            self._request(
                "DescribeAvailableResource",
                {"DestinationResource": "InstanceType", "ZoneId": zone_id, "InstanceType": instance_type},
            ),
        )
        assert body is not None
        for zone in (body.get("AvailableZones") or {}).get("AvailableZone") or []:
            for resource in (zone.get("AvailableResources") or {}).get("AvailableResource") or []:
                for supported in (resource.get("SupportedResources") or {}).get("SupportedResource") or []:
                    if supported.get("Value") == instance_type:
                        return str(supported.get("StatusCategory") or supported.get("Status") or "Unknown")
        return "WithoutStock"

    # instances ----------------------------------------------------------------------------

    def run_instances(self, spec: InstanceSpec, amount: int, *, client_token: str) -> list[str]:
        """RunInstances for ``amount`` (1-100) instances of ``spec`` with a ClientToken."""
        if not 1 <= amount <= RUN_BATCH:
            raise ConfigurationError(f"RunInstances amount must be 1-{RUN_BATCH}, got {amount}")
        name = f"{spec.name_prefix or f'{spec.cluster}-{spec.pool_label}'}-"
        params: dict[str, Any] = {
            "ZoneId": spec.zone_id,
            "VSwitchId": spec.vswitch_id,
            "InstanceType": spec.instance_type,
            "ImageId": spec.image_id,
            "SecurityGroupId": spec.security_group_id,
            "Amount": amount,
            "InstanceName": name,
            "UniqueSuffix": True,
            "UserData": spec.user_data,
            "RamRoleName": spec.ram_role_name,
            **METADATA_OPTIONS,
            "ClientToken": client_token,
            "Tag": tags_param(spec.tags),
        }
        if spec.system_disk_category or spec.system_disk_size:
            params["SystemDisk"] = {"Category": spec.system_disk_category, "Size": spec.system_disk_size}
        body = self.invoke(
            "RunInstances",
            self._request("RunInstances", params),
            mutating=True,
            target=f"{spec.cluster}/{spec.pool_label}/{spec.zone_id}",
            cluster=spec.cluster,
        )
        if body is None:  # dry run
            return []
        return list((body.get("InstanceIdSets") or {}).get("InstanceIdSet") or [])

    def ensure_instances(self, spec: InstanceSpec) -> EnsureInstancesResult:
        """Make ``spec.count`` live instances exist for this pool and zone; never create twice.

        Looks up the pool's instances by tag first and creates only the shortfall, in batches of
        100, each with a ClientToken derived from the task and from what is being asked for. A
        retried task therefore either finds the instances or re-sends the same token. What a create
        is answered with is read back (:meth:`run_instances_checked`), so a replayed token whose
        instances were released since is never taken for success.

        :raises PermanentCloudError: ``ReplayedResourcesGone`` when every new token was answered with
            released instances too.
        """
        existing = self.list_cluster_instances(
            spec.cluster, role=spec.role, node_pool=spec.node_pool, zone_id=spec.zone_id
        )
        ids = sorted(i.instance_id for i in existing)
        created: list[str] = []
        shortfall = spec.count - len(ids)
        offset = len(ids)
        while shortfall > 0:
            amount = min(shortfall, RUN_BATCH)
            intent = f"run-instances:{spec.cluster}:{spec.pool_label}:{spec.zone_id}:{offset}+{amount}"
            created.extend(self.run_instances_checked(spec, amount, intent))
            offset += amount
            shortfall -= amount
        return EnsureInstancesResult(instance_ids=sorted(ids + created), created_ids=sorted(created))

    #: Re-reads of fresh instance ids before one that is not listed counts as gone (a new instance
    #: can take a moment to appear in DescribeInstances), and the seconds between them.
    replay_check_attempts: int = 3
    replay_check_interval: float = 2.0

    def live_instance_ids(self, instance_ids: Sequence[str]) -> set[str]:
        """The ids of ``instance_ids`` that exist and are not released (re-read a few times while some
        are not listed yet)."""
        live: set[str] = set()
        for attempt in range(max(1, self.replay_check_attempts)):
            found = self.describe_instances(instance_ids=instance_ids)
            live = {i.instance_id for i in found if i.status in LIVE_STATES}
            if live >= set(instance_ids) or attempt + 1 >= self.replay_check_attempts:
                return live
            time.sleep(self.replay_check_interval)
        return live

    def run_instances_checked(self, spec: InstanceSpec, amount: int, intent: str) -> list[str]:
        """RunInstances for ``amount`` instances under ``intent``'s ClientToken, checking the answer.

        Ids that do not exist (a replay of a token whose instances were released) are created again
        under a new token of the same intent (``#gen<n>``), at most ``MAX_REPLAY_GENERATIONS`` times;
        so is a token answered ``IdempotentParameterMismatch`` (used before with other parameters: the
        caller counted the live instances by tag first, so nothing of that earlier call is alive).
        Returns the live ids (``[]`` in dry run).

        :raises PermanentCloudError: ``ReplayedResourcesGone`` when every generation came back gone.
        """
        live: list[str] = []
        gone: list[str] = []
        for generation in range(MAX_REPLAY_GENERATIONS + 1):
            need = amount - len(live)
            token = self.client_token(generation_intent(intent, generation, f"{need}"))
            try:
                answered = self.run_instances(spec, need, client_token=token)
            except IdempotencyMismatchError:
                token_used_before(intent, generation)
                continue
            if not answered:  # dry run
                return live
            alive = self.live_instance_ids(answered)
            live.extend(i for i in answered if i in alive)
            lost = [i for i in answered if i not in alive]
            if not lost:
                return live
            gone.extend(lost)
            log.warning(
                "RunInstances for %s answered with instances that no longer exist (%s): a replayed "
                "ClientToken; creating %d under a new token",
                intent,
                ", ".join(lost),
                len(lost),
            )
        raise replay_gone_error(
            f"{spec.cluster}/{spec.pool_label}/{spec.zone_id}",
            intent,
            gone,
            product="ecs",
            action="RunInstances",
        )

    def delete_instances(self, instance_ids: Iterable[str], *, cluster: str | None = None) -> list[str]:
        """Release instances (forced), 100 per call; ids already gone are skipped. Returns deleted ids."""
        wanted = list(dict.fromkeys(instance_ids))
        present = [
            i.instance_id for i in self.describe_instances(instance_ids=wanted) if i.status in LIVE_STATES
        ]
        for batch in _chunks(present, 100):
            self.invoke(
                "DeleteInstances",
                self._request(
                    "DeleteInstances",
                    {
                        "InstanceId": batch,
                        "Force": True,
                        "ClientToken": self.client_token("delete-instances:" + ",".join(batch)),
                    },
                ),
                mutating=True,
                target=",".join(batch),
                cluster=cluster or self.cluster,
            )
        return present

    def delete_instances_and_wait(
        self,
        batches: Sequence[Sequence[str]],
        *,
        cluster: str | None = None,
        wait: bool = True,
        poll_interval: float = 2.0,
        max_attempts: int = 150,
    ) -> list[str]:
        """Release each batch of instance ids in order, then wait until the released ones are gone.

        One :meth:`delete_instances` per batch (so workers can go before the control plane and each
        batch keeps its own audit rows); ids already gone are skipped. The wait
        (``instances_deleted``: every id ``Missing``) is skipped in a dry run and when nothing was
        released.

        :param poll_interval: seconds between checks while waiting.
        :param max_attempts: checks before :class:`~include.errors.WaiterTimeoutError`.
        :returns: the ids released (or, in a dry run, that would be).
        """
        deleted: list[str] = []
        for batch in batches:
            deleted.extend(self.delete_instances(batch, cluster=cluster))
        if deleted and wait and not self.dry_run:
            self.wait_for(
                "instances_deleted",
                instance_ids=deleted,
                poll_interval=poll_interval,
                max_attempts=max_attempts,
            )
        return deleted
