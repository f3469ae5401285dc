"""Hook factories for task code: the one place flows build hooks and read the cloud connection.

Each factory imports its hook when called, so importing a flows module at DAG parse time stays cheap.
"""

from __future__ import annotations

from typing import Any

CLOUD_CONN_ID = "alibaba_cloud_default"


def ecs(cluster: str | None = None) -> Any:
    """An ``EcsHook`` on ``alibaba_cloud_default``; audit rows carry ``cluster``."""
    from operators.hooks.ecs import EcsHook

    return EcsHook(cluster=cluster)


def slb(cluster: str | None = None) -> Any:
    """An ``SlbHook`` on ``alibaba_cloud_default``; audit rows carry ``cluster``."""
    from operators.hooks.slb import SlbHook

    return SlbHook(cluster=cluster)


def dns(cluster: str | None = None) -> Any:
    """A ``DnsHook`` (Alidns) on ``alibaba_cloud_default``; audit rows carry ``cluster``."""
    from operators.hooks.dns import DnsHook

    return DnsHook(cluster=cluster)


def kms(cluster: str | None = None) -> Any:
    """A ``KmsHook`` (Secrets Manager) on ``alibaba_cloud_default``; audit rows carry ``cluster``."""
    from operators.hooks.kms import KmsHook

    return KmsHook(cluster=cluster)


def kube(cluster: str) -> Any:
    """A ``FleetKubernetesHook`` for a registered cluster (admin client certificate from the registry)."""
    from operators.hooks.kubernetes import FleetKubernetesHook

    return FleetKubernetesHook(cluster)


def registry() -> Any:
    """A ``YunfleetRegistryHook`` on ``yunfleet_db`` (its ``.registry``, ``.engine``, ``.audit_store``)."""
    from operators.hooks.registry import YunfleetRegistryHook

    return YunfleetRegistryHook()


def cloud_extra() -> dict[str, Any]:
    """The extra of ``alibaba_cloud_default``, UI-form prefixes removed (``dns_domain``, ``vpc_id``...)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(CLOUD_CONN_ID)
    extra = conn.extra_dejson or {}
    return {k.removeprefix("extra__alibaba_cloud__"): v for k, v in extra.items()}
