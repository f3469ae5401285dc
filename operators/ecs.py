"""ECS operators: ensure and delete instances, ensure a security group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

from include.errors import ConfigurationError
from operators.base import AlibabaCloudBaseOperator, as_int, yunfleet_template_fields

if TYPE_CHECKING:
    from operators.hooks.ecs import InstanceSpec


def _mask(value: str | None) -> None:
    if value:
        from airflow.sdk.log import mask_secret

        mask_secret(value)


class EcsEnsureInstancesOperator(AlibabaCloudBaseOperator):
    """Make sure ``count`` instances exist for a node pool (or the control plane) in one zone.

    Looks up by the ``yunfleet:*`` tags first and creates only the shortfall, with a ClientToken
    derived from the run, task, map index and intent, so a retried or restarted task never
    creates twice. Returns ``{"instance_ids": [...], "created_ids": [...]}``.

    :param cluster: cluster name (``yunfleet:cluster`` tag).
    :param role: ``control-plane`` or ``worker`` (``yunfleet:role`` tag).
    :param node_pool: node pool name for workers (``yunfleet:node-pool`` tag).
    :param count: how many live instances the pool needs in this zone.
    :param user_data: base64 cloud-init; masked in logs and stored only as a hash in audit rows.
    """

    product = "ecs"
    template_fields: Sequence[str] = yunfleet_template_fields(
        "cluster",
        "role",
        "node_pool",
        "count",
        "zone_id",
        "vswitch_id",
        "instance_type",
        "image_id",
        "security_group_id",
        "user_data",
        "name_prefix",
    )

    def __init__(
        self,
        *,
        cluster: str,
        count: int | str,
        zone_id: str,
        vswitch_id: str,
        instance_type: str,
        image_id: str,
        security_group_id: str,
        role: str = "worker",
        node_pool: str | None = None,
        user_data: str | None = None,
        name_prefix: str | None = None,
        extra_tags: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.count = count
        self.zone_id = zone_id
        self.vswitch_id = vswitch_id
        self.instance_type = instance_type
        self.image_id = image_id
        self.security_group_id = security_group_id
        self.role = role
        self.node_pool = node_pool
        self.user_data = user_data
        self.name_prefix = name_prefix
        self.extra_tags = dict(extra_tags or {})

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        _mask(self.user_data)

    def spec(self) -> InstanceSpec:
        from operators.hooks.ecs import InstanceSpec

        return InstanceSpec(
            cluster=self.cluster,
            role=self.role,
            count=as_int(self.count, "count", minimum=0),
            zone_id=self.zone_id,
            vswitch_id=self.vswitch_id,
            instance_type=self.instance_type,
            image_id=self.image_id,
            security_group_id=self.security_group_id,
            node_pool=self.node_pool or None,
            name_prefix=self.name_prefix,
            user_data=self.user_data or None,
            extra_tags=self.extra_tags,
        )

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        spec = self.spec()
        _mask(spec.user_data)
        result = self.hook.ensure_instances(spec).to_dict()
        self.log.info(
            "Pool %s/%s in %s: %d instance(s), %d created",
            spec.cluster,
            spec.pool_label,
            spec.zone_id,
            len(result["instance_ids"]),
            len(result["created_ids"]),
        )
        if not self.wait_for_completion or self.is_dry_run or not result["instance_ids"]:
            return result
        if self.deferrable:
            from operators.triggers.ecs import EcsInstancesRunningTrigger

            self.defer(
                trigger=EcsInstancesRunningTrigger(
                    instance_ids=result["instance_ids"],
                    alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
                    region_id=self.region_id,
                    poll_interval=self.poll_interval,
                    max_attempts=self.max_attempts,
                ),
                method_name="execute_complete",
                kwargs={"result": result},
            )
        self.hook.wait_for(
            "instances_running",
            instance_ids=result["instance_ids"],
            poll_interval=self.poll_interval,
            max_attempts=self.max_attempts,
        )
        return result

    def execute_complete(self, context: Any, event: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "success":
            raise AirflowException(f"instances did not reach Running: {event.get('message')}")
        return result


class EcsDeleteInstancesOperator(AlibabaCloudBaseOperator):
    """Release instances: the given ids, or every live instance of a cluster (role / pool).

    Ids that are already gone are skipped, so a retry is harmless. Returns
    ``{"deleted_ids": [...]}``.
    """

    product = "ecs"
    template_fields: Sequence[str] = yunfleet_template_fields("instance_ids", "cluster", "role", "node_pool")

    def __init__(
        self,
        *,
        instance_ids: Sequence[str] | None = None,
        cluster: str | None = None,
        role: str | None = None,
        node_pool: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.instance_ids = instance_ids
        self.cluster = cluster
        self.role = role
        self.node_pool = node_pool

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        if not self.instance_ids and not self.cluster:
            raise ConfigurationError("give instance_ids or a cluster whose instances to delete")
        if self.instance_ids:
            ids = [self.instance_ids] if isinstance(self.instance_ids, str) else list(self.instance_ids)
        else:
            assert self.cluster is not None
            found = self.hook.list_cluster_instances(self.cluster, role=self.role, node_pool=self.node_pool)
            ids = [i.instance_id for i in found]
        deleted = self.hook.delete_instances_and_wait(
            [ids],
            cluster=self.cluster,
            wait=self.wait_for_completion,
            poll_interval=self.poll_interval,
            max_attempts=self.max_attempts,
        )
        return {"deleted_ids": deleted}


class EcsEnsureSecurityGroupOperator(AlibabaCloudBaseOperator):
    """Find or create a cluster's security group and add the missing ingress rules.

    ``rules`` are dicts with ``ip_protocol``, ``port_range`` and ``source_cidr_ip`` or
    ``source_group_id`` (optional ``policy``, ``priority``, ``description``). Returns
    ``{"security_group_id": ..., "created": bool, "rules_added": n}``.
    """

    product = "ecs"
    template_fields: Sequence[str] = yunfleet_template_fields("cluster", "name", "vpc_id", "rules")

    def __init__(
        self,
        *,
        cluster: str,
        rules: Sequence[Mapping[str, Any]],
        name: str | None = None,
        vpc_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.rules = rules
        self.name = name
        self.vpc_id = vpc_id

    def execute(self, context: Any) -> dict[str, Any]:
        from operators.hooks.ecs import SecurityRule

        self.bind_context(context)
        rules = [SecurityRule.from_dict(r) for r in self.rules]
        return dict(
            self.hook.ensure_security_group(
                cluster=self.cluster, name=self.name or f"{self.cluster}-sg", vpc_id=self.vpc_id, rules=rules
            )
        )


class EcsDeleteSecurityGroupOperator(AlibabaCloudBaseOperator):
    """Delete a security group by id, or the cluster's group found by name and tag.

    A group that is already gone is not an error. Returns ``{"deleted": [ids]}``.
    """

    product = "ecs"
    template_fields: Sequence[str] = yunfleet_template_fields(
        "security_group_id", "cluster", "name", "vpc_id"
    )

    def __init__(
        self,
        *,
        security_group_id: str | None = None,
        cluster: str | None = None,
        name: str | None = None,
        vpc_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.security_group_id = security_group_id
        self.cluster = cluster
        self.name = name
        self.vpc_id = vpc_id

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        group_id = self.security_group_id
        if not group_id:
            if not self.cluster:
                raise ConfigurationError("give security_group_id or cluster")
            group_id = self.hook.find_security_group(
                self.cluster, self.name or f"{self.cluster}-sg", self.vpc_id
            )
        if not group_id:
            return {"deleted": []}
        return {
            "deleted": [group_id] if self.hook.delete_security_group(group_id, cluster=self.cluster) else []
        }
