"""Timestamps of the Fleet API: ``since``/``until`` as a user writes them, and as the API answers.

Accepted: ISO 8601 (``2026-01-02T03:04:05Z``, an offset, or naive = UTC, or a date alone) or a
duration back from now (``90s``, ``15m``, ``6h``, ``7d``, ``2w``). Answers are ISO 8601 in UTC with a
``Z``. Standard library only: the ``yunfleet`` command imports this on its fast path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """``text`` as a timezone-aware UTC datetime.

    :raises ValueError: one line naming the value and the accepted forms.
    """
    value = text.strip()
    match = _DURATION.match(value)
    if match:
        amount, unit = match.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 (2026-01-02T03:04:05Z) or a duration like 15m, 6h, 7d"
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """``value`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (seconds only when there are no microseconds)."""
    if value is None:
        return None
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")
