"""ECS images: check an explicit image id, or resolve an image family to its newest available image.

Public image ids are retired and replaced over time (a family such as ``acs:ubuntu_22_04_x64`` gains
newer builds while older ids are deprecated, then removed), so a fixed id eventually fails with
``InvalidImageId.NotFound``. Users resolve an image as the console does: ``DescribeImages`` by image
family, OS type and owner alias ``system``, newest ``CreationTime`` among the ``Available`` ones
(ECS API reference, DescribeImages). ``DescribeImageFromFamily`` is not used: its reference has
described it as covering custom images only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from include.errors import ConfigurationError, PermanentCloudError, ResourceNotFoundError

#: DescribeImages ``Status`` of an image RunInstances accepts.
AVAILABLE = "Available"
#: Every status DescribeImages knows (``ALL`` may not be combined with others).
ALL_STATUSES = "ALL"
PAGE_SIZE = 100


@dataclass(frozen=True)
class EcsImage:
    """An image as DescribeImages returns it."""

    image_id: str
    image_family: str | None
    status: str
    os_type: str | None
    os_name: str | None
    owner_alias: str | None
    architecture: str | None
    creation_time: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> EcsImage:
        return cls(
            image_id=str(raw["ImageId"]),
            image_family=raw.get("ImageFamily") or None,
            status=str(raw.get("Status") or ""),
            os_type=raw.get("OSType"),
            os_name=raw.get("OSNameEn") or raw.get("OSName"),
            owner_alias=raw.get("ImageOwnerAlias"),
            architecture=raw.get("Architecture"),
            creation_time=raw.get("CreationTime"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ImageMixin:
    """Image methods of :class:`operators.hooks.ecs.EcsHook`."""

    invoke: Any
    _request: Any

    def describe_images(self, **filters: Any) -> list[EcsImage]:
        """DescribeImages with ``filters`` (wire names: ``ImageFamily``, ``ImageId``, ``Status``, ...),
        every page; newest ``CreationTime`` first."""
        images = list(self._image_pages(filters))
        return sorted(images, key=lambda i: i.creation_time or "", reverse=True)

    def _image_pages(self, filters: dict[str, Any]) -> Iterator[EcsImage]:
        page = 1
        seen = 0
        while True:
            body = self.invoke(
                "DescribeImages",
                self._request("DescribeImages", {**filters, "PageNumber": page, "PageSize": PAGE_SIZE}),
            )
            items = ((body or {}).get("Images") or {}).get("Image") or []
            yield from (EcsImage.from_api(raw) for raw in items)
            seen += len(items)
            if not items or seen >= int((body or {}).get("TotalCount") or 0) or len(items) < PAGE_SIZE:
                return
            page += 1

    def newest_family_image(
        self, family: str, *, os_type: str | None = "linux", owner_alias: str | None = "system"
    ) -> EcsImage:
        """The newest ``Available`` image of ``family`` (deprecated and unavailable ones never count).

        :raises ResourceNotFoundError: the family has no available image for this OS type and owner.
        """
        images = [
            i
            for i in self.describe_images(
                ImageFamily=family, OSType=os_type, ImageOwnerAlias=owner_alias, Status=AVAILABLE
            )
            if i.status == AVAILABLE and i.image_family == family
        ]
        if not images:
            owner = f", owner {owner_alias}" if owner_alias else ""
            os_part = f"OS type {os_type}" if os_type else "any OS type"
            raise ResourceNotFoundError(
                f"image family {family!r} has no available image ({os_part}{owner}); check the family "
                "name (public families look like acs:ubuntu_22_04_x64) or give an image_id",
                code="InvalidImageFamily.NotFound",
                product="ecs",
                action="DescribeImages",
            )
        return images[0]

    def check_image(self, image_id: str) -> EcsImage:
        """The image ``image_id`` if it exists and is ``Available`` (what RunInstances accepts).

        :raises ResourceNotFoundError: no such image (``InvalidImageId.NotFound``).
        :raises PermanentCloudError: it exists but is deprecated or not available
            (``OperationDenied.ImageNotValid``); the message names the family's newest image if any.
        """
        found = [
            i for i in self.describe_images(ImageId=image_id, Status=ALL_STATUSES) if i.image_id == image_id
        ]
        if not found:
            raise ResourceNotFoundError(
                f"image {image_id!r} does not exist in this region (it may have been retired); "
                "give an image family instead, or a current image id",
                code="InvalidImageId.NotFound",
                product="ecs",
                action="DescribeImages",
            )
        image = found[0]
        if image.status == AVAILABLE:
            return image
        hint = ""
        if image.image_family:
            try:
                newer = self.newest_family_image(image.image_family, os_type=image.os_type, owner_alias=None)
                hint = f"; the newest available image of its family {image.image_family} is {newer.image_id}"
            except ResourceNotFoundError:
                hint = f"; its family {image.image_family} has no available image either"
        raise PermanentCloudError(
            f"image {image_id!r} is {image.status}, so RunInstances would refuse it{hint}",
            code="OperationDenied.ImageNotValid",
            product="ecs",
            action="DescribeImages",
        )

    def resolve_image(
        self,
        *,
        image_id: str | None = None,
        image_family: str | None = None,
        os_type: str | None = "linux",
        owner_alias: str | None = "system",
    ) -> str:
        """The image id to launch: ``image_id`` once checked (exists, ``Available``), else the newest
        available image of ``image_family`` for ``os_type`` and ``owner_alias``. Reads only.

        :raises ConfigurationError: neither ``image_id`` nor ``image_family`` was given.
        :raises ResourceNotFoundError: the id does not exist / the family has no available image.
        :raises PermanentCloudError: the id exists but is deprecated or not available.
        """
        if image_id:
            return self.check_image(image_id).image_id
        if not image_family:
            raise ConfigurationError("give an image_id or an image_family (e.g. acs:ubuntu_22_04_x64)")
        return self.newest_family_image(image_family, os_type=os_type, owner_alias=owner_alias).image_id
