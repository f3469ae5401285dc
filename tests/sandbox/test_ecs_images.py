"""ECS images: DescribeImages, DescribeImageFromFamily and how RunInstances treats image ids."""

from __future__ import annotations

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.sandbox.helpers import IMAGE_ID, REGION, run_instances

FAMILY = "acs:ubuntu_22_04_x64"
DEPRECATED = "ubuntu_22_04_x64_20G_alibase_20230515.vhd"
NEWEST = "ubuntu_22_04_x64_20G_alibase_20240926.vhd"


def _images(sandbox, **fields) -> list:
    request = ecs_models.DescribeImagesRequest(region_id=REGION, **fields)
    return sandbox.ecs_client().describe_images(request).body.images.image


def test_family_lists_available_images_newest_first(clean_sandbox):
    images = _images(clean_sandbox, image_family=FAMILY, image_owner_alias="system", ostype="linux")
    assert [i.image_id for i in images] == [NEWEST, IMAGE_ID]
    newest = images[0]
    assert (newest.status, newest.image_family, newest.image_owner_alias, newest.ostype) == (
        "Available",
        FAMILY,
        "system",
        "linux",
    )
    assert newest.osname_en == "Ubuntu  22.04 64 bit" and newest.platform == "Ubuntu"
    assert newest.creation_time > images[1].creation_time


def test_deprecated_images_show_only_when_asked_for(clean_sandbox):
    everything = _images(clean_sandbox, image_family=FAMILY, status="ALL")
    assert {i.image_id: i.status for i in everything} == {
        NEWEST: "Available",
        IMAGE_ID: "Available",
        DEPRECATED: "Deprecated",
    }
    assert [i.image_id for i in _images(clean_sandbox, image_id=DEPRECATED)] == []
    assert [i.image_id for i in _images(clean_sandbox, image_id=DEPRECATED, status="Deprecated")] == [
        DEPRECATED
    ]


def test_filters_and_paging(clean_sandbox):
    windows = _images(clean_sandbox, ostype="windows")
    assert len(windows) == 1 and windows[0].ostype == "windows"
    linux = _images(clean_sandbox, ostype="linux", page_size=100)
    assert len(linux) == 4 and all(i.ostype == "linux" for i in linux)
    body = (
        clean_sandbox.ecs_client()
        .describe_images(ecs_models.DescribeImagesRequest(region_id=REGION, page_size=2, page_number=2))
        .body
    )
    assert (body.total_count, body.page_number, len(body.images.image)) == (5, 2, 2)
    assert _images(clean_sandbox, image_owner_alias="self") == []
    assert [i.image_id for i in _images(clean_sandbox, image_name="24_04")] == [
        "ubuntu_24_04_x64_20G_alibase_20240812.vhd"
    ]


def test_bad_status_is_invalid_parameter(clean_sandbox):
    with pytest.raises(ClientException) as info:
        _images(clean_sandbox, status="Retired")
    assert (info.value.code, info.value.status_code) == ("InvalidParameter", 400)


def test_image_from_family(clean_sandbox):
    client = clean_sandbox.ecs_client()
    request = ecs_models.DescribeImageFromFamilyRequest(region_id=REGION, image_family=FAMILY)
    assert client.describe_image_from_family(request).body.image.image_id == NEWEST
    request.image_family = "acs:no_such_family"
    assert client.describe_image_from_family(request).body.image.image_id is None


def test_run_instances_refuses_unknown_and_deprecated_images(clean_sandbox):
    with pytest.raises(ClientException) as info:
        run_instances(clean_sandbox, image_id="ubuntu_18_04_x64_20G_alibase_20200101.vhd")
    assert (info.value.code, info.value.status_code) == ("InvalidImageId.NotFound", 404)
    with pytest.raises(ClientException) as info:
        run_instances(clean_sandbox, image_id=DEPRECATED)
    assert (info.value.code, info.value.status_code) == ("OperationDenied.ImageNotValid", 403)
    assert DEPRECATED in info.value.data["Message"]
    # the id the product has used by default stays valid, and instances report their image's OS
    (instance_id,) = run_instances(clean_sandbox)
    described = (
        clean_sandbox.ecs_client()
        .describe_instances(
            ecs_models.DescribeInstancesRequest(region_id=REGION, instance_ids=f'["{instance_id}"]')
        )
        .body.instances.instance[0]
    )
    assert (described.image_id, described.osname, described.ostype) == (
        IMAGE_ID,
        "Ubuntu  22.04 64位",
        "linux",
    )


def test_retiring_an_image_moves_the_family(clean_sandbox):
    clean_sandbox.set_image_status(NEWEST, "Deprecated")
    client = clean_sandbox.ecs_client()
    request = ecs_models.DescribeImageFromFamilyRequest(region_id=REGION, image_family=FAMILY)
    assert client.describe_image_from_family(request).body.image.image_id == IMAGE_ID
    with pytest.raises(ClientException) as info:
        run_instances(clean_sandbox, image_id=NEWEST)
    assert info.value.code == "OperationDenied.ImageNotValid"
    clean_sandbox.reset()
    assert client.describe_image_from_family(request).body.image.image_id == NEWEST
