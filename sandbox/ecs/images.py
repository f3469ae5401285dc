"""ECS public images: the seeded catalogue, DescribeImages and DescribeImageFromFamily.

Public images on Alibaba Cloud belong to an image family (``acs:ubuntu_22_04_x64``); a family keeps
gaining newer builds while older ids are deprecated and later removed, which is why users resolve the
newest available image of a family rather than keep an id. The catalogue below has the Ubuntu 22.04
family with one deprecated build and two available ones (the older of those is the id the product used
as its default), one Ubuntu 24.04, one Alibaba Cloud Linux 3 and one Windows image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.world import REGION_ID

if TYPE_CHECKING:
    from sandbox.world import World

# Statuses of DescribeImages (``Status``); ``ALL`` asks for every status.
IMAGE_STATUSES = ("Creating", "Waiting", "Available", "UnAvailable", "CreateFailed", "Deprecated")
OWNER_ALIASES = ("system", "self", "others", "marketplace")


@dataclass
class Image:
    image_id: str
    image_family: str
    os_name: str
    os_name_en: str
    platform: str
    os_type: str
    creation_time: str
    image_version: str
    description: str
    size_gib: int = 20
    architecture: str = "x86_64"
    status: str = "Available"
    owner_alias: str = "system"


def _ubuntu(version: str, build: str, created: str, kernel: str, status: str = "Available") -> Image:
    short = version.replace(".", "_")
    return Image(
        image_id=f"ubuntu_{short}_x64_20G_alibase_{build}.vhd",
        image_family=f"acs:ubuntu_{short}_x64",
        os_name=f"Ubuntu  {version} 64位",
        os_name_en=f"Ubuntu  {version} 64 bit",
        platform="Ubuntu",
        os_type="linux",
        creation_time=created,
        image_version=f"v{build[:4]}.{int(build[4:6])}.{int(build[6:])}",
        description=f"Kernel version is {kernel}, {build[:4]}.{int(build[4:6])}.{int(build[6:])}",
        status=status,
    )


def seed_images() -> dict[str, Image]:
    images = [
        _ubuntu("22.04", "20230515", "2023-05-16T03:10:41Z", "5.15.0-71-generic", status="Deprecated"),
        _ubuntu("22.04", "20240130", "2024-01-31T02:26:09Z", "5.15.0-91-generic"),
        _ubuntu("22.04", "20240926", "2024-09-27T06:02:17Z", "5.15.0-122-generic"),
        _ubuntu("24.04", "20240812", "2024-08-13T07:45:30Z", "6.8.0-40-generic"),
        Image(
            image_id="aliyun_3_x64_20G_alibase_20240528.vhd",
            image_family="acs:alibaba_cloud_linux_3_2104_lts_x64",
            os_name="Alibaba Cloud Linux  3.2104 LTS 64位",
            os_name_en="Alibaba Cloud Linux  3.2104 LTS 64 bit",
            platform="Aliyun",
            os_type="linux",
            creation_time="2024-05-29T08:15:02Z",
            image_version="v2024.5.28",
            description="Alibaba Cloud Linux 3.2104 LTS 64 bit, kernel 5.10.134-16.3.al8",
            size_gib=40,
        ),
        Image(
            image_id="win2022_21H2_x64_dtc_en-us_40G_alibase_20240816.vhd",
            image_family="acs:windows_server_2022_data_center_x64_en-us",
            os_name="Windows Server  2022 数据中心版 64位英文版",
            os_name_en="Windows Server  2022 Data Center Edition 64bit English Edition",
            platform="Windows Server 2022",
            os_type="windows",
            creation_time="2024-08-17T01:40:55Z",
            image_version="v2024.8.16",
            description="Windows Server 2022 Data Center Edition 64bit English Edition",
            size_gib=40,
        ),
    ]
    return {image.image_id: image for image in images}


def images_to_state(images: dict[str, Image]) -> list[dict[str, Any]]:
    return [asdict(image) for image in images.values()]


def images_from_state(raw: list[dict[str, Any]] | None) -> dict[str, Image]:
    if raw is None:  # a state file from before images were simulated
        return seed_images()
    return {item["image_id"]: Image(**item) for item in raw}


def image_view(image: Image) -> dict[str, Any]:
    """One image as DescribeImages and DescribeImageFromFamily return it."""
    return {
        "ImageId": image.image_id,
        "ImageName": image.image_id,
        "ImageFamily": image.image_family,
        "ImageVersion": image.image_version,
        "ImageOwnerAlias": image.owner_alias,
        "ImageOwnerId": 0,
        "Description": image.description,
        "OSName": image.os_name,
        "OSNameEn": image.os_name_en,
        "OSType": image.os_type,
        "Platform": image.platform,
        "Architecture": image.architecture,
        "Size": image.size_gib,
        "Status": image.status,
        "Progress": "100%",
        "CreationTime": image.creation_time,
        "IsPublic": image.owner_alias == "system",
        "IsCopied": False,
        "IsSelfShared": "",
        "IsSubscribed": False,
        "IsSupportCloudinit": True,
        "IsSupportIoOptimized": True,
        "LoginAsNonRootSupported": image.os_type == "linux",
        "BootMode": "UEFI-Preferred",
        "Usage": "none",
        "Tags": {"Tag": []},
        "DiskDeviceMappings": {"DiskDeviceMapping": []},
    }


def _statuses(p: Params) -> set[str]:
    raw = p.str("Status") or "Available"
    if raw == "ALL":
        return set(IMAGE_STATUSES)
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    bad = sorted(wanted - set(IMAGE_STATUSES))
    if bad or "ALL" in wanted:
        raise InvalidParameter("Status", f"Valid values: {', '.join(IMAGE_STATUSES)}, or ALL alone.")
    return wanted


def describe_images(world: World, p: Params) -> dict[str, Any]:
    statuses = _statuses(p)
    owner = p.enum("ImageOwnerAlias", OWNER_ALIASES)
    os_type = p.enum("OSType", ("linux", "windows"))
    ids = {part.strip() for part in (p.str("ImageId") or "").split(",") if part.strip()}
    family, name, arch = p.str("ImageFamily"), p.str("ImageName"), p.str("Architecture")
    images = [i for i in world.ecs.images.values() if i.status in statuses]
    if ids:
        images = [i for i in images if i.image_id in ids]
    if owner is not None:
        images = [i for i in images if i.owner_alias == owner]
    else:  # no alias: system, self and others, not marketplace
        images = [i for i in images if i.owner_alias != "marketplace"]
    if os_type is not None:
        images = [i for i in images if i.os_type == os_type]
    if family is not None:
        images = [i for i in images if i.image_family == family]
    if name is not None:
        images = [i for i in images if name.lower() in i.image_id.lower()]
    if arch is not None:
        images = [i for i in images if i.architecture == arch]
    images.sort(key=lambda i: i.creation_time, reverse=True)
    page_number = p.int("PageNumber", 1, minimum=1) or 1
    page_size = p.int("PageSize", 10, minimum=1, maximum=100) or 10
    return {
        "RegionId": REGION_ID,
        "TotalCount": len(images),
        "PageNumber": page_number,
        "PageSize": page_size,
        "Images": {"Image": [image_view(i) for i in paginate(images, page_number, page_size)]},
    }


def describe_image_from_family(world: World, p: Params) -> dict[str, Any]:
    """The newest Available image of the family, or an empty ``Image`` when it has none."""
    family = p.req("ImageFamily")
    candidates = [
        i for i in world.ecs.images.values() if i.image_family == family and i.status == "Available"
    ]
    if not candidates:
        return {"Image": {}}
    return {"Image": image_view(max(candidates, key=lambda i: i.creation_time))}


IMAGE_ACTIONS = {
    "DescribeImages": describe_images,
    "DescribeImageFromFamily": describe_image_from_family,
}
