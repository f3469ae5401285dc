"""SLB state and behaviour: Python arguments in, typed errors out, no HTTP.

Besides the API actions, ``SlbBackend`` offers a small Python surface for the simulated
Kubernetes cloud controller (``create_load_balancer``, ``create_tcp_listener``, ``start_listener``,
``set_backend_servers``, ``delete_load_balancer``, ``find_load_balancers``) and a hook,
``add_health_probe``, through which it can say whether a backend serves a listener port.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.slb import exceptions as exc

if TYPE_CHECKING:
    from sandbox.ecs.models import Instance
    from sandbox.world import World

SPECS = ("slb.s1.small", "slb.s2.small", "slb.s2.medium", "slb.s3.small", "slb.s3.medium", "slb.s3.large")
PUBLIC_POOL = ipaddress.ip_network("203.0.113.0/24")
MAX_BACKENDS_PER_CALL = 20
MAX_LOAD_BALANCERS = 60

# fn(load_balancer, listener_port, instance) -> True (serves), False (does not), None (no opinion)
HealthProbe = Callable[["LoadBalancer", int, "Instance"], bool | None]


@dataclass
class Listener:
    port: int
    backend_port: int
    protocol: str = "tcp"
    status: str = "stopped"
    bandwidth: int = -1
    scheduler: str = "wrr"
    health_check: str = "on"
    health_check_type: str = "tcp"
    health_check_connect_port: int | None = None
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    health_check_interval: int = 2
    health_check_connect_timeout: int = 5
    persistence_timeout: int = 0
    established_timeout: int = 900
    description: str = ""


@dataclass
class BackendServer:
    server_id: str
    weight: int = 100
    server_type: str = "ecs"
    description: str = ""


@dataclass
class LoadBalancer:
    load_balancer_id: str
    load_balancer_name: str
    address: str
    address_type: str
    network_type: str
    vpc_id: str
    vswitch_id: str
    master_zone_id: str
    slave_zone_id: str
    spec: str
    created_at: float
    status: str = "active"
    internet_charge_type: str = "paybytraffic"
    bandwidth: int = 5120
    delete_protection: str = "off"
    tags: dict[str, str] = field(default_factory=dict)
    listeners: dict[int, Listener] = field(default_factory=dict)
    backends: dict[str, BackendServer] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        data = asdict(self)
        data["listeners"] = [asdict(listener) for listener in self.listeners.values()]
        data["backends"] = [asdict(b) for b in self.backends.values()]
        return data

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> LoadBalancer:
        data = dict(raw)
        data["listeners"] = {int(item["port"]): Listener(**item) for item in data["listeners"]}
        data["backends"] = {item["server_id"]: BackendServer(**item) for item in data["backends"]}
        return cls(**data)


class SlbBackend:
    def __init__(self, world: World):
        self.world = world
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.next_public_host = 10
        # ClientToken of CreateLoadBalancer -> {"fingerprint", "response"}; kept after a delete, so a
        # reused token answers with the original (possibly deleted) load balancer, as ECS does.
        self.client_tokens: dict[str, dict[str, Any]] = {}
        self._probes: list[HealthProbe] = []

    # -- lifecycle of the backend ---------------------------------------------------------------

    def reset(self) -> None:
        self.load_balancers = {}
        self.next_public_host = 10
        self.client_tokens = {}

    def to_state(self) -> dict[str, Any]:
        return {
            "load_balancers": [lb.to_state() for lb in self.load_balancers.values()],
            "next_public_host": self.next_public_host,
            "client_tokens": self.client_tokens,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.load_balancers = {
            raw["load_balancer_id"]: LoadBalancer.from_state(raw) for raw in state["load_balancers"]
        }
        self.next_public_host = int(state["next_public_host"])
        self.client_tokens = dict(state.get("client_tokens") or {})

    def add_health_probe(self, probe: HealthProbe) -> None:
        """Register a probe that decides whether an instance serves a listener port."""
        self._probes.append(probe)

    # -- lookups --------------------------------------------------------------------------------

    def get(self, lb_id: str) -> LoadBalancer:
        lb = self.load_balancers.get(lb_id)
        if lb is None:
            raise exc.InvalidLoadBalancerIdNotFound(f"The specified LoadBalancerId does not exist: {lb_id}.")
        return lb

    def get_listener(self, lb_id: str, port: int) -> Listener:
        lb = self.get(lb_id)
        listener = lb.listeners.get(port)
        if listener is None:
            raise exc.ListenerNotFound(f"The specified port of listener does not exist: {port}.")
        return listener

    def find_load_balancers(self, tags: dict[str, str] | None = None) -> list[LoadBalancer]:
        """Load balancers carrying all of ``tags`` (all of them when ``tags`` is empty)."""
        wanted = tags or {}
        return [
            lb for lb in self.load_balancers.values() if all(lb.tags.get(k) == v for k, v in wanted.items())
        ]

    # -- load balancers -------------------------------------------------------------------------

    def _allocate_public_address(self) -> str:
        used = {lb.address for lb in self.load_balancers.values()}
        for _ in range(PUBLIC_POOL.num_addresses):
            host = self.next_public_host
            self.next_public_host = 10 if host >= PUBLIC_POOL.num_addresses - 2 else host + 1
            address = str(PUBLIC_POOL.network_address + host)
            if address not in used:
                return address
        raise exc.QuotaExceededInstances("No public address is left in the sandbox pool 203.0.113.0/24.")

    def create_load_balancer(
        self,
        name: str | None,
        address_type: str | None = None,
        vswitch_id: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        vpc_id: str | None = None,
        master_zone_id: str | None = None,
        slave_zone_id: str | None = None,
        spec: str | None = "slb.s1.small",
        internet_charge_type: str = "paybytraffic",
        bandwidth: int = 5120,
        delete_protection: str = "off",
    ) -> LoadBalancer:
        ecs = self.world.ecs
        if address_type is None:
            address_type = "intranet" if vswitch_id else "internet"
        if address_type not in ("internet", "intranet"):
            raise InvalidParameter("AddressType", "Valid values: internet, intranet.")
        if spec is not None and spec not in SPECS:
            raise exc.InvalidSpec(f"The specified LoadBalancerSpec is not valid: {spec}.")
        if len(self.load_balancers) >= MAX_LOAD_BALANCERS:
            raise exc.QuotaExceededInstances()
        vswitch = None
        if vswitch_id:
            vswitch = ecs.vswitches.get(vswitch_id)
            if vswitch is None:
                raise exc.InvalidVSwitchIdNotFound(f"The specified VSwitchId does not exist: {vswitch_id}.")
            if vpc_id and vpc_id != vswitch.vpc_id:
                raise InvalidParameter("VpcId", "The vSwitch does not belong to the specified VPC.")
        elif address_type == "intranet":
            raise InvalidParameter("VSwitchId", "An intranet load balancer needs a VSwitchId.")
        zones = sorted(self.world.zones)
        if master_zone_id is None:
            master_zone_id = vswitch.zone_id if vswitch else zones[0]
        if master_zone_id not in self.world.zones:
            raise exc.InvalidZoneId(f"The specified MasterZoneId is not valid: {master_zone_id}.")
        if slave_zone_id is None:
            slave_zone_id = next(z for z in zones if z != master_zone_id)
        if slave_zone_id not in self.world.zones or slave_zone_id == master_zone_id:
            raise exc.InvalidZoneId(f"The specified SlaveZoneId is not valid: {slave_zone_id}.")
        if vswitch is not None and address_type == "intranet":
            in_use = {i.private_ip for i in ecs.instances.values()}
            in_use |= {lb.address for lb in self.load_balancers.values()}
            address = vswitch.allocate_ip(in_use)
            if address is None:
                raise InvalidParameter("VSwitchId", "The vSwitch has no free IP address.")
        else:
            address = self._allocate_public_address()
        lb_id = self.world.new_id("lb-", 22)
        lb = LoadBalancer(
            load_balancer_id=lb_id,
            load_balancer_name=name or f"auto_named_slb_{lb_id[-8:]}",
            address=address,
            address_type=address_type,
            network_type="vpc" if vswitch else "classic",
            vpc_id=vswitch.vpc_id if vswitch else "",
            vswitch_id=vswitch.vswitch_id if vswitch else "",
            master_zone_id=master_zone_id,
            slave_zone_id=slave_zone_id,
            spec=spec or "",
            created_at=self.world.now(),
            internet_charge_type=internet_charge_type,
            bandwidth=bandwidth,
            delete_protection=delete_protection,
            tags=dict(tags or {}),
        )
        self.load_balancers[lb_id] = lb
        return lb

    def delete_load_balancer(self, lb_id: str) -> None:
        lb = self.get(lb_id)
        if lb.delete_protection == "on":
            raise exc.DeleteProtectionEnabled()
        del self.load_balancers[lb_id]
        if lb.vswitch_id and lb.address_type == "intranet":
            vswitch = self.world.ecs.vswitches.get(lb.vswitch_id)
            if vswitch is not None:
                vswitch.released.append(lb.address)

    def set_status(self, lb_id: str, status: str) -> None:
        if status not in ("active", "inactive"):
            raise InvalidParameter("LoadBalancerStatus", "Valid values: active, inactive.")
        self.get(lb_id).status = status

    # -- listeners ------------------------------------------------------------------------------

    def create_tcp_listener(self, lb_id: str, port: int, backend_port: int, **options: Any) -> Listener:
        lb = self.get(lb_id)
        for value in (port, backend_port):
            if not 1 <= value <= 65535:
                raise exc.InvalidPort(
                    f"The specified port is not valid: {value}; it must be from 1 to 65535."
                )
        if port in lb.listeners:
            raise exc.ListenerAlreadyExists(f"The specified listener already exists: port {port}.")
        listener = Listener(port=port, backend_port=backend_port, **options)
        lb.listeners[port] = listener
        return listener

    def start_listener(self, lb_id: str, port: int) -> None:
        lb = self.get(lb_id)
        listener = self.get_listener(lb_id, port)
        if lb.status != "active":
            raise exc.ServiceIsStopping()
        listener.status = "running"

    def stop_listener(self, lb_id: str, port: int) -> None:
        self.get_listener(lb_id, port).status = "stopped"

    def delete_listener(self, lb_id: str, port: int) -> None:
        self.get_listener(lb_id, port)
        del self.get(lb_id).listeners[port]

    # -- backend servers ------------------------------------------------------------------------

    def _check_servers(self, servers: list[tuple[str, int]], require_running: bool) -> None:
        if len(servers) > MAX_BACKENDS_PER_CALL:
            raise exc.TooManyBackendServers()
        for server_id, weight in servers:
            if not isinstance(weight, int) or not 0 <= weight <= 100:
                raise exc.InvalidWeightMalformed(
                    f"The specified Weight is invalid: {weight!r}; use 0 to 100."
                )
            instance = self.world.ecs.instances.get(server_id)
            if instance is None:
                raise exc.InvalidServerIdNotFound(f"The specified ServerId does not exist: {server_id}.")
            if require_running and instance.status != "Running":
                raise exc.BackendServerNotRunning(
                    f"The specified backend server is not running: {server_id} is {instance.status}."
                )

    def add_backend_servers(self, lb_id: str, servers: list[tuple[str, int]]) -> list[BackendServer]:
        lb = self.get(lb_id)
        self._check_servers(servers, require_running=True)
        added: list[BackendServer] = []
        seen: set[str] = set()
        for server_id, weight in servers:
            if server_id in seen:
                continue  # a repeated instance in one request is added once
            seen.add(server_id)
            if server_id in lb.backends:
                raise exc.BackendServerAlreadyAdded(
                    f"The specified backend server has already been added: {server_id}."
                )
            added.append(BackendServer(server_id, weight))
        for server in added:
            lb.backends[server.server_id] = server
        return list(lb.backends.values())

    def update_backend_weights(self, lb_id: str, servers: list[tuple[str, int]]) -> list[BackendServer]:
        lb = self.get(lb_id)
        self._check_servers(servers, require_running=False)
        for server_id, _ in servers:
            if server_id not in lb.backends:
                raise exc.BackendServerNotAttached(
                    f"The specified backend server is not attached: {server_id}."
                )
        for server_id, weight in servers:
            lb.backends[server_id].weight = weight
        return [lb.backends[server_id] for server_id, _ in servers]

    def remove_backend_servers(self, lb_id: str, server_ids: list[str]) -> list[BackendServer]:
        lb = self.get(lb_id)
        if len(server_ids) > MAX_BACKENDS_PER_CALL:
            raise exc.TooManyBackendServers()
        for server_id in server_ids:
            if server_id not in lb.backends:
                raise exc.BackendServerNotAttached(
                    f"The specified backend server is not attached: {server_id}."
                )
        for server_id in server_ids:
            lb.backends.pop(server_id, None)
        return list(lb.backends.values())

    def set_backend_servers(self, lb_id: str, servers: list[tuple[str, int]]) -> list[BackendServer]:
        """Make the backend set exactly ``servers`` (used by the cloud-controller stand-in)."""
        lb = self.get(lb_id)
        for _, weight in servers:
            if not 0 <= weight <= 100:
                raise exc.InvalidWeightMalformed()
        wanted = dict(servers)
        for server_id in list(lb.backends):
            if server_id not in wanted:
                del lb.backends[server_id]
        for server_id, weight in wanted.items():
            if server_id not in self.world.ecs.instances:
                raise exc.InvalidServerIdNotFound(f"The specified ServerId does not exist: {server_id}.")
            lb.backends.setdefault(server_id, BackendServer(server_id, weight)).weight = weight
        return list(lb.backends.values())

    def forget_server(self, server_id: str) -> None:
        """Detach a released instance from every load balancer."""
        for lb in self.load_balancers.values():
            lb.backends.pop(server_id, None)

    # -- health ---------------------------------------------------------------------------------

    def health(self, lb_id: str, port: int | None = None) -> list[tuple[int, BackendServer, str]]:
        """(listener port, backend, normal|abnormal|unavailable) for every listener and backend."""
        lb = self.get(lb_id)
        if port is not None:
            self.get_listener(lb_id, port)
        rows: list[tuple[int, BackendServer, str]] = []
        for listener in sorted(lb.listeners.values(), key=lambda item: item.port):
            if port is not None and listener.port != port:
                continue
            for backend in lb.backends.values():
                rows.append((listener.port, backend, self._server_health(lb, listener, backend)))
        return rows

    def _server_health(self, lb: LoadBalancer, listener: Listener, backend: BackendServer) -> str:
        if listener.status != "running" or listener.health_check != "on" or lb.status != "active":
            return "unavailable"
        instance = self.world.ecs.instances.get(backend.server_id)
        if instance is None or instance.status != "Running":
            return "abnormal"
        zone = self.world.zones.get(instance.zone_id)
        if zone is not None and zone.outage:
            return "abnormal"
        for probe in self._probes:
            verdict = probe(lb, listener.port, instance)
            if verdict is False:
                return "abnormal"
        return "normal"
