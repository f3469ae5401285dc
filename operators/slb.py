"""SLB operators: ensure a load balancer with a TCP listener and backends; set backend weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from include.errors import ConfigurationError
from operators.base import AlibabaCloudBaseOperator, as_bool, as_int, yunfleet_template_fields


def _weights(backends: Sequence[str] | Mapping[str, Any] | None) -> dict[str, int]:
    if backends is None:
        return {}
    if isinstance(backends, Mapping):
        return {str(k): as_int(v, f"weight of {k}") for k, v in backends.items()}
    if isinstance(backends, str):
        raise ConfigurationError("backends must be a list of instance ids or a {id: weight} mapping")
    return {str(server_id): 100 for server_id in backends}


class SlbEnsureLoadBalancerOperator(AlibabaCloudBaseOperator):
    """Make sure a cluster's load balancer, its TCP listener and its backends exist.

    Finds the load balancer by name and ``yunfleet:cluster`` tag or creates it with a
    ClientToken; creates and starts the TCP listener if missing; attaches missing backends and
    fixes weights (optionally detaching the others); with ``wait_for_healthy`` waits until every
    backend's health check is ``normal``. Returns ``{"load_balancer_id", "address",
    "created", "listener", "backends"}``.
    """

    product = "slb"
    template_fields: Sequence[str] = yunfleet_template_fields(
        "cluster", "name", "vswitch_id", "vpc_id", "backends", "listener_port", "backend_port", "address_type"
    )

    def __init__(
        self,
        *,
        cluster: str,
        name: str | None = None,
        role: str = "apiserver-lb",
        address_type: str = "intranet",
        vswitch_id: str | None = None,
        vpc_id: str | None = None,
        spec: str = "slb.s2.small",
        master_zone_id: str | None = None,
        slave_zone_id: str | None = None,
        listener_port: int | str = 6443,
        backend_port: int | str = 6443,
        backends: Sequence[str] | Mapping[str, int] | None = None,
        remove_other_backends: bool | str = False,
        wait_for_healthy: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_healthy = wait_for_healthy
        self.cluster = cluster
        self.name = name
        self.role = role
        self.address_type = address_type
        self.vswitch_id = vswitch_id
        self.vpc_id = vpc_id
        self.spec = spec
        self.master_zone_id = master_zone_id
        self.slave_zone_id = slave_zone_id
        self.listener_port = listener_port
        self.backend_port = backend_port
        self.backends = backends
        self.remove_other_backends = remove_other_backends

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        weights = _weights(self.backends)
        listener_port = as_int(self.listener_port, "listener_port", minimum=1)
        result: dict[str, Any] = self.hook.ensure_tcp_load_balancer(
            cluster=self.cluster,
            name=self.name or f"{self.cluster}-{self.role}",
            listener_port=listener_port,
            backend_port=as_int(self.backend_port, "backend_port", minimum=1),
            backends=weights,
            role=self.role,
            address_type=self.address_type,
            vswitch_id=self.vswitch_id,
            vpc_id=self.vpc_id,
            spec=self.spec,
            master_zone_id=self.master_zone_id,
            slave_zone_id=self.slave_zone_id,
            remove_other_backends=as_bool(self.remove_other_backends, "remove_other_backends"),
        )
        lb_id = result["load_balancer_id"]
        if self.wait_for_healthy and weights and lb_id and not self.is_dry_run:
            self.hook.wait_for(
                "backends_healthy",
                load_balancer_id=lb_id,
                listener_port=listener_port,
                poll_interval=self.poll_interval,
                max_attempts=self.max_attempts,
            )
        return result


class SlbSetBackendWeightsOperator(AlibabaCloudBaseOperator):
    """Set the weights of attached backends (0-100; 0 drains traffic). Only differing ones change.

    Returns ``{"reweighted": [...], "weights": {...}}``.
    """

    product = "slb"
    template_fields: Sequence[str] = yunfleet_template_fields("load_balancer_id", "weights", "cluster")

    def __init__(
        self, *, load_balancer_id: str, weights: Mapping[str, int], cluster: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.load_balancer_id = load_balancer_id
        self.weights = weights
        self.cluster = cluster

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        return dict(
            self.hook.set_backend_weights(self.load_balancer_id, _weights(self.weights), cluster=self.cluster)
        )


class SlbDeleteLoadBalancerOperator(AlibabaCloudBaseOperator):
    """Delete a load balancer by id, or every load balancer tagged for ``cluster``."""

    product = "slb"
    template_fields: Sequence[str] = yunfleet_template_fields("load_balancer_id", "cluster")

    def __init__(
        self, *, load_balancer_id: str | None = None, cluster: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.load_balancer_id = load_balancer_id
        self.cluster = cluster

    def execute(self, context: Any) -> dict[str, Any]:
        self.bind_context(context)
        if self.load_balancer_id:
            ids = [self.load_balancer_id]
        elif self.cluster:
            ids = [lb.load_balancer_id for lb in self.hook.find_load_balancers(cluster=self.cluster)]
        else:
            raise ConfigurationError("give load_balancer_id or cluster")
        deleted = [i for i in ids if self.hook.delete_load_balancer(i, cluster=self.cluster)]
        return {"deleted_ids": deleted}
