"""ECS state and behaviour: Python arguments in, typed errors out, no HTTP."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.ecs import exceptions as exc
from sandbox.ecs.images import Image, images_from_state, images_to_state, seed_images
from sandbox.ecs.network import SEED_VPC, SEED_VSWITCHES, Permission, SecurityGroup, Vpc, VSwitch

if TYPE_CHECKING:
    from sandbox.world import World

STATUSES = ("Pending", "Starting", "Running", "Stopping", "Stopped")
USER_DATA_LIMIT = 32 * 1024
DEFAULT_VCPU_QUOTA = 4000


@dataclass(frozen=True)
class InstanceType:
    instance_type: str
    family: str
    cpu: int
    memory_gib: float


SEED_INSTANCE_TYPES = (
    InstanceType("ecs.c7.large", "ecs.c7", 2, 4.0),
    InstanceType("ecs.c7.xlarge", "ecs.c7", 4, 8.0),
    InstanceType("ecs.g7.large", "ecs.g7", 2, 8.0),
    InstanceType("ecs.g7.xlarge", "ecs.g7", 4, 16.0),
    InstanceType("ecs.g7.2xlarge", "ecs.g7", 8, 32.0),
    InstanceType("ecs.r7.large", "ecs.r7", 2, 16.0),
)


@dataclass
class Instance:
    instance_id: str
    instance_name: str
    hostname: str
    instance_type: str
    image_id: str
    zone_id: str
    vpc_id: str
    vswitch_id: str
    private_ip: str
    security_group_ids: list[str]
    tags: dict[str, str]
    user_data: str | None
    created_at: float
    status: str = "Pending"
    started_at: float | None = None
    description: str = ""
    instance_charge_type: str = "PostPaid"
    internet_max_bandwidth_out: int = 0
    deletion_protection: bool = False
    # Instance RAM role and metadata access (RunInstances RamRoleName, HttpEndpoint, HttpTokens): a
    # booting node reads its KMS delivery secret with the role's credentials from the metadata service.
    ram_role_name: str | None = None
    http_endpoint: str = "enabled"
    http_tokens: str = "optional"
    # Scheduled transitions: [at_time, status], applied in order by the world's tick.
    plan: list[list[Any]] = field(default_factory=list)

    def schedule(self, now: float, steps: list[tuple[str, float]]) -> None:
        """Replace the plan: each step is (status, seconds after the previous step)."""
        self.plan = []
        at = now
        for status, delay in steps:
            at += delay
            self.plan.append([at, status])


@dataclass
class TokenRecord:
    fingerprint: str
    instance_ids: list[str]


class EcsBackend:
    """Instances, images, security groups, VPCs and vSwitches of the region, plus quota and idempotency."""

    def __init__(self, world: World):
        self.world = world
        self.instance_types: dict[str, InstanceType] = {t.instance_type: t for t in SEED_INSTANCE_TYPES}
        self.images: dict[str, Image] = seed_images()
        self.instances: dict[str, Instance] = {}
        self.vpcs: dict[str, Vpc] = {}
        self.vswitches: dict[str, VSwitch] = {}
        self.security_groups: dict[str, SecurityGroup] = {}
        self.client_tokens: dict[str, TokenRecord] = {}
        self.vcpu_quota = DEFAULT_VCPU_QUOTA

    @staticmethod
    def seed_type_names() -> list[str]:
        return [t.instance_type for t in SEED_INSTANCE_TYPES]

    # -- lifecycle of the backend ---------------------------------------------------------------

    def reset(self) -> None:
        now = self.world.now()
        self.instances = {}
        self.client_tokens = {}
        self.vcpu_quota = DEFAULT_VCPU_QUOTA
        self.images = seed_images()
        vpc_id, vpc_name, cidr = SEED_VPC
        self.vpcs = {vpc_id: Vpc(vpc_id, vpc_name, cidr, now, is_default=False)}
        self.vswitches = {
            vsw_id: VSwitch(vsw_id, name, vpc_id, zone_id, vsw_cidr, now)
            for vsw_id, name, zone_id, vsw_cidr in SEED_VSWITCHES
        }
        self.security_groups = {}

    def to_state(self) -> dict[str, Any]:
        return {
            "instances": [asdict(i) for i in self.instances.values()],
            "vpcs": [asdict(v) for v in self.vpcs.values()],
            "vswitches": [asdict(v) for v in self.vswitches.values()],
            "security_groups": [sg.to_state() for sg in self.security_groups.values()],
            "client_tokens": {k: asdict(v) for k, v in self.client_tokens.items()},
            "vcpu_quota": self.vcpu_quota,
            "images": images_to_state(self.images),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.instances = {raw["instance_id"]: Instance(**raw) for raw in state["instances"]}
        self.vpcs = {raw["vpc_id"]: Vpc(**raw) for raw in state["vpcs"]}
        self.vswitches = {raw["vswitch_id"]: VSwitch(**raw) for raw in state["vswitches"]}
        self.security_groups = {
            raw["security_group_id"]: SecurityGroup.from_state(raw) for raw in state["security_groups"]
        }
        self.client_tokens = {k: TokenRecord(**v) for k, v in state["client_tokens"].items()}
        self.vcpu_quota = int(state.get("vcpu_quota", DEFAULT_VCPU_QUOTA))
        self.images = images_from_state(state.get("images"))

    def tick(self, now: float) -> None:
        for instance in self.instances.values():
            if not instance.plan:
                continue
            zone = self.world.zones.get(instance.zone_id)
            if zone is not None and zone.outage:
                continue  # a zone in outage makes no progress until it recovers
            while instance.plan and instance.plan[0][0] <= now:
                _, status = instance.plan.pop(0)
                instance.status = status
                if status == "Running":
                    instance.started_at = now

    # -- lookups --------------------------------------------------------------------------------

    def get_instance(self, instance_id: str) -> Instance:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise exc.InvalidInstanceIdNotFound(f"The specified InstanceId does not exist: {instance_id}.")
        return instance

    def get_vswitch(self, vswitch_id: str) -> VSwitch:
        vswitch = self.vswitches.get(vswitch_id)
        if vswitch is None:
            raise exc.InvalidVSwitchIdNotFound(f"The specified VSwitchId does not exist: {vswitch_id}.")
        return vswitch

    def get_security_group(self, group_id: str) -> SecurityGroup:
        group = self.security_groups.get(group_id)
        if group is None:
            raise exc.InvalidSecurityGroupIdNotFound(
                f"The specified SecurityGroupId does not exist: {group_id}."
            )
        return group

    def check_zone(self, zone_id: str) -> None:
        if zone_id not in self.world.zones:
            raise exc.InvalidZoneIdNotFound(f"The specified zone does not exist: {zone_id}.")

    def used_vcpus(self) -> int:
        return sum(self.instance_types[i.instance_type].cpu for i in self.instances.values())

    def stock_status(self, zone_id: str, instance_type: str) -> tuple[str, str, int]:
        """(Status, StatusCategory, units left) of a type in a zone, as DescribeAvailableResource shows it."""
        zone = self.world.zones[zone_id]
        left = zone.stock.get(instance_type, 0)
        if zone.outage:
            return "SoldOut", "ClosedWithoutStock", 0
        if left <= 0:
            return "SoldOut", "WithoutStock", 0
        return "Available", "WithStock", left

    # -- security groups ------------------------------------------------------------------------

    def create_security_group(
        self, vpc_id: str | None, name: str, description: str, group_type: str, tags: dict[str, str]
    ) -> SecurityGroup:
        if vpc_id is None:
            vpc_id = next(iter(self.vpcs))
        if vpc_id not in self.vpcs:
            raise exc.InvalidVpcIdNotFound(f"The specified VpcId does not exist: {vpc_id}.")
        if group_type not in ("normal", "enterprise"):
            raise InvalidParameter("SecurityGroupType", "Valid values: normal, enterprise.")
        group = SecurityGroup(
            self.world.new_id("sg-"), name, description, vpc_id, group_type, self.world.now(), dict(tags)
        )
        self.security_groups[group.security_group_id] = group
        return group

    def authorize_security_group(self, group_id: str, permissions: list[Permission]) -> None:
        group = self.get_security_group(group_id)
        existing = {p.key() for p in group.permissions}
        for permission in permissions:
            if permission.ip_protocol not in ("TCP", "UDP", "ICMP", "GRE", "ALL", "ICMPV6"):
                raise exc.InvalidIpProtocol()
            _check_port_range(permission.ip_protocol, permission.port_range)
            if permission.source_group_id and permission.source_group_id not in self.security_groups:
                raise exc.InvalidSecurityGroupIdNotFound(
                    f"The specified SourceGroupId does not exist: {permission.source_group_id}."
                )
            if permission.key() in existing:
                continue  # the real service accepts an identical rule again without change
            permission.created_at = self.world.now()
            group.permissions.append(permission)
            existing.add(permission.key())

    def delete_security_group(self, group_id: str) -> None:
        self.get_security_group(group_id)
        if any(group_id in i.security_group_ids for i in self.instances.values()):
            raise exc.SecurityGroupDependencyViolation()
        del self.security_groups[group_id]

    # -- instances ------------------------------------------------------------------------------

    def run_instances(
        self,
        *,
        image_id: str,
        instance_type: str,
        vswitch_id: str,
        security_group_ids: list[str],
        zone_id: str | None = None,
        amount: int = 1,
        min_amount: int | None = None,
        instance_name: str | None = None,
        hostname: str | None = None,
        unique_suffix: bool = False,
        user_data: str | None = None,
        tags: dict[str, str] | None = None,
        description: str = "",
        internet_max_bandwidth_out: int = 0,
        deletion_protection: bool = False,
        ram_role_name: str | None = None,
        http_endpoint: str = "enabled",
        http_tokens: str = "optional",
        client_token: str | None = None,
        fingerprint: str = "",
        dry_run: bool = False,
    ) -> list[str]:
        """Create instances (Pending, then Starting, then Running); returns their ids."""
        if client_token:
            record = self.client_tokens.get(client_token)
            if record is not None:
                if record.fingerprint != fingerprint:
                    raise exc.IdempotentParameterMismatch()
                return list(record.instance_ids)
        if not 1 <= amount <= 100:
            raise exc.InvalidAmount()
        if min_amount is not None and not 1 <= min_amount <= amount:
            raise InvalidParameter("MinAmount", "It must be from 1 to Amount.")
        image = self.images.get(image_id)
        if image is None:
            raise exc.InvalidImageIdNotFound(f"The specified ImageId does not exist: {image_id}.")
        if image.status != "Available":
            raise exc.ImageNotValid(
                f"The specified Image is disabled or is deleted: {image_id} is {image.status}."
            )
        itype = self.instance_types.get(instance_type)
        if itype is None:
            raise exc.InvalidInstanceTypeNotFound(
                f"The specified InstanceType does not exist: {instance_type}."
            )
        vswitch = self.get_vswitch(vswitch_id)
        if zone_id and zone_id != vswitch.zone_id:
            raise exc.InvalidVSwitchZoneMismatch()
        zone_id = vswitch.zone_id
        if not security_group_ids:
            raise InvalidParameter("SecurityGroupId", "At least one security group is required.")
        for group_id in security_group_ids:
            group = self.get_security_group(group_id)
            if group.vpc_id != vswitch.vpc_id:
                raise exc.SecurityGroupVpcMismatch()
        if user_data is not None:
            _check_user_data(user_data)
        if ram_role_name is not None and not re.fullmatch(r"[A-Za-z0-9.-]{1,64}", ram_role_name):
            raise InvalidParameter("RamRoleName", "It must be 1-64 letters, digits, periods or hyphens.")
        tags = dict(tags or {})
        zone = self.world.zones[zone_id]
        if zone.outage:
            raise exc.ZoneNotOnSale(f"The specified zone {zone_id} is not available for purchase.")
        available = zone.stock.get(instance_type, 0)
        count = amount
        if available < amount:
            if min_amount is None or available < min_amount:
                raise exc.NoStock()
            count = available
        if self.used_vcpus() + count * itype.cpu > self.vcpu_quota:
            raise exc.QuotaExceedElasticQuota()
        in_use = {i.private_ip for i in self.instances.values()}
        if vswitch.available_ips(in_use) < count:
            raise InvalidParameter("VSwitchId", "The specified VSwitch has not enough free IP addresses.")
        if dry_run:
            raise exc.DryRunOperation()
        now = self.world.now()
        timings = self.world.timings
        created: list[str] = []
        for index in range(count):
            instance_id = self.world.new_id("i-")
            name = _with_suffix(instance_name or instance_id, index, count, unique_suffix)
            host = _with_suffix(hostname or f"iZ{instance_id[2:]}Z", index, count, unique_suffix)
            ip = vswitch.allocate_ip(in_use)
            assert ip is not None
            in_use.add(ip)
            instance = Instance(
                instance_id=instance_id,
                instance_name=name,
                hostname=host,
                instance_type=instance_type,
                image_id=image_id,
                zone_id=zone_id,
                vpc_id=vswitch.vpc_id,
                vswitch_id=vswitch.vswitch_id,
                private_ip=ip,
                security_group_ids=list(security_group_ids),
                tags=dict(tags),
                user_data=user_data,
                created_at=now,
                description=description,
                internet_max_bandwidth_out=internet_max_bandwidth_out,
                deletion_protection=deletion_protection,
                ram_role_name=ram_role_name,
                http_endpoint=http_endpoint,
                http_tokens=http_tokens,
            )
            instance.schedule(now, [("Starting", timings.pending_s), ("Running", timings.starting_s)])
            self.instances[instance_id] = instance
            created.append(instance_id)
        zone.stock[instance_type] = available - count
        if client_token:
            self.client_tokens[client_token] = TokenRecord(fingerprint, list(created))
        return created

    def start_instance(self, instance_id: str) -> tuple[str, str]:
        instance = self.get_instance(instance_id)
        previous = instance.status
        if previous in ("Running", "Starting"):
            return previous, previous
        if previous != "Stopped":
            raise exc.IncorrectInstanceStatus()
        instance.status = "Starting"
        instance.schedule(self.world.now(), [("Running", self.world.timings.starting_s)])
        return previous, instance.status

    def stop_instance(self, instance_id: str) -> tuple[str, str]:
        instance = self.get_instance(instance_id)
        previous = instance.status
        if previous in ("Stopped", "Stopping"):
            return previous, previous
        if previous != "Running":
            raise exc.IncorrectInstanceStatus()
        instance.status = "Stopping"
        instance.schedule(self.world.now(), [("Stopped", self.world.timings.stopping_s)])
        return previous, instance.status

    def reboot_instance(self, instance_id: str) -> tuple[str, str]:
        instance = self.get_instance(instance_id)
        previous = instance.status
        if previous != "Running":
            raise exc.IncorrectInstanceStatus()
        timings = self.world.timings
        instance.status = "Stopping"
        instance.schedule(
            self.world.now(), [("Starting", timings.stopping_s), ("Running", timings.starting_s)]
        )
        return previous, instance.status

    def delete_instances(self, instance_ids: list[str], force: bool, dry_run: bool = False) -> None:
        instances = [self.get_instance(i) for i in instance_ids]
        for instance in instances:
            if instance.deletion_protection:
                raise exc.DeletionProtection()
            if instance.status != "Stopped" and not force:
                raise exc.IncorrectInstanceStatus(
                    f"The current status of the resource does not support this operation: "
                    f"{instance.instance_id} is {instance.status}; stop it first or pass Force=true."
                )
        if dry_run:
            raise exc.DryRunOperation()
        for instance in instances:
            del self.instances[instance.instance_id]
            vswitch = self.vswitches.get(instance.vswitch_id)
            if vswitch is not None:
                vswitch.released.append(instance.private_ip)
            zone = self.world.zones.get(instance.zone_id)
            if zone is not None:
                zone.stock[instance.instance_type] = zone.stock.get(instance.instance_type, 0) + 1
            self.world.slb.forget_server(instance.instance_id)

    def tag_instances(self, instance_ids: list[str], tags: dict[str, str]) -> None:
        instances = [self.get_instance(i) for i in instance_ids]
        for instance in instances:
            if len({**instance.tags, **tags}) > 20:
                raise InvalidParameter("Tag", "A resource can have at most 20 tags.")
        for instance in instances:
            instance.tags.update(tags)

    def untag_instances(self, instance_ids: list[str], keys: list[str] | None) -> None:
        for instance in [self.get_instance(i) for i in instance_ids]:
            for key in list(instance.tags) if keys is None else keys:
                instance.tags.pop(key, None)


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > 20:
        raise InvalidParameter("Tag", "At most 20 tags are allowed.")
    for key, value in tags.items():
        if (
            not key
            or len(key) > 128
            or key.startswith(("aliyun", "acs:"))
            or "http://" in key
            or "https://" in key
        ):
            raise exc.InvalidTagKey(f"The specified Tag.n.Key is not valid: {key!r}.")
        if len(value) > 128:
            raise InvalidParameter("Tag.n.Value", f"The value of tag {key!r} is longer than 128 characters.")


def _check_user_data(user_data: str) -> None:
    try:
        raw = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise exc.UserDataNotBase64() from error
    if len(raw) > USER_DATA_LIMIT:
        raise exc.UserDataSizeExceeded(
            f"The specified parameter UserData exceeds the size limit: {len(raw)} bytes before Base64 "
            f"encoding, at most {USER_DATA_LIMIT}."
        )


def _check_port_range(protocol: str, port_range: str) -> None:
    try:
        low, high = (int(part) for part in port_range.split("/"))
    except ValueError as error:
        raise exc.InvalidPortRange(
            f"The specified parameter PortRange is not valid: {port_range!r}."
        ) from error
    if protocol in ("ICMP", "GRE", "ALL", "ICMPV6"):
        if (low, high) != (-1, -1):
            raise exc.InvalidPortRange(f"PortRange must be -1/-1 for protocol {protocol}.")
        return
    if not 1 <= low <= high <= 65535:
        raise exc.InvalidPortRange(f"The specified parameter PortRange is not valid: {port_range!r}.")


def _with_suffix(name: str, index: int, count: int, unique_suffix: bool) -> str:
    if count > 1 and unique_suffix:
        return f"{name}{index + 1:03d}"
    return name
