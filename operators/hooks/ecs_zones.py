"""ECS zones the cloud reports unavailable for instances (a wait for nodes there cannot finish).

``DescribeZones`` lists, per zone, the resource types that can be created there
(``AvailableResourceCreation.ResourceTypes``). A zone that offers no ``Instance`` creation, or that the
region no longer lists, is closed to instances: the sandbox answers so for a zone in outage. On the
real cloud the same answer also means a zone closed for sale, so callers use it only for nodes that are
missing anyway, never to doubt nodes that are Ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

INSTANCE = "Instance"


class ZoneAvailabilityMixin:
    """Zone methods of :class:`operators.hooks.ecs.EcsHook`."""

    invoke: Any
    _request: Any

    def unavailable_zones(self, zone_ids: Iterable[str]) -> dict[str, str]:
        """``{zone id: why}`` for the zones of ``zone_ids`` that ECS reports closed to instances."""
        wanted = sorted(set(zone_ids))
        if not wanted:
            return {}
        body = self.invoke("DescribeZones", self._request("DescribeZones", {})) or {}
        zones = {z.get("ZoneId"): z for z in (body.get("Zones") or {}).get("Zone") or []}
        out: dict[str, str] = {}
        for zone_id in wanted:
            zone = zones.get(zone_id)
            if zone is None:
                out[zone_id] = "ECS DescribeZones does not list it"
                continue
            kinds = (zone.get("AvailableResourceCreation") or {}).get("ResourceTypes") or []
            if INSTANCE not in kinds:
                out[zone_id] = "ECS DescribeZones offers no instance creation there"
        return out
