"""Node-bootstrap settings of a deployment, read from the ``alibaba_cloud_default`` connection extra.

- ``instance_ram_role``: the RAM role attached to every node (RunInstances ``RamRoleName``); its
  policy allows ``kms:GetSecretValue`` on the fleet's secrets. Default ``yunfleet-node``.
- ``kms_node_endpoint``: the KMS endpoint nodes call (``host[:port]`` or ``http(s)://...``).
  Default the region's VPC endpoint ``kms-vpc.<region>.aliyuncs.com``.
- ``kms_encryption_key_id``: the KMS key (of a KMS instance) encrypting the delivery secrets
  (CreateSecret ``EncryptionKeyId``). Default: none sent, KMS's default key.
- ``kube_apt_repository``: apt repository of the kube packages, ``{minor}`` filled in. Default by
  region (:mod:`include.provisioning.sources`).
- ``kube_image_repository``: kubeadm ``imageRepository`` and containerd's pause image. Default by
  region.

All checks happen here, before any cloud call, with one-line errors naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from include.errors import ConfigurationError
from include.provisioning.sources import (
    NodeSources,
    SourceSettingError,
    check_apt_repository,
    check_image_repository,
    node_sources,
)

DEFAULT_INSTANCE_RAM_ROLE = "yunfleet-node"
# RAM role names: 1-64 of letters, digits, periods and hyphens (RAM CreateRole reference).
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
_ENDPOINT = re.compile(r"^(https?://)?[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class BootstrapSettings:
    instance_ram_role: str = DEFAULT_INSTANCE_RAM_ROLE
    kms_node_endpoint: str | None = None
    kms_encryption_key_id: str | None = None
    kube_apt_repository: str | None = None
    kube_image_repository: str | None = None

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> BootstrapSettings:
        """Validate the settings in a connection extra.

        :raises ConfigurationError: a malformed value (the message names the key).
        """

        def text(key: str) -> str | None:
            value = extra.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise ConfigurationError(f"connection extra {key!r} must be a string, got {value!r}")
            return value.strip()

        role = text("instance_ram_role") or DEFAULT_INSTANCE_RAM_ROLE
        if not _ROLE_NAME.match(role):
            raise ConfigurationError(
                "connection extra 'instance_ram_role' must be a RAM role name "
                f"(1-64 letters, digits, '.', '-'), got {role!r}"
            )
        endpoint = text("kms_node_endpoint")
        if endpoint and not _ENDPOINT.match(endpoint):
            raise ConfigurationError(
                "connection extra 'kms_node_endpoint' must be host[:port] or http(s)://host[:port], "
                f"got {endpoint!r}"
            )
        apt, images = text("kube_apt_repository"), text("kube_image_repository")
        try:
            if apt:
                check_apt_repository(apt)
            if images:
                check_image_repository(images)
        except SourceSettingError as exc:
            raise ConfigurationError(f"connection extra {exc}") from exc
        return cls(role, endpoint, text("kms_encryption_key_id"), apt, images)

    def sources(self, region_id: str, kubernetes_version: str) -> NodeSources:
        """Package and image sources for a node (overrides applied)."""
        try:
            return node_sources(
                region_id,
                kubernetes_version,
                apt_repository=self.kube_apt_repository,
                image_repository=self.kube_image_repository,
            )
        except SourceSettingError as exc:
            raise ConfigurationError(str(exc)) from exc
