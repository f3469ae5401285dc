"""Reading Yunfleet's bootstrap block out of an ECS instance's UserData (see docs/conventions.md).

The block holds no secret: it names the node's KMS delivery secret, which the instance reads at boot
(:mod:`sandbox.kube.delivery`).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from dataclasses import dataclass
from typing import Any

import yaml

BOOTSTRAP_PATH = "/etc/yunfleet/bootstrap.json"
ROLES = ("control-plane", "worker")


@dataclass(frozen=True)
class Bootstrap:
    cluster: str
    role: str
    node_pool: str | None
    kubernetes_version: str
    secret_name: str
    region_id: str


def _file_content(entry: dict[str, Any]) -> str:
    content = entry.get("content", "")
    encoding = str(entry.get("encoding") or "").lower()
    data: bytes = content.encode() if isinstance(content, str) else bytes(content)
    if encoding in ("b64", "base64", "gz+b64", "gzip+base64", "gz+base64", "gzip+b64"):
        data = base64.b64decode(data)
    if encoding.startswith("gz"):
        data = gzip.decompress(data)
    return data.decode()


def parse_user_data(user_data: str | None) -> Bootstrap | None:
    """The bootstrap block of base64 UserData, or None when there is none or it is malformed."""
    if not user_data:
        return None
    try:
        text = base64.b64decode(user_data, validate=False).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.lstrip().startswith("#cloud-config"):
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    for entry in doc.get("write_files") or []:
        if isinstance(entry, dict) and entry.get("path") == BOOTSTRAP_PATH:
            try:
                block = json.loads(_file_content(entry))
            except (ValueError, binascii.Error, OSError):
                return None
            return _from_block(block)
    return None


def _from_block(block: Any) -> Bootstrap | None:
    if not isinstance(block, dict):
        return None
    cluster, role, secret = block.get("cluster"), block.get("role"), block.get("secret_name")
    if not isinstance(cluster, str) or not cluster or role not in ROLES:
        return None
    if not isinstance(secret, str) or not secret:
        return None
    pool = block.get("node_pool")
    return Bootstrap(
        cluster=cluster,
        role=role,
        node_pool=pool if isinstance(pool, str) and pool else None,
        kubernetes_version=str(block.get("kubernetes_version") or "1.31"),
        secret_name=secret,
        region_id=str(block.get("region_id") or ""),
    )
