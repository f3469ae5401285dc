"""Request and response shapes of cloud tags (the tag keys themselves are in ``include.fleet.contract``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from include.errors import ConfigurationError

#: Alibaba Cloud accepts at most 20 tags per resource.
MAX_TAGS = 20


def tags_param(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``Tag.N.Key`` / ``Tag.N.Value`` request entries (at most 20)."""
    if len(tags) > MAX_TAGS:
        raise ConfigurationError(f"at most {MAX_TAGS} tags per resource, got {len(tags)}")
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def tags_of(raw: Mapping[str, Any]) -> dict[str, str]:
    """Tags of a described resource (``Tags.Tag[].TagKey/TagValue``)."""
    return {t.get("TagKey", ""): t.get("TagValue", "") for t in (raw.get("Tags") or {}).get("Tag", [])}
