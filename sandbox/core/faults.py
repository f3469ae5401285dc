"""Fault rules set through POST /_sandbox/faults: injected error codes, timeouts and delays.

A rule names an error code; the API it hits decides how that code is answered. ``fault_class`` sorts a
code into throttling, server (5xx), timeout or client; each API renders a class its own way (Alibaba's
error envelope on ECS/SLB/Alidns, a Kubernetes ``Status`` on k8s), so one rule for product ``*`` keeps
its meaning on every API it reaches.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.core.errors import KNOWN_CODES

PRODUCTS = ("ecs", "slb", "alidns", "kms", "k8s", "*")
# Codes that mean "slow down" on some API: Alibaba's throttling codes and the Kubernetes reason.
THROTTLING_CODES = ("Throttling", "TooManyRequests")


def fault_class(code: str, http_status: int) -> str:
    """``throttling``, ``server`` or ``client`` for an injected error code.

    Throttling: ``Throttling``, any ``Throttling.*`` code, ``TooManyRequests``, or any code with status 429.
    Server: a status of 500 or more (given by the rule or documented for the code). Client: the rest.
    """
    if code in THROTTLING_CODES or code.startswith("Throttling.") or http_status == 429:
        return "throttling"
    if http_status >= 500:
        return "server"
    return "client"


class FaultRuleError(ValueError):
    """A fault rule in a control request is malformed."""


@dataclass
class FaultRule:
    product: str
    action: str
    error: str | None
    http_status: int | None
    rate: float
    count: int | None
    delay_ms: int
    fired: int = 0

    def matches(self, product: str, action: str) -> bool:
        return self.product in ("*", product) and self.action in ("*", action)

    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "action": self.action,
            "error": self.error,
            "http_status": self.http_status,
            "rate": self.rate,
            "count": self.count,
            "delay_ms": self.delay_ms,
            "fired": self.fired,
        }

    @classmethod
    def parse(cls, raw: Any, index: int) -> FaultRule:
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise FaultRuleError(f"{where} must be an object")
        unknown = set(raw) - {"product", "action", "error", "http_status", "rate", "count", "delay_ms"}
        if unknown:
            raise FaultRuleError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        product = raw.get("product", "*")
        if product not in PRODUCTS:
            raise FaultRuleError(f"{where}.product must be one of {', '.join(PRODUCTS)}, got {product!r}")
        action = raw.get("action", "*")
        if not isinstance(action, str) or not action:
            raise FaultRuleError(f"{where}.action must be a non-empty string")
        error = raw.get("error")
        if error is not None and (not isinstance(error, str) or not error):
            raise FaultRuleError(f"{where}.error must be an error code or 'timeout'")
        http_status = raw.get("http_status")
        if http_status is not None and (not isinstance(http_status, int) or not 400 <= http_status <= 599):
            raise FaultRuleError(f"{where}.http_status must be an integer from 400 to 599")
        rate = raw.get("rate", 1.0)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise FaultRuleError(f"{where}.rate must be a number from 0 to 1")
        count = raw.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
            raise FaultRuleError(f"{where}.count must be a non-negative integer")
        delay_ms = raw.get("delay_ms", 0)
        if not isinstance(delay_ms, int) or isinstance(delay_ms, bool) or not 0 <= delay_ms <= 600_000:
            raise FaultRuleError(f"{where}.delay_ms must be an integer from 0 to 600000")
        if error is None and delay_ms == 0:
            raise FaultRuleError(f"{where} needs an error, a delay_ms, or both")
        return cls(product, action, error, http_status, float(rate), count, delay_ms)


@dataclass(frozen=True)
class FaultDecision:
    """What a matching rule asks for: an error (or a timeout) and/or an added delay."""

    error_code: str | None
    http_status: int
    timeout: bool
    delay_ms: int
    message: str
    status_given: bool = False  # the rule set http_status itself

    @property
    def is_error(self) -> bool:
        return self.error_code is not None

    @property
    def kind(self) -> str:
        """``timeout``, ``delay`` or the ``fault_class`` of the error code."""
        if self.timeout:
            return "timeout"
        if self.error_code is None:
            return "delay"
        return fault_class(self.error_code, self.http_status)


class FaultInjector:
    """Holds the active rules; ``check`` draws from a RNG seeded by the rule set's seed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._seed = 0
        self._rng = random.Random(0)

    def set_rules(self, rules: list[Any], seed: int = 0) -> None:
        parsed = [FaultRule.parse(raw, i) for i, raw in enumerate(rules)]
        with self._lock:
            self._rules = parsed
            self._seed = seed
            self._rng = random.Random(seed)

    def clear(self) -> None:
        self.set_rules([], 0)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": [rule.to_dict() for rule in self._rules]}

    def check(self, product: str, action: str) -> FaultDecision | None:
        """The decision of the first matching rule that fires, or None."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(product, action) or rule.exhausted():
                    continue
                if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.error == "timeout":
                    return FaultDecision(None, 504, True, rule.delay_ms, "timeout")
                if rule.error is None:
                    return FaultDecision(None, 200, False, rule.delay_ms, "")
                status, message = KNOWN_CODES.get(rule.error, (400, f"Injected fault {rule.error}."))
                return FaultDecision(
                    rule.error,
                    rule.http_status or status,
                    False,
                    rule.delay_ms,
                    message,
                    status_given=rule.http_status is not None,
                )
            return None
