"""Shared fixtures: each fixture family lives in its own module under tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.platform",
    "tests.fixtures.airflow_api",
    "tests.fixtures.flows",
    "tests.fixtures.building_blocks",
    "tests.fixtures.fleet_cluster",
    "tests.fixtures.small_cluster",
    "tests.fixtures.service_fleet",
    "tests.fixtures.cloud_init",
    "tests.fixtures.browser",
]

# -- parallel runs (pytest-xdist, ``-n 2 --dist loadgroup`` in `make test`) ------------------------
#
# Each worker runs its own platform (session fixture), so an e2e module must run whole on one worker:
# every e2e module is an xdist group of its own, and the modules that share the session's provisioned
# clusters (tests/fixtures/small_cluster.py, service_fleet.py) form one group, in file order. Tests
# that use the same Redis database form one group too. The long groups are collected first, so that
# the workers start on them and share the short tests at the end.

import pytest  # noqa: E402

#: e2e modules that build on the shared clusters, in the order they must run
SHARED_FLEET_MODULES = (
    "test_provision_node_bootstrap.py",
    "test_reconcile_capacity.py",
    "test_register_services.py",
    "test_ui_fleet_view.py",
    "test_zone_failover.py",
)
#: modules that use Redis database 11 (``YUNFLEET_TEST_REDIS_URL``)
REDIS_MODULES = ("test_celery_executor.py", "test_distributed.py")


def xdist_group_of(path: str, name: str) -> str | None:
    """The xdist group of a test module (``path``: its path, ``name``: its file name), None for none."""
    if name in SHARED_FLEET_MODULES:
        return "shared-fleet"
    if name in REDIS_MODULES:
        return "redis-db-11"
    if "/tests/e2e/" in path:
        return f"e2e-{name}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        group = xdist_group_of(str(item.path), item.path.name)
        return {"shared-fleet": 0, None: 2}.get(group, 1)

    for item in items:
        group = xdist_group_of(str(item.path), item.path.name)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=rank)  # stable: file order is kept inside each rank
