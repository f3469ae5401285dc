"""Shared builders for the provisioning domain tables."""

from __future__ import annotations

import copy
from typing import Any

from include.provisioning.params import apply_defaults, provision_param_specs
from include.provisioning.request import ProvisionRequest

ZONES = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]


def base_conf(**overrides: Any) -> dict[str, Any]:
    """A valid 3-zone, 3-master, two-pool request; ``overrides`` replace top-level keys."""
    conf: dict[str, Any] = {
        "cluster_name": "demo",
        "ticket_id": "OPS-123",
        "region_id": "cn-hangzhou",
        "zones": list(ZONES),
        "kubernetes_version": "1.31",
        "control_plane": {"instance_type": "ecs.g7.xlarge", "count": 3},
        "node_pools": [
            {
                "name": "general",
                "instance_type": "ecs.g7.xlarge",
                "min_size": 1,
                "max_size": 6,
                "desired_size": 4,
            },
            {
                "name": "compute",
                "instance_type": "ecs.c7.2xlarge",
                "zones": ["cn-hangzhou-h", "cn-hangzhou-i"],
                "min_size": 0,
                "max_size": 10,
                "desired_size": 2,
            },
        ],
    }
    conf.update(copy.deepcopy(overrides))
    return conf


def make_request(**overrides: Any) -> ProvisionRequest:
    return ProvisionRequest.from_params(apply_defaults(provision_param_specs(), base_conf(**overrides)))
