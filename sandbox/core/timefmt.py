"""Timestamps in the formats the Alibaba Cloud APIs return."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_minutes(ts: float | None) -> str:
    """``2026-11-25T11:42Z``: the format of ECS CreationTime and StartTime."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%MZ")


def iso_seconds(ts: float | None) -> str:
    """``2026-11-25T11:42:08Z``."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def millis(ts: float) -> int:
    return int(ts * 1000)
