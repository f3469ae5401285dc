"""Paging of lists that grow (audit events): ``limit`` with ``offset`` or an opaque ``cursor``.

A cursor names the last row of a page (its id) so the next page starts right after it even while
new rows arrive; ``offset`` is for jumping to a page number. Lists are newest first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_PREFIX = "id:"


@dataclass(frozen=True)
class PageRequest:
    """One page: at most ``limit`` rows, after ``offset`` rows or after the row ``after_id`` names.

    :raises ValueError: ``limit`` outside 1..``MAX_LIMIT`` or a negative ``offset``.
    """

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after_id: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be from 1 to {MAX_LIMIT}, got {self.limit}")
        if self.offset < 0:
            raise ValueError(f"offset must be 0 or more, got {self.offset}")

    @classmethod
    def build(cls, limit: int = DEFAULT_LIMIT, offset: int = 0, cursor: str | None = None) -> PageRequest:
        """From the API's query parameters; a cursor wins over ``offset``."""
        if cursor:
            return cls(limit=limit, after_id=decode_cursor(cursor))
        return cls(limit=limit, offset=offset)


def encode_cursor(row_id: int) -> str:
    """The cursor of the page that follows the row ``row_id``."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor names.

    :raises ValueError: the cursor was not made by :func:`encode_cursor`.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise ValueError(f"cursor {cursor[:40]!r} is not one this API gave out; start again without it")
    return int(text[len(_PREFIX) :])
