"""Where a node installs Kubernetes from: the apt repository and the container image repository.

Mainland China regions cannot rely on reaching ``pkgs.k8s.io`` and ``registry.k8s.io``, so they
default to Alibaba's public mirrors; every other region (Hong Kong included) uses the upstream
sources. Both can be replaced per deployment (a private mirror for an air-gapped VPC) through the
``alibaba_cloud_default`` connection extra (``kube_apt_repository``, ``kube_image_repository``).

Sources of the facts:

- Upstream apt repository layout ``https://pkgs.k8s.io/core:/stable:/v<minor>/deb/`` with its
  ``Release.key``: Kubernetes docs, "Installing kubeadm" and the blog post "pkgs.k8s.io: Introducing
  Kubernetes Community-Owned Package Repositories" (2023-08-15).
- Alibaba's mirror of that repository, same layout under ``https://mirrors.aliyun.com/kubernetes-new/``:
  Alibaba Open Source Mirror, https://developer.aliyun.com/mirror/kubernetes .
- ``registry.cn-hangzhou.aliyuncs.com/google_containers``: the public ``google_containers`` namespace
  of Alibaba Cloud Container Registry that mirrors ``registry.k8s.io`` (control-plane images, CoreDNS,
  pause), the repository used with ``kubeadm --image-repository`` in mainland China.
- The pause image each kubeadm minor expects (``PauseVersion`` in kubeadm's
  ``cmd/kubeadm/app/constants/constants.go`` of the release branch): 3.9 for 1.29 and 1.30, 3.10 for
  1.31. containerd must use the same image as its sandbox image, or kubeadm warns and the kubelet
  pulls two pause images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UPSTREAM_APT_REPOSITORY = "https://pkgs.k8s.io/core:/stable:/v{minor}/deb/"
MIRROR_APT_REPOSITORY = "https://mirrors.aliyun.com/kubernetes-new/core/stable/v{minor}/deb/"
UPSTREAM_IMAGE_REPOSITORY = "registry.k8s.io"
MIRROR_IMAGE_REPOSITORY = "registry.cn-hangzhou.aliyuncs.com/google_containers"

#: Pause (sandbox) image tag kubeadm uses for each supported minor.
PAUSE_VERSIONS: dict[str, str] = {"1.29": "3.9", "1.30": "3.9", "1.31": "3.10"}

#: ``cn-*`` regions that are not in mainland China (the upstream sources are reachable there).
OUTSIDE_MAINLAND: frozenset[str] = frozenset({"cn-hongkong"})

# host[:port] followed by one or more path components, as a container reference's repository part
# (distribution/reference grammar, lower case, without tag or digest).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REPOSITORY = re.compile(
    rf"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    rf"(?::[0-9]+)?)(?:/{_COMPONENT})*$"
)
_MINOR = re.compile(r"^1\.\d{2}$")


class SourceSettingError(ValueError):
    """An override of the package or image source is malformed (the message names the setting)."""


@dataclass(frozen=True)
class NodeSources:
    """Where one node gets its packages and images.

    :ivar apt_repository: base URL of the apt repository (``.../deb/``), ends with ``/``.
    :ivar apt_key_url: the repository's signing key (``<apt_repository>Release.key``).
    :ivar image_repository: kubeadm ``imageRepository`` (host[/path], no tag).
    :ivar pause_image: containerd's sandbox image, ``<image_repository>/pause:<tag>``.
    """

    apt_repository: str
    apt_key_url: str
    image_repository: str
    pause_image: str


def in_mainland_china(region_id: str) -> bool:
    """Whether an Alibaba Cloud region is in mainland China (``cn-*`` except ``cn-hongkong``)."""
    return region_id.startswith("cn-") and region_id not in OUTSIDE_MAINLAND


def check_apt_repository(template: str) -> str:
    """Validate an apt repository override; ``{minor}`` is replaced by e.g. ``1.31``.

    :raises SourceSettingError: not an http(s) URL ending with ``/``, or an unknown placeholder.
    """
    if not re.match(r"^https?://[^/\s]+/\S*/$", template):
        raise SourceSettingError(
            f"kube_apt_repository must be an http(s) URL ending with '/' (the directory holding "
            f"Release.key), got {template!r}"
        )
    try:
        template.format(minor="1.31")
    except (KeyError, IndexError, ValueError) as exc:
        raise SourceSettingError(
            f"kube_apt_repository may only use the placeholder {{minor}}, got {template!r}"
        ) from exc
    return template


def check_image_repository(repository: str) -> str:
    """Validate an image repository override (``host[:port][/path]``, no scheme, tag or digest).

    :raises SourceSettingError: when it does not look like a registry repository.
    """
    if not repository or "://" in repository or not _IMAGE_REPOSITORY.match(repository):
        raise SourceSettingError(
            f"kube_image_repository must look like 'registry.example.com[:port]/path' (no scheme or "
            f"tag), got {repository!r}"
        )
    return repository


def node_sources(
    region_id: str,
    kubernetes_version: str,
    *,
    apt_repository: str | None = None,
    image_repository: str | None = None,
) -> NodeSources:
    """The sources for a node of ``kubernetes_version`` (a minor like ``1.31``) in ``region_id``.

    Overrides win over the regional default; an apt override may use ``{minor}``.

    :raises SourceSettingError: a malformed override or a minor without a known pause image.
    """
    if not _MINOR.match(kubernetes_version) or kubernetes_version not in PAUSE_VERSIONS:
        raise SourceSettingError(
            f"no pause image is known for Kubernetes {kubernetes_version!r}; known: {sorted(PAUSE_VERSIONS)}"
        )
    mainland = in_mainland_china(region_id)
    apt_template = check_apt_repository(apt_repository) if apt_repository else None
    apt = (apt_template or (MIRROR_APT_REPOSITORY if mainland else UPSTREAM_APT_REPOSITORY)).format(
        minor=kubernetes_version
    )
    images = check_image_repository(image_repository) if image_repository else None
    images = images or (MIRROR_IMAGE_REPOSITORY if mainland else UPSTREAM_IMAGE_REPOSITORY)
    return NodeSources(
        apt_repository=apt,
        apt_key_url=apt + "Release.key",
        image_repository=images,
        pause_image=f"{images}/pause:{PAUSE_VERSIONS[kubernetes_version]}",
    )
