"""SLB (Classic Load Balancer, API 2014-05-15) hook: ensure LB, TCP listener, backends, weights."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from include.errors import (
    ConfigurationError,
    IdempotencyMismatchError,
    PermanentCloudError,
    ResourceNotFoundError,
)
from include.fleet.contract import ROLE_APISERVER_LB, TAG_CLUSTER, TAG_ROLE
from operators.hooks.base_alibaba import AlibabaCloudBaseHook
from operators.utils.replays import (
    MAX_REPLAY_GENERATIONS,
    generation_intent,
    replay_gone_error,
    token_used_before,
)
from operators.utils.tags import tags_of

BACKENDS_PER_CALL = 20


def _check_weight(server_id: str, weight: int) -> int:
    if not 0 <= int(weight) <= 100:
        raise ConfigurationError(f"backend weight for {server_id} must be 0-100, got {weight}")
    return int(weight)


@dataclass(frozen=True)
class LoadBalancer:
    load_balancer_id: str
    name: str
    address: str | None
    status: str
    address_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    backends: dict[str, int] = field(default_factory=dict)
    listener_ports: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SlbHook(AlibabaCloudBaseHook):
    """Interact with Alibaba Cloud SLB (CLB) in Yunfleet's terms."""

    product = "slb"

    def _call(self, action: str, params: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self.invoke(action, self._request(action, params), **kw)

    # reads --------------------------------------------------------------------------------

    def find_load_balancers(
        self, *, name: str | None = None, cluster: str | None = None
    ) -> list[LoadBalancer]:
        """Load balancers by name and/or cluster tag (paged)."""
        params: dict[str, Any] = {"LoadBalancerName": name}
        if cluster:
            params["Tag"] = [{"Key": TAG_CLUSTER, "Value": cluster}]
        found: list[LoadBalancer] = []
        pages = self.invoke_pages("DescribeLoadBalancers", params, items=("LoadBalancers", "LoadBalancer"))
        for raw in pages:
            tags = tags_of(raw)
            if cluster and tags and tags.get(TAG_CLUSTER) != cluster:
                continue
            if name and raw.get("LoadBalancerName") != name:
                continue
            found.append(
                LoadBalancer(
                    load_balancer_id=raw["LoadBalancerId"],
                    name=raw.get("LoadBalancerName", ""),
                    address=raw.get("Address"),
                    status=raw.get("LoadBalancerStatus", ""),
                    address_type=raw.get("AddressType"),
                    tags=tags,
                )
            )
        return found

    def describe_load_balancer(self, load_balancer_id: str) -> LoadBalancer:
        body = self._call("DescribeLoadBalancerAttribute", {"LoadBalancerId": load_balancer_id}) or {}
        backends = {
            b["ServerId"]: int(b.get("Weight", 100))
            for b in (body.get("BackendServers") or {}).get("BackendServer") or []
        }
        ports = [int(p) for p in (body.get("ListenerPorts") or {}).get("ListenerPort") or []]
        return LoadBalancer(
            load_balancer_id=body.get("LoadBalancerId", load_balancer_id),
            name=body.get("LoadBalancerName", ""),
            address=body.get("Address"),
            status=body.get("LoadBalancerStatus", ""),
            address_type=body.get("AddressType"),
            tags=tags_of(body),
            backends=backends,
            listener_ports=sorted(ports),
        )

    def backend_health(self, load_balancer_id: str, listener_port: int | None = None) -> dict[str, str]:
        """{server id: normal | abnormal | unavailable}."""
        body = self._call(
            "DescribeHealthStatus", {"LoadBalancerId": load_balancer_id, "ListenerPort": listener_port}
        )
        servers = ((body or {}).get("BackendServers") or {}).get("BackendServer") or []
        return {s["ServerId"]: s.get("ServerHealthStatus", "unavailable") for s in servers}

    def backend_health_for_waiter(
        self, load_balancer_id: str, listener_port: int | None = None
    ) -> dict[str, Any]:
        """Waiter operation: the health of every backend server."""
        health = self.backend_health(load_balancer_id, listener_port)
        return {
            "BackendServers": [{"ServerId": k, "ServerHealthStatus": v} for k, v in sorted(health.items())]
        }

    # load balancer + listener -------------------------------------------------------------

    def ensure_load_balancer(
        self,
        *,
        cluster: str,
        name: str,
        role: str = ROLE_APISERVER_LB,
        address_type: str = "intranet",
        vswitch_id: str | None = None,
        vpc_id: str | None = None,
        spec: str = "slb.s2.small",
        master_zone_id: str | None = None,
        slave_zone_id: str | None = None,
    ) -> dict[str, Any]:
        """Find the cluster's load balancer by name and tag, or create it with a ClientToken.

        A created load balancer is read back: a ClientToken replay can name one deleted since, which is
        then created again under a new token (see ``operators.utils.replays``).

        :raises PermanentCloudError: ``ReplayedResourcesGone`` when every new token named a deleted one.
        """
        if address_type not in ("intranet", "internet"):
            raise ConfigurationError(f"address_type must be intranet or internet, got {address_type!r}")
        existing = self.find_load_balancers(name=name, cluster=cluster)
        if existing:
            lb = existing[0]
            return {"load_balancer_id": lb.load_balancer_id, "address": lb.address, "created": False}
        intent = f"create-load-balancer:{cluster}:{name}"
        gone: list[str] = []
        for generation in range(MAX_REPLAY_GENERATIONS + 1):
            try:
                body = self._call(
                    "CreateLoadBalancer",
                    {
                        "LoadBalancerName": name,
                        "AddressType": address_type,
                        "VSwitchId": vswitch_id if address_type == "intranet" else None,
                        "VpcId": vpc_id if address_type == "intranet" else None,
                        "LoadBalancerSpec": spec,
                        "MasterZoneId": master_zone_id,
                        "SlaveZoneId": slave_zone_id,
                        "ClientToken": self.client_token(generation_intent(intent, generation)),
                        "Tag": [{"Key": TAG_CLUSTER, "Value": cluster}, {"Key": TAG_ROLE, "Value": role}],
                    },
                    mutating=True,
                    target=name,
                    cluster=cluster,
                )
            except IdempotencyMismatchError:
                token_used_before(intent, generation)
                continue
            if body is None:
                return {"load_balancer_id": None, "address": None, "created": True}
            if self._exists_after_create(body["LoadBalancerId"]):
                return {
                    "load_balancer_id": body["LoadBalancerId"],
                    "address": body.get("Address"),
                    "created": True,
                }
            gone.append(body["LoadBalancerId"])
        raise replay_gone_error(f"{cluster}/{name}", intent, gone, product="slb", action="CreateLoadBalancer")

    #: Re-reads of a load balancer a create was answered with before it counts as gone, and the
    #: seconds between them (a new one can take a moment to be readable).
    replay_check_attempts: int = 3
    replay_check_interval: float = 2.0

    def _exists_after_create(self, load_balancer_id: str) -> bool:
        """Whether the load balancer a create named exists (a replayed ClientToken can name a deleted one)."""
        for attempt in range(max(1, self.replay_check_attempts)):
            try:
                self.describe_load_balancer(load_balancer_id)
                return True
            except ResourceNotFoundError:
                if attempt + 1 < self.replay_check_attempts:
                    time.sleep(self.replay_check_interval)
        return False

    def listener_status(self, load_balancer_id: str, listener_port: int) -> str | None:
        """``running`` / ``stopped`` / ..., or None when the TCP listener does not exist."""
        try:
            body = self._call(
                "DescribeLoadBalancerTCPListenerAttribute",
                {"LoadBalancerId": load_balancer_id, "ListenerPort": listener_port},
            )
        except ResourceNotFoundError:
            return None
        except PermanentCloudError as exc:  # ListenerNotFound is not always a *.NotFound code
            if exc.code in ("ListenerNotFound", "InvalidParameter.ListenerNotFound"):
                return None
            raise
        return str((body or {}).get("Status") or "stopped")

    def ensure_tcp_listener(
        self,
        *,
        load_balancer_id: str,
        listener_port: int,
        backend_port: int,
        bandwidth: int = -1,
        health_check_interval: int = 2,
        healthy_threshold: int = 3,
        unhealthy_threshold: int = 3,
        cluster: str | None = None,
    ) -> dict[str, Any]:
        """Create the TCP listener if missing and make sure it is running."""
        for port in (listener_port, backend_port):
            if not 1 <= port <= 65535:
                raise ConfigurationError(f"port must be 1-65535, got {port}")
        status = self.listener_status(load_balancer_id, listener_port)
        created = False
        target = f"{load_balancer_id}:{listener_port}"
        if status is None:
            self._call(
                "CreateLoadBalancerTCPListener",
                {
                    "LoadBalancerId": load_balancer_id,
                    "ListenerPort": listener_port,
                    "BackendServerPort": backend_port,
                    "Bandwidth": bandwidth,
                    "HealthCheckSwitch": "on",
                    "healthCheckInterval": health_check_interval,
                    "HealthyThreshold": healthy_threshold,
                    "UnhealthyThreshold": unhealthy_threshold,
                },
                mutating=True,
                target=target,
                cluster=cluster,
            )
            created, status = True, "stopped"
        started = False
        if status != "running":
            self._call(
                "StartLoadBalancerListener",
                {"LoadBalancerId": load_balancer_id, "ListenerPort": listener_port},
                mutating=True,
                target=target,
                cluster=cluster,
            )
            started = True
        return {"listener_port": listener_port, "created": created, "started": started}

    def delete_load_balancer(self, load_balancer_id: str, *, cluster: str | None = None) -> bool:
        """Delete a load balancer; False when it was already gone."""
        try:
            self._call(
                "DeleteLoadBalancer",
                {"LoadBalancerId": load_balancer_id},
                mutating=True,
                target=load_balancer_id,
                cluster=cluster,
            )
        except ResourceNotFoundError:
            return False
        return True

    # backends -----------------------------------------------------------------------------

    def _backend_call(
        self, action: str, load_balancer_id: str, servers: Sequence[dict[str, Any]], cluster: str | None
    ) -> None:
        for start in range(0, len(servers), BACKENDS_PER_CALL):
            batch = servers[start : start + BACKENDS_PER_CALL]
            self._call(
                action,
                {"LoadBalancerId": load_balancer_id, "BackendServers": json.dumps(batch)},
                mutating=True,
                target=f"{load_balancer_id}:" + ",".join(s["ServerId"] for s in batch),
                cluster=cluster,
            )

    def ensure_backends(
        self,
        load_balancer_id: str,
        weights: Mapping[str, int],
        *,
        remove_others: bool = False,
        cluster: str | None = None,
    ) -> dict[str, Any]:
        """Attach missing backends, fix weights that differ, optionally detach the rest."""
        wanted = {sid: _check_weight(sid, w) for sid, w in weights.items()}
        current = self.describe_load_balancer(load_balancer_id).backends
        add = [
            {"ServerId": s, "Weight": str(w), "Type": "ecs"}
            for s, w in sorted(wanted.items())
            if s not in current
        ]
        change = [
            {"ServerId": s, "Weight": str(w)}
            for s, w in sorted(wanted.items())
            if s in current and current[s] != w
        ]
        remove = [{"ServerId": s} for s in sorted(current) if s not in wanted] if remove_others else []
        self._backend_call("AddBackendServers", load_balancer_id, add, cluster)
        self._backend_call("SetBackendServers", load_balancer_id, change, cluster)
        self._backend_call("RemoveBackendServers", load_balancer_id, remove, cluster)
        return {
            "added": [s["ServerId"] for s in add],
            "reweighted": [s["ServerId"] for s in change],
            "removed": [s["ServerId"] for s in remove],
        }

    def set_backend_weights(
        self, load_balancer_id: str, weights: Mapping[str, int], *, cluster: str | None = None
    ) -> dict[str, Any]:
        """Change weights of attached backends only where they differ (0 = no traffic)."""
        wanted = {sid: _check_weight(sid, w) for sid, w in weights.items()}
        current = self.describe_load_balancer(load_balancer_id).backends
        unknown = sorted(set(wanted) - set(current))
        if unknown:
            raise ConfigurationError(f"servers {unknown} are not backends of {load_balancer_id}")
        change = [{"ServerId": s, "Weight": str(w)} for s, w in sorted(wanted.items()) if current[s] != w]
        self._backend_call("SetBackendServers", load_balancer_id, change, cluster)
        return {"reweighted": [s["ServerId"] for s in change], "weights": {**current, **wanted}}

    def remove_backends(
        self, load_balancer_id: str, server_ids: Sequence[str], *, cluster: str | None = None
    ) -> list[str]:
        current = self.describe_load_balancer(load_balancer_id).backends
        remove = [{"ServerId": s} for s in sorted(set(server_ids)) if s in current]
        self._backend_call("RemoveBackendServers", load_balancer_id, remove, cluster)
        return [s["ServerId"] for s in remove]

    # composite ----------------------------------------------------------------------------

    def ensure_tcp_load_balancer(
        self,
        *,
        cluster: str,
        name: str,
        listener_port: int,
        backend_port: int,
        backends: Mapping[str, int],
        role: str = ROLE_APISERVER_LB,
        address_type: str = "intranet",
        vswitch_id: str | None = None,
        vpc_id: str | None = None,
        spec: str = "slb.s2.small",
        master_zone_id: str | None = None,
        slave_zone_id: str | None = None,
        remove_other_backends: bool = False,
    ) -> dict[str, Any]:
        """A cluster's load balancer with a running TCP listener and exactly these backends.

        :meth:`ensure_load_balancer` (found by name and ``yunfleet:cluster`` tag, else created with a
        ClientToken), then :meth:`ensure_tcp_listener` and :meth:`ensure_backends`.

        :param backends: ``{ECS instance id: weight 0-100}``.
        :param remove_other_backends: detach attached servers that are not in ``backends``.
        :returns: ``{"load_balancer_id", "address", "created", "listener", "backends"}``; in a dry run
            of a create, ``load_balancer_id``/``address``/``listener`` are None and ``backends`` lists
            what would be added.
        :raises ConfigurationError: bad address type, port or weight (before any call that changes).
        """
        weights = {sid: _check_weight(sid, w) for sid, w in backends.items()}
        for port in (listener_port, backend_port):
            if not 1 <= port <= 65535:
                raise ConfigurationError(f"port must be 1-65535, got {port}")
        lb = self.ensure_load_balancer(
            cluster=cluster,
            name=name,
            role=role,
            address_type=address_type,
            vswitch_id=vswitch_id,
            vpc_id=vpc_id,
            spec=spec,
            master_zone_id=master_zone_id,
            slave_zone_id=slave_zone_id,
        )
        lb_id = lb["load_balancer_id"]
        if lb_id is None:  # dry run of a create: nothing to attach to yet
            return {
                **lb,
                "listener": None,
                "backends": {"added": sorted(weights), "reweighted": [], "removed": []},
            }
        listener = self.ensure_tcp_listener(
            load_balancer_id=lb_id, listener_port=listener_port, backend_port=backend_port, cluster=cluster
        )
        attached = self.ensure_backends(lb_id, weights, remove_others=remove_other_backends, cluster=cluster)
        address = lb.get("address") or self.describe_load_balancer(lb_id).address
        return {**lb, "address": address, "listener": listener, "backends": attached}
