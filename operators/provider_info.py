"""Provider metadata that registers the ``alibaba_cloud`` connection type with Airflow.

Exposed through the ``apache_airflow_provider`` entry point in pyproject.toml, so the Airflow UI
shows a proper form (AccessKey, region, endpoints, timeouts) and the Test button calls
``AlibabaCloudBaseHook.test_connection``.
"""

from __future__ import annotations

from typing import Any


def _text(label: str, description: str, default: Any = None, **schema: Any) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": ["string", "null"], "default": default, **schema},
    }


def _integer(label: str, description: str) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": ["integer", "null"], "minimum": 1},
    }


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "yunfleet",
        "name": "Yunfleet",
        "description": "Alibaba Cloud (ECS, SLB, Alidns) and fleet Kubernetes building blocks.",
        "connection-types": [
            {
                "connection-type": "alibaba_cloud",
                "hook-class-name": "operators.hooks.base_alibaba.AlibabaCloudBaseHook",
                "hook-name": "Alibaba Cloud",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "AccessKey ID", "password": "AccessKey Secret"},
                    "placeholders": {
                        "login": "LTAI...",
                        "extra": '{"region_id": "cn-hangzhou"}',
                    },
                },
                "conn-fields": {
                    "region_id": _text("Region", "Region id, e.g. cn-hangzhou", pattern="^[a-z0-9-]+$"),
                    "endpoint": _text(
                        "Endpoint", "One host[:port] for every product; empty = the SDK's regional endpoint"
                    ),
                    "endpoints": _text(
                        "Per-product endpoints",
                        'JSON, e.g. {"ecs": "ecs.cn-hangzhou.aliyuncs.com"}; overrides Endpoint',
                    ),
                    "protocol": _text(
                        "Protocol", "http or https (default https)", enum=["http", "https", None]
                    ),
                    "connect_timeout_ms": _integer("Connect timeout (ms)", "Default 5000"),
                    "read_timeout_ms": _integer("Read timeout (ms)", "Default 10000"),
                    "dns_domain": _text("DNS domain", "Alidns domain clusters are named under"),
                    "kube_server_template": _text(
                        "Kubernetes API server template",
                        "URL with {cluster} and {domain}; default https://api.{cluster}.{domain}:6443",
                    ),
                    "kube_ca_file": _text(
                        "Kubernetes CA file", "CA bundle of the API servers; default the CA in the registry"
                    ),
                },
            }
        ],
    }
