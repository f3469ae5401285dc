"""Typed access to RPC query parameters as the SDK flattens them (Name.N, Name.N.Field, JSON strings)."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.core.errors import InvalidParameter, MissingParameter

_TRUE = ("true", "True", "TRUE", "1")
_FALSE = ("false", "False", "FALSE", "0")


class Params:
    """A read-only view of one request's parameters with validation that raises API errors."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def __contains__(self, name: str) -> bool:
        return name in self.values and self.values[name] != ""

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise MissingParameter(name)
            return default
        return value

    def req(self, name: str) -> str:
        value = self.str(name, required=True)
        assert value is not None
        return value

    def int(
        self,
        name: str,
        default: int | None = None,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self.str(name, required=required)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError as error:
            raise InvalidParameter(name, f"It must be an integer, got {raw!r}.") from error
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise InvalidParameter(name, f"It must be from {minimum} to {maximum}, got {value}.")
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.str(name)
        if raw is None:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise InvalidParameter(name, f"It must be true or false, got {raw!r}.")

    def enum(self, name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.str(name, default)
        if value is not None and value not in choices:
            raise InvalidParameter(name, f"Valid values: {', '.join(choices)}.")
        return value

    def list(self, name: str, limit: int = 100) -> list[str]:
        """Values of ``Name.1``, ``Name.2``, ... in index order."""
        pattern = re.compile(rf"^{re.escape(name)}\.(\d+)$")
        found = sorted(
            (int(m.group(1)), value) for key, value in self.values.items() if (m := pattern.match(key))
        )
        if len(found) > limit:
            raise InvalidParameter(name, f"At most {limit} values are allowed.")
        return [value for _, value in found]

    def structs(self, name: str, limit: int = 100) -> list[dict[str, str]]:
        """``Name.N.Field`` entries as a list of dicts, in index order."""
        pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.(.+)$")
        grouped: dict[int, dict[str, str]] = {}
        for key, value in self.values.items():
            match = pattern.match(key)
            if match:
                grouped.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if len(grouped) > limit:
            raise InvalidParameter(name, f"At most {limit} entries are allowed.")
        return [grouped[i] for i in sorted(grouped)]

    def tags(self, name: str = "Tag", limit: int = 20) -> dict[str, str]:
        """``Tag.N.Key`` / ``Tag.N.Value`` pairs as a dict."""
        tags: dict[str, str] = {}
        for entry in self.structs(name, limit=limit):
            key = entry.get("Key")
            if not key:
                raise InvalidParameter(f"{name}.N.Key", "Every tag needs a key.")
            tags[key] = entry.get("Value", "")
        return tags

    def json(self, name: str, *, required: bool = False) -> Any:
        raw = self.str(name, required=required)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidParameter(name, "It must be a JSON document.") from error

    def json_str_list(self, name: str, limit: int = 100) -> list[str] | None:
        value = self.json(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidParameter(name, "It must be a JSON array of strings.")
        if len(value) > limit:
            raise InvalidParameter(name, f"At most {limit} values are allowed.")
        return value


def paginate(items: list[Any], page_number: int, page_size: int) -> list[Any]:
    start = (page_number - 1) * page_size
    return items[start : start + page_size]
