"""``since``/``until`` as users write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.fleetview.times import iso, parse_time

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T08:00:00Z", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T16:00:00+08:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:00", datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("90s", NOW - timedelta(seconds=90)),
        ("15m", NOW - timedelta(minutes=15)),
        (" 6h ", NOW - timedelta(hours=6)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "5y", "-3h", "2026-13-01"])
def test_refused_forms_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"use ISO 8601 .* or a duration like 15m, 6h, 7d"):
        parse_time(text, now=NOW)


def test_iso_is_utc_with_z() -> None:
    assert iso(datetime(2026, 3, 1, 16, 0, tzinfo=timezone(timedelta(hours=8)))) == "2026-03-01T08:00:00Z"
    assert iso(datetime(2026, 3, 1, 8, 0, 0, 5)) == "2026-03-01T08:00:00.000005Z"
    assert iso(None) is None
