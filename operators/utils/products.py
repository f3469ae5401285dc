"""The products Yunfleet talks to, in one table: adding one (Alidns waiters, KMS, ...) adds one entry.

Each entry names the hook class (a dotted path, imported on first use so that operator, sensor
and trigger modules stay light at DAG parse time) and, for Alibaba Cloud products, the official
SDK package whose ``client.Client`` and ``models`` the base hook uses. The waiters of a product
live in ``operators/waiters/<name>.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from include.errors import ConfigurationError


@dataclass(frozen=True)
class Product:
    """One product.

    :param name: the key used everywhere (hooks' ``product``, ``endpoints`` extra, waiter file).
    :param hook: dotted path of the hook class.
    :param sdk: the Alibaba Cloud SDK package (``alibabacloud_<product><api version>``); None for
        APIs that are not Alibaba Cloud's (Kubernetes).
    :param regional: requests carry the connection's ``RegionId`` (ECS, SLB; not Alidns, KMS).
    """

    name: str
    hook: str
    sdk: str | None = None
    regional: bool = False


PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product("ecs", "operators.hooks.ecs.EcsHook", "alibabacloud_ecs20140526", regional=True),
        Product("slb", "operators.hooks.slb.SlbHook", "alibabacloud_slb20140515", regional=True),
        Product("alidns", "operators.hooks.dns.DnsHook", "alibabacloud_alidns20150109"),
        Product("kms", "operators.hooks.kms.KmsHook", "alibabacloud_kms20160120"),
        Product("kubernetes", "operators.hooks.kubernetes.FleetKubernetesHook"),
    )
}
#: The products reached through an Alibaba Cloud endpoint (keys of the ``endpoints`` extra).
CLOUD_PRODUCTS = tuple(name for name, p in PRODUCTS.items() if p.sdk)


def product(name: str) -> Product:
    """The table entry of ``name``.

    :raises ConfigurationError: unknown product.
    """
    try:
        return PRODUCTS[name]
    except KeyError:
        raise ConfigurationError(f"unknown product {name!r}; known: {list(PRODUCTS)}") from None


def import_class(path: str) -> Any:
    """Import ``package.module.Name``."""
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def hook_class(name: str) -> Any:
    """The hook class of product ``name`` (imports the hook module and its SDK)."""
    return import_class(product(name).hook)


def sdk_module(name: str, module: str) -> Any:
    """``<sdk package>.<module>`` of an Alibaba Cloud product (``client`` or ``models``)."""
    sdk = product(name).sdk
    if sdk is None:
        raise ConfigurationError(f"{name!r} is not an Alibaba Cloud product; known: {list(CLOUD_PRODUCTS)}")
    return import_module(f"{sdk}.{module}")
