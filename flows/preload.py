"""The libraries Yunfleet's tasks import, loaded once in the process that forks the task processes.

The LocalExecutor's workers and Celery's prefork pool start each task by forking a long-lived parent,
so a module that parent has imported is shared by every task process instead of being imported again
in each. The Alibaba Cloud SDK models, the kubernetes client and Great Expectations take seconds per
task to import (the gate alone about 3 s on an idle core, several times that on a busy one), and a
provisioning run has seventeen tasks.

:func:`preload_before_first_fork` is called from ``airflow_local_settings`` in the scheduler (which
runs the LocalExecutor and forks its workers), in Celery workers and in the triggerer (which forks
its trigger runner, where deferred sensors and event watchers import the hooks). It registers
:func:`preload` to run in the parent just before its first ``fork`` (``os.register_at_fork``): by
then Airflow has finished initialising, which an import at settings time would interrupt.
``subprocess`` does not run fork handlers, so only the executor's own forks pay, once.
"""

from __future__ import annotations

import importlib
import logging
import os
import time

log = logging.getLogger(__name__)

#: what the task code of every family imports: the gates load GX, the hooks their SDK clients on
#: first use (``alibabacloud_ecs20140526.client`` alone takes about 2 s), the planners their models
TASK_MODULES = (
    "great_expectations",
    "alibabacloud_ecs20140526.client",
    "alibabacloud_slb20140515.client",
    "alibabacloud_alidns20150109.client",
    "alibabacloud_kms20160120.client",
    "operators.hooks.ecs",
    "operators.hooks.slb",
    "operators.hooks.dns",
    "operators.hooks.kms",
    "operators.hooks.kubernetes",
    "operators.hooks.kubernetes_nodes",
    "include.provisioning.quality",
    "include.services.quality",
    "include.capacity.plan",
    "include.capacity.quality",
    "flows.provision_cluster",
    "flows.decommission_cluster",
    "flows.register_services",
    "flows.reconcile_capacity",
)

_done = False


def preload(modules: tuple[str, ...] | None = None) -> dict[str, str]:
    """Import ``modules`` (default :data:`TASK_MODULES`) once per process;
    ``{module: "ok" | "<error type>: <message>"}`` (``{}`` when it already ran).

    A module that fails to import is logged and skipped (the task importing it reports the error);
    never raises.
    """
    global _done
    if _done:
        return {}
    _done = True
    started = time.monotonic()
    modules = TASK_MODULES if modules is None else modules
    outcome: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
            outcome[name] = "ok"
        except Exception as exc:  # a broken module is the importing task's error, not the executor's
            outcome[name] = f"{type(exc).__name__}: {exc}"
            log.warning("preload: %s not imported (%s)", name, outcome[name])
    log.info("preload: %d task modules imported in %.1f s", len(modules), time.monotonic() - started)
    return outcome


#: the triggerer also serves its trigger runner's connection reads from an in-process execution API
#: app, built on the first deferral: importing it takes several seconds more
TRIGGERER_MODULES = (*TASK_MODULES, "airflow.api_fastapi.execution_api.app")


def preload_before_first_fork(modules: tuple[str, ...] | None = None) -> None:
    """Run :func:`preload` of ``modules`` (default :data:`TASK_MODULES`) in this process just before it
    first forks (see the module docstring)."""
    os.register_at_fork(before=lambda: preload(modules))
