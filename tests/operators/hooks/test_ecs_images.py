"""EcsHook image resolution against the sandbox's image catalogue (DescribeImages through the SDK)."""

from __future__ import annotations

from typing import Any

import pytest

from include.errors import ConfigurationError, PermanentCloudError, ResourceNotFoundError
from tests.operators.builders import IMAGE, make_hook

FAMILY = "acs:ubuntu_22_04_x64"
NEWEST = "ubuntu_22_04_x64_20G_alibase_20240926.vhd"
DEPRECATED = "ubuntu_22_04_x64_20G_alibase_20230515.vhd"


@pytest.fixture
def hook(cloud_env: Any, audit_store: Any, task_context: Any) -> Any:
    return make_hook(audit_store, task_context)


def test_a_family_resolves_to_its_newest_available_image(cloud_env: Any, hook: Any) -> None:
    mark = cloud_env.calls()["next"]
    assert hook.resolve_image(image_family=FAMILY) == NEWEST
    calls = cloud_env.calls(mark)["calls"]
    assert [c["action"] for c in calls] == ["DescribeImages"]
    assert calls[0]["params"]["ImageOwnerAlias"] == "system" and calls[0]["params"]["OSType"] == "linux"


def test_retiring_the_newest_moves_the_family_to_the_next(cloud_env: Any, hook: Any) -> None:
    cloud_env.set_image_status(NEWEST, "Deprecated")
    assert hook.resolve_image(image_family=FAMILY) == IMAGE


def test_an_explicit_available_id_is_checked_and_kept(hook: Any) -> None:
    assert hook.resolve_image(image_id=IMAGE, image_family=FAMILY) == IMAGE
    image = hook.check_image(IMAGE)
    assert (image.image_family, image.status, image.os_type) == (FAMILY, "Available", "linux")


def test_an_unknown_id_is_not_found_by_name(hook: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        hook.resolve_image(image_id="ubuntu_18_04_x64_20G_alibase_20200101.vhd")
    assert info.value.code == "InvalidImageId.NotFound"
    assert "ubuntu_18_04_x64_20G_alibase_20200101.vhd" in str(info.value)


def test_a_deprecated_id_is_refused_and_the_newest_of_its_family_named(hook: Any) -> None:
    with pytest.raises(PermanentCloudError) as info:
        hook.resolve_image(image_id=DEPRECATED)
    assert info.value.code == "OperationDenied.ImageNotValid"
    assert DEPRECATED in str(info.value) and "Deprecated" in str(info.value) and NEWEST in str(info.value)


@pytest.mark.parametrize(
    ("family", "os_type"),
    [("acs:ubuntu_16_04_x64", "linux"), ("acs:windows_server_2022_data_center_x64_en-us", "linux")],
)
def test_a_family_without_a_matching_image_is_named(hook: Any, family: str, os_type: str) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        hook.resolve_image(image_family=family, os_type=os_type)
    assert info.value.code == "InvalidImageFamily.NotFound" and family in str(info.value)


def test_neither_id_nor_family_fails_before_any_call(cloud_env: Any, hook: Any) -> None:
    mark = cloud_env.calls()["next"]
    with pytest.raises(ConfigurationError, match="image_id or an image_family"):
        hook.resolve_image()
    assert cloud_env.calls(mark)["calls"] == []
