"""ECS security groups: find by tag and name or create with a ClientToken; add only missing rules."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from include.errors import ConfigurationError, IdempotencyMismatchError, ResourceNotFoundError
from include.fleet.contract import TAG_CLUSTER
from operators.utils.replays import (
    MAX_REPLAY_GENERATIONS,
    generation_intent,
    replay_gone_error,
    token_used_before,
)
from operators.utils.tags import tags_of, tags_param


@dataclass(frozen=True)
class SecurityRule:
    """One ingress rule (ECS ``Permissions.N``)."""

    ip_protocol: str
    port_range: str
    source_cidr_ip: str | None = None
    source_group_id: str | None = None
    policy: str = "accept"
    priority: int = 1
    description: str | None = None

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> SecurityRule:
        """A rule from its dict form (``ip_protocol``, ``port_range``, ``source_cidr_ip`` or
        ``source_group_id``; optional ``policy``, ``priority``, ``description``).

        :raises ConfigurationError: a missing or unknown key.
        """
        try:
            return cls(**dict(rule))
        except TypeError as exc:
            raise ConfigurationError(f"bad security group rule: {exc}") from None

    def key(self) -> tuple[str, str, str, str, str]:
        return (
            self.ip_protocol.upper(),
            self.port_range,
            self.source_cidr_ip or "",
            self.source_group_id or "",
            self.policy.lower(),
        )

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "IpProtocol": self.ip_protocol.upper(),
            "PortRange": self.port_range,
            "Policy": self.policy,
            "Priority": str(self.priority),
        }
        if self.source_cidr_ip:
            out["SourceCidrIp"] = self.source_cidr_ip
        if self.source_group_id:
            out["SourceGroupId"] = self.source_group_id
        if self.description:
            out["Description"] = self.description
        return out


@dataclass(frozen=True)
class SecurityGroup:
    """A security group as DescribeSecurityGroups lists it."""

    security_group_id: str
    name: str
    vpc_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> SecurityGroup:
        return cls(
            security_group_id=raw["SecurityGroupId"],
            name=raw.get("SecurityGroupName", ""),
            vpc_id=raw.get("VpcId") or None,
            tags=tags_of(raw),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: DescribeSecurityGroups page size (its maximum is 50).
SECURITY_GROUP_PAGE_SIZE = 50


class SecurityGroupMixin:
    """Security-group methods of :class:`operators.hooks.ecs.EcsHook`."""

    invoke: Any
    invoke_pages: Any
    _request: Any
    client_token: Any
    cluster: str | None
    replay_check_attempts: int
    replay_check_interval: float

    def list_security_groups(self, cluster: str) -> list[SecurityGroup]:
        """Every security group tagged ``yunfleet:cluster=<cluster>``, all pages."""
        pages = self.invoke_pages(
            "DescribeSecurityGroups",
            {"Tag": tags_param({TAG_CLUSTER: cluster})},
            items=("SecurityGroups", "SecurityGroup"),
            page_size=SECURITY_GROUP_PAGE_SIZE,
        )
        return [SecurityGroup.from_api(raw) for raw in pages]

    def find_security_group(self, cluster: str, name: str, vpc_id: str | None = None) -> str | None:
        body = self.invoke(
            "DescribeSecurityGroups",
            self._request(
                "DescribeSecurityGroups",
                {
                    "VpcId": vpc_id,
                    "SecurityGroupName": name,
                    "Tag": tags_param({TAG_CLUSTER: cluster}),
                    "PageSize": 50,
                },
            ),
        )
        assert body is not None
        groups = (body.get("SecurityGroups") or {}).get("SecurityGroup") or []
        matches = [g["SecurityGroupId"] for g in groups if g.get("SecurityGroupName") == name]
        return sorted(matches)[0] if matches else None

    def security_group_rules(self, security_group_id: str) -> set[tuple[str, str, str, str, str]]:
        body = self.invoke(
            "DescribeSecurityGroupAttribute",
            self._request(
                "DescribeSecurityGroupAttribute",
                {"SecurityGroupId": security_group_id, "Direction": "ingress"},
            ),
        )
        assert body is not None
        perms = (body.get("Permissions") or {}).get("Permission") or []
        return {
            SecurityRule(
                ip_protocol=p.get("IpProtocol", ""),
                port_range=p.get("PortRange", ""),
                source_cidr_ip=p.get("SourceCidrIp") or None,
                source_group_id=p.get("SourceGroupId") or None,
                policy=p.get("Policy") or "accept",
            ).key()
            for p in perms
        }

    def ensure_security_group(
        self, *, cluster: str, name: str, vpc_id: str | None, rules: Sequence[SecurityRule]
    ) -> dict[str, Any]:
        """Find (by tag and name) or create the cluster's security group, then add missing rules.

        A created group is read back before rules are added: a ClientToken replay can name a group
        deleted since, which is then created again under a new token (see ``operators.utils.replays``).

        :raises PermanentCloudError: ``ReplayedResourcesGone`` when every new token named a deleted group.
        """
        group_id = self.find_security_group(cluster, name, vpc_id)
        created = False
        present: set[tuple[str, str, str, str, str]] | None = None
        if group_id is None:
            intent = f"create-security-group:{cluster}:{name}"
            gone: list[str] = []
            for generation in range(MAX_REPLAY_GENERATIONS + 1):
                try:
                    body = self.invoke(
                        "CreateSecurityGroup",
                        self._request(
                            "CreateSecurityGroup",
                            {
                                "VpcId": vpc_id,
                                "SecurityGroupName": name,
                                "Description": f"yunfleet cluster {cluster}",
                                "SecurityGroupType": "normal",
                                "ClientToken": self.client_token(generation_intent(intent, generation)),
                                "Tag": tags_param({TAG_CLUSTER: cluster}),
                            },
                        ),
                        mutating=True,
                        target=name,
                        cluster=cluster,
                    )
                except IdempotencyMismatchError:
                    token_used_before(intent, generation)
                    continue
                if body is None:  # dry run: nothing exists to add rules to
                    return {"security_group_id": None, "created": True, "rules_added": len(rules)}
                group_id, created = body["SecurityGroupId"], True
                present = self._rules_of_created_group(group_id)
                if present is not None:
                    break
                gone.append(group_id)
            else:
                raise replay_gone_error(
                    f"{cluster}/{name}", intent, gone, product="ecs", action="CreateSecurityGroup"
                )
        assert group_id is not None
        if present is None:
            present = self.security_group_rules(group_id)
        missing = [r for r in rules if r.key() not in present]
        for start in range(0, len(missing), 100):
            batch = missing[start : start + 100]
            self.invoke(
                "AuthorizeSecurityGroup",
                self._request(
                    "AuthorizeSecurityGroup",
                    {
                        "SecurityGroupId": group_id,
                        "Permissions": [r.to_api() for r in batch],
                        "ClientToken": self.client_token(
                            f"authorize:{group_id}:" + ";".join("|".join(r.key()) for r in batch)
                        )[:64],
                    },
                ),
                mutating=True,
                target=group_id,
                cluster=cluster,
            )
        return {"security_group_id": group_id, "created": created, "rules_added": len(missing)}

    def _rules_of_created_group(self, group_id: str) -> set[tuple[str, str, str, str, str]] | None:
        """The rules of a group a create was answered with; None when it does not exist (re-read a few
        times first: a new group can take a moment to be readable)."""
        for attempt in range(max(1, self.replay_check_attempts)):
            try:
                return self.security_group_rules(group_id)
            except ResourceNotFoundError:
                if attempt + 1 < self.replay_check_attempts:
                    time.sleep(self.replay_check_interval)
        return None

    def delete_security_group(self, security_group_id: str, *, cluster: str | None = None) -> bool:
        """Delete a security group; False when it was already gone."""
        try:
            self.invoke(
                "DeleteSecurityGroup",
                self._request("DeleteSecurityGroup", {"SecurityGroupId": security_group_id}),
                mutating=True,
                target=security_group_id,
                cluster=cluster or self.cluster,
            )
        except ResourceNotFoundError:
            return False
        return True
