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
