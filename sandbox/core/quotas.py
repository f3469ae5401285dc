"""Per-minute API quotas: a fixed budget of calls per action and window, as Alibaba Cloud meters them.

Alibaba Cloud's API quotas are per API and per minute; an API throttled in minute T answers nothing
until minute T+1 (ECS API throttling doc, https://www.alibabacloud.com/help/doc-detail/437902.htm;
SLB backend writes: 90 calls per 60 s). A rule here gives one (product, action) pair ``per_minute`` calls
per window; windows are aligned to the clock (window T covers ``[T*w, (T+1)*w)`` seconds since the epoch)
and each pair has its own count. ``window_seconds`` shortens the minute for tests.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.core.faults import PRODUCTS

DEFAULT_WINDOW_S = 60.0
MAX_WINDOW_S = 3600.0


class QuotaRuleError(ValueError):
    """A quota rule in a control request is malformed."""


@dataclass(frozen=True)
class QuotaRule:
    product: str
    action: str
    per_minute: int
    retry_after: bool  # answer cloud calls with x-acs-retry-after (ms) until the next window

    def matches(self, product: str, action: str) -> bool:
        return self.product in ("*", product) and self.action in ("*", action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "action": self.action,
            "per_minute": self.per_minute,
            "retry_after": self.retry_after,
        }

    @classmethod
    def parse(cls, raw: Any, index: int) -> QuotaRule:
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise QuotaRuleError(f"{where} must be an object")
        unknown = set(raw) - {"product", "action", "per_minute", "retry_after"}
        if unknown:
            raise QuotaRuleError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        product = raw.get("product", "*")
        if product not in PRODUCTS:
            raise QuotaRuleError(f"{where}.product must be one of {', '.join(PRODUCTS)}, got {product!r}")
        action = raw.get("action", "*")
        if not isinstance(action, str) or not action:
            raise QuotaRuleError(f"{where}.action must be a non-empty string")
        per_minute = raw.get("per_minute")
        if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 0:
            raise QuotaRuleError(f"{where}.per_minute must be a non-negative integer")
        retry_after = raw.get("retry_after", False)
        if not isinstance(retry_after, bool):
            raise QuotaRuleError(f"{where}.retry_after must be true or false")
        return cls(product, action, per_minute, retry_after)


@dataclass(frozen=True)
class QuotaVerdict:
    """A call refused by a quota: seconds until its window reopens, and whether to say so in a header."""

    wait_s: float
    retry_after: bool


class MinuteQuotas:
    """Active quota rules (first match wins) and the call count of each pair in its current window."""

    def __init__(self, clock: Callable[[], float], default_window_s: float = DEFAULT_WINDOW_S):
        self._clock = clock
        self._lock = threading.Lock()
        self.default_window_s = default_window_s
        self._window_s = default_window_s
        self._rules: list[QuotaRule] = []
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}  # pair -> (window index, calls)

    def set_rules(self, raw_rules: list[Any], window_seconds: Any = None) -> None:
        if window_seconds is None:
            window_s = self.default_window_s
        elif (
            isinstance(window_seconds, bool)
            or not isinstance(window_seconds, int | float)
            or not 0.1 <= window_seconds <= MAX_WINDOW_S
        ):
            raise QuotaRuleError(f"window_seconds must be a number from 0.1 to {MAX_WINDOW_S:.0f}")
        else:
            window_s = float(window_seconds)
        parsed = [QuotaRule.parse(raw, i) for i, raw in enumerate(raw_rules)]
        with self._lock:
            self._rules = parsed
            self._window_s = window_s
            self._counts.clear()

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self._window_s = self.default_window_s
            self._counts.clear()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            window = math.floor(now / self._window_s)
            used = {f"{p} {a}": n for (p, a), (w, n) in self._counts.items() if w == window}
            return {
                "window_seconds": self._window_s,
                "window_ends_in": round((window + 1) * self._window_s - now, 3),
                "rules": [rule.to_dict() for rule in self._rules],
                "used": used,
            }

    def check(self, product: str, action: str) -> QuotaVerdict | None:
        """Count one call; None when it is within its quota, else how long until the next window."""
        with self._lock:
            rule = next((r for r in self._rules if r.matches(product, action)), None)
            if rule is None:
                return None
            now = self._clock()
            window = math.floor(now / self._window_s)
            seen, calls = self._counts.get((product, action), (window, 0))
            if seen != window:
                calls = 0
            if calls >= rule.per_minute:
                self._counts[(product, action)] = (window, calls)
                return QuotaVerdict((window + 1) * self._window_s - now, rule.retry_after)
            self._counts[(product, action)] = (window, calls + 1)
            return None
