"""Per-action API rate limits (token buckets), answered with Throttling.User like the real service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ThrottleRuleError(ValueError):
    """A rate-limit rule in a control request is malformed."""


@dataclass
class RateLimit:
    product: str
    action: str
    qps: float
    burst: int

    def matches(self, product: str, action: str) -> bool:
        return self.product in ("*", product) and self.action in ("*", action)

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "action": self.action, "qps": self.qps, "burst": self.burst}

    @classmethod
    def parse(cls, raw: Any, index: int) -> RateLimit:
        where = f"limits[{index}]"
        if not isinstance(raw, dict):
            raise ThrottleRuleError(f"{where} must be an object")
        unknown = set(raw) - {"product", "action", "qps", "burst"}
        if unknown:
            raise ThrottleRuleError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        qps = raw.get("qps")
        if not isinstance(qps, int | float) or isinstance(qps, bool) or qps <= 0:
            raise ThrottleRuleError(f"{where}.qps must be a positive number")
        burst = raw.get("burst", max(1, int(qps)))
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
            raise ThrottleRuleError(f"{where}.burst must be a positive integer")
        product = raw.get("product", "*")
        action = raw.get("action", "*")
        if not isinstance(product, str) or not isinstance(action, str):
            raise ThrottleRuleError(f"{where}.product and .action must be strings")
        return cls(product, action, float(qps), burst)


# Generous defaults: real limits are per account and unpublished; these only stop runaway loops.
DEFAULT_LIMITS = [
    RateLimit("ecs", "RunInstances", 20.0, 40),
    RateLimit("*", "*", 200.0, 400),
]


class Throttler:
    """First matching limit wins; each (product, action) pair has its own bucket."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: list[RateLimit] = list(DEFAULT_LIMITS)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def set_limits(self, raw_limits: list[Any]) -> None:
        parsed = [RateLimit.parse(raw, i) for i, raw in enumerate(raw_limits)]
        with self._lock:
            self._limits = parsed
            self._buckets.clear()

    def reset(self) -> None:
        with self._lock:
            self._limits = list(DEFAULT_LIMITS)
            self._buckets.clear()

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"limits": [limit.to_dict() for limit in self._limits]}

    def allow(self, product: str, action: str) -> bool:
        """Take one token for this action; False when its bucket is empty."""
        with self._lock:
            limit = next((lim for lim in self._limits if lim.matches(product, action)), None)
            if limit is None:
                return True
            now = self._clock()
            tokens, last = self._buckets.get((product, action), (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - last) * limit.qps)
            if tokens < 1.0:
                self._buckets[(product, action)] = (tokens, now)
                return False
            self._buckets[(product, action)] = (tokens - 1.0, now)
            return True
