"""The nodes-Ready wait of the fleet Kubernetes hook: what is Ready, what is missing and why.

The report (``operators.utils.node_readiness``) names each missing node with its pool, zone, instance id
and last Ready condition. For zones holding a missing node it asks ECS which are closed to instances
(``EcsHook.unavailable_zones``); a missing node in such a zone ends the wait early (``Blocked``), since
waiting cannot bring it up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from include.errors import CloudError
from operators.utils.node_readiness import ExpectedNode, NodeReadiness, assess

log = logging.getLogger(__name__)


class NodeReadinessMixin:
    """Needs ``list_nodes``, ``alibaba_cloud_conn_id``, ``yunfleet_db_conn_id`` and ``_prefetched``
    (the connection read on the triggerer's event loop) from the hook it is mixed into."""

    list_nodes: Any
    alibaba_cloud_conn_id: str
    yunfleet_db_conn_id: str
    _prefetched: Any

    @cached_property
    def ecs_hook(self) -> Any:
        """An ``EcsHook`` on the same ``alibaba_cloud`` connection (reads only: zones)."""
        from operators.hooks.ecs import EcsHook

        hook = EcsHook(self.alibaba_cloud_conn_id, yunfleet_db_conn_id=self.yunfleet_db_conn_id)
        hook._prefetched = self._prefetched
        return hook

    def node_readiness(
        self,
        count: int,
        label_selector: str | None = None,
        expected: Sequence[Any] | None = None,
        check_zones: bool = True,
    ) -> NodeReadiness:
        """Where a wait for ``count`` Ready nodes (matching ``label_selector``) stands.

        :param expected: the instances that should become nodes: ids or ``{"instance_id", "pool",
            "zone"}``; with them, each one without a Ready node is reported missing by name.
        :param check_zones: while nodes are missing, ask ECS whether their zones are closed to
            instances (an error there is logged and ignored: it must not end the wait).
        """
        nodes = self.list_nodes(label_selector)
        wanted = [ExpectedNode.parse(e) for e in expected or ()]
        report = assess(nodes, count, wanted)
        if not check_zones or report.enough or not report.missing_zones:
            return report
        try:
            unavailable = self.ecs_hook.unavailable_zones(report.missing_zones)
        except CloudError as exc:
            log.warning("Could not read zone availability from ECS (%s); waiting on", exc)
            return report
        return assess(nodes, count, wanted, unavailable)

    def nodes_ready_for_waiter(
        self,
        count: int,
        label_selector: str | None = None,
        expected: Sequence[Any] | None = None,
        check_zones: bool = True,
    ) -> dict[str, Any]:
        """Waiter operation: ``Enough`` (at least ``count`` Ready), ``Blocked`` (a missing node is in a
        zone ECS reports closed to instances), ``Missing`` and a one-line ``Summary``."""
        return self.node_readiness(count, label_selector, expected, check_zones).to_waiter_result()
