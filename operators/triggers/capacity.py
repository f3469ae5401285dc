"""The event trigger of ``reconcile_capacity``'s fast path: unschedulable pods in a registered cluster.

Used through an ``AssetWatcher`` (``dags/reconcile_capacity.py``): the triggerer runs one
:class:`UnschedulablePodsTrigger` for the fleet; every ``poll_interval`` seconds it lists the pods of
each ready cluster and, when pods have turned unschedulable since the last look, yields an event
``{"cluster", "pods", "count"}``. Airflow turns the event into an asset event and the scheduler
queues a ``reconcile_capacity`` run, which reconciles just that cluster. Events collapse while a run
is queued; a cluster fires at most once per ``cooldown`` seconds, and pods already reported do not
fire again (the five-minute schedule covers pods that stay pending).

Imports no hook at module level: the DAG file imports this module at parse time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from airflow.triggers.base import TriggerEvent

from operators.defaults import ALIBABA_CLOUD_CONN_ID, YUNFLEET_DB_CONN_ID
from operators.triggers.polling import FleetPollingTrigger

log = logging.getLogger(__name__)

#: pod names carried in one event (the count says how many there are)
EVENT_PODS = 20


class PendingPodsTracker:
    """Which unschedulable pods were already reported, per cluster, and when each cluster last fired.

    :param cooldown: seconds a cluster stays quiet after an event.
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown = float(cooldown)
        self.clock = clock
        self.reported: dict[str, set[str]] = {}
        self.fired_at: dict[str, float] = {}

    def observe(self, cluster: str, unschedulable: Iterable[str]) -> dict[str, Any] | None:
        """The event payload when ``cluster`` has pods that turned unschedulable since it last fired
        (and its cooldown is over), else ``None``. Pods that are no longer unschedulable are forgotten,
        so a pod that turns unschedulable again fires again."""
        current = set(unschedulable)
        known = self.reported.get(cluster, set()) & current
        new = current - known
        now = self.clock()
        last = self.fired_at.get(cluster)
        if new and (last is None or now - last >= self.cooldown):
            self.reported[cluster] = current
            self.fired_at[cluster] = now
            return {"cluster": cluster, "pods": sorted(new)[:EVENT_PODS], "count": len(current)}
        self.reported[cluster] = known
        return None

    def forget(self, clusters: Iterable[str]) -> None:
        """Drop clusters that are no longer registered (or no longer ready)."""
        for cluster in list(self.reported):
            if cluster not in set(clusters):
                self.reported.pop(cluster, None)
                self.fired_at.pop(cluster, None)


class UnschedulablePodsTrigger(FleetPollingTrigger):
    """Fire when pods of a ready, registered cluster turn unschedulable (``PodScheduled=False``,
    reason ``Unschedulable``).

    :param poll_interval: seconds between two looks at the fleet.
    :param cooldown: seconds a cluster stays quiet after it fired.
    :param request_timeout: seconds one cluster's pod list may take (a slow cluster never holds the others
        for longer).
    """

    own_fields = ("cooldown",)

    def __init__(
        self,
        *,
        poll_interval: float = 5.0,
        cooldown: float = 30.0,
        request_timeout: float = 10.0,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
    ) -> None:
        super().__init__(
            poll_interval=poll_interval,
            request_timeout=request_timeout,
            alibaba_cloud_conn_id=alibaba_cloud_conn_id,
            yunfleet_db_conn_id=yunfleet_db_conn_id,
        )
        self.cooldown = float(cooldown)

    # the reads (each called in a worker thread) -----------------------------------------------

    def registry_hook(self) -> Any:
        from operators.hooks.registry import YunfleetRegistryHook

        return YunfleetRegistryHook(self.yunfleet_db_conn_id)

    def kube_hook(self, cluster: str) -> Any:
        from operators.hooks.kubernetes import FleetKubernetesHook
        from operators.utils.retry import RetryPolicy

        return FleetKubernetesHook(
            cluster,
            alibaba_cloud_conn_id=self.alibaba_cloud_conn_id,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            request_timeout=(3.0, self.request_timeout),
            retry_policy=RetryPolicy(max_attempts=1, max_total_seconds=self.request_timeout),
        )

    @staticmethod
    def ready_clusters(registry_hook: Any) -> list[str]:
        return [c.name for c in registry_hook.registry.list_clusters() if c.state == "ready"]

    @staticmethod
    def unschedulable_pods(kube: Any) -> list[str]:
        return sorted(
            f"{p.namespace}/{p.name}" for p in kube.list_pods() if p.unschedulable and not p.node_name
        )

    # the loop ---------------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        tracker = PendingPodsTracker(self.cooldown)
        registry = await asyncio.to_thread(self.registry_hook)
        await registry.aprefetch_connections()
        hooks: dict[str, Any] = {}
        while True:
            try:
                clusters = await asyncio.to_thread(self.ready_clusters, registry)
            except Exception as exc:  # the registry is unreachable: look again next time
                log.warning("unschedulable pods: cannot list clusters: %s", str(exc)[:300])
                clusters = []
            tracker.forget(clusters)
            for cluster in clusters:
                try:
                    if cluster not in hooks:
                        hook = await asyncio.to_thread(self.kube_hook, cluster)
                        await hook.aprefetch_connections()
                        hooks[cluster] = hook
                    pods = await asyncio.to_thread(self.unschedulable_pods, hooks[cluster])
                except Exception as exc:  # one cluster that does not answer never stops the others
                    log.warning("unschedulable pods: %s not read: %s", cluster, str(exc)[:300])
                    hooks.pop(cluster, None)
                    continue
                payload = tracker.observe(cluster, pods)
                if payload is not None:
                    log.info(
                        "unschedulable pods in %s: %d (%s)", cluster, payload["count"], payload["pods"][:3]
                    )
                    yield TriggerEvent(payload)
            await asyncio.sleep(self.poll_interval)
