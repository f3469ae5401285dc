"""Static facts the request schema is built from: supported Kubernetes minors, known regions and zones.

The schema needs these at DAG parse time, when no cloud call is allowed, so they are data here. The
semantic validation later checks the request against what the cloud actually reports.
"""

from __future__ import annotations

import os

#: Kubernetes minor versions a cluster can be created with, newest last.
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.29", "1.30", "1.31")
DEFAULT_KUBERNETES_VERSION = "1.31"

#: Exact patch release installed for each minor (what kubeadm is told to deploy).
KUBERNETES_PATCH_RELEASES: dict[str, str] = {"1.29": "v1.29.15", "1.30": "v1.30.14", "1.31": "v1.31.10"}

#: Zones of the Alibaba Cloud regions Yunfleet knows about. A zone outside this list is refused by the
#: request schema (HTTP 400 from the REST API); a zone in it is still checked against DescribeZones.
REGION_ZONES: dict[str, tuple[str, ...]] = {
    "cn-hangzhou": tuple(f"cn-hangzhou-{z}" for z in "befghijk"),
    "cn-shanghai": tuple(f"cn-shanghai-{z}" for z in "abcdefgklmn"),
    "cn-beijing": tuple(f"cn-beijing-{z}" for z in "acdefghijkl"),
    "cn-shenzhen": tuple(f"cn-shenzhen-{z}" for z in "abcdef"),
    "cn-zhangjiakou": tuple(f"cn-zhangjiakou-{z}" for z in "abc"),
    "cn-hongkong": tuple(f"cn-hongkong-{z}" for z in "bcd"),
    "ap-southeast-1": tuple(f"ap-southeast-1{z}" for z in "abc"),
    "eu-central-1": tuple(f"eu-central-1{z}" for z in "abc"),
    "us-west-1": tuple(f"us-west-1{z}" for z in "ab"),
}

#: Region used when a request names none (overridable per deployment).
DEFAULT_REGION_ID = os.environ.get("YUNFLEET_REGION_ID", "cn-hangzhou")

#: Instance type used by the trigger form's defaults.
DEFAULT_INSTANCE_TYPE = "ecs.g7.xlarge"

#: Limits the schema enforces.
MAX_NODE_POOLS = 10
MAX_POOL_SIZE = 100
MAX_ZONES = 3


def all_known_zones() -> list[str]:
    """Every zone id of every known region, sorted."""
    return sorted({zone for zones in REGION_ZONES.values() for zone in zones})
