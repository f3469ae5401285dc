"""Retry policy for cloud and Kubernetes calls: tenacity, transient errors only.

Two back-offs, bounded both in attempts and in total time; permanent errors are raised at once:

- server errors (5xx), timeouts and conflicts of state: short exponential back-off with full jitter
  (from 0.2 s, at most 20 s per wait, 8 attempts, 120 s per call);
- throttling (``Throttling*`` codes, HTTP 429): a longer back-off that can outlast a closed quota
  window. Alibaba Cloud meters API quotas per API and per minute, and an API throttled in minute T
  answers nothing until minute T+1 (https://www.alibabacloud.com/help/doc-detail/437902.htm), so a
  throttled call keeps trying for up to 65 s (one minute plus a margin) with exponential back-off and
  equal jitter (from 1 s, at most 30 s per wait), which always reaches the next window.

A retry-after sent by the server (``x-acs-retry-after``, ``Retry-After``) replaces the computed wait,
capped by the class's longest wait. No wait runs past the call's time budget.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import tenacity

from include.errors import CloudError, ConfigurationError, ThrottlingError

T = TypeVar("T")
log = logging.getLogger(__name__)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, CloudError) and exc.retryable


def _is_throttling(exc: BaseException | None) -> bool:
    return isinstance(exc, ThrottlingError)


@dataclass(frozen=True)
class RetryPolicy:
    """How a hook retries transient errors.

    :param max_attempts: attempts per call for server errors, timeouts and conflicts, the first included.
    :param max_total_seconds: no such retry starts later than this many seconds after the first attempt.
    :param initial_backoff: first back-off ceiling in seconds (doubles per attempt, full jitter).
    :param max_backoff: ceiling of one back-off and of an honoured retry-after.
    :param throttle_max_attempts: attempts per call while the API throttles.
    :param throttle_max_total_seconds: a throttled call stops trying this many seconds after its first
        attempt; the default 65 s reaches the next one-minute quota window.
    :param throttle_initial_backoff: first throttling back-off in seconds (doubles per attempt, equal
        jitter: at least half of it is always waited).
    :param throttle_max_backoff: ceiling of one throttling back-off and of an honoured retry-after.
    """

    max_attempts: int = 8
    max_total_seconds: float = 120.0
    initial_backoff: float = 0.2
    max_backoff: float = 20.0
    throttle_max_attempts: int = 20
    throttle_max_total_seconds: float = 65.0
    throttle_initial_backoff: float = 1.0
    throttle_max_backoff: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "throttle_max_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "max_total_seconds",
            "initial_backoff",
            "max_backoff",
            "throttle_max_total_seconds",
            "throttle_initial_backoff",
            "throttle_max_backoff",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any] | None, base: RetryPolicy | None = None
    ) -> RetryPolicy:
        """``base`` (default: the defaults above) with the given fields replaced.

        ``settings`` comes from a connection extra (``retry``), so it is checked here: unknown keys and
        values that are not positive numbers raise :class:`ConfigurationError` naming them.
        """
        base = base or cls()
        if not settings:
            return base
        if not isinstance(settings, Mapping):
            raise ConfigurationError(f"retry settings must be a JSON object, got {type(settings).__name__}")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ConfigurationError(f"unknown retry setting(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for name, raw in settings.items():
            integer = name.endswith("attempts")
            try:
                if isinstance(raw, bool):
                    raise ValueError
                value = int(raw) if integer else float(raw)
                if integer and float(raw) != value:
                    raise ValueError
            except (TypeError, ValueError):
                kind = "an integer" if integer else "a number of seconds"
                raise ConfigurationError(f"retry setting {name} must be {kind}, got {raw!r}") from None
            values[name] = value
        try:
            return cls(**{**{f: getattr(base, f) for f in known}, **values})
        except ValueError as exc:
            raise ConfigurationError(f"retry settings: {exc}") from None

    # -- the two back-offs ----------------------------------------------------------------------

    def budget_left(self, exc: BaseException | None, elapsed: float) -> float:
        """Seconds left in the call's time budget for the class of ``exc``."""
        total = self.throttle_max_total_seconds if _is_throttling(exc) else self.max_total_seconds
        return max(0.0, total - elapsed)

    def backoff(self, exc: BaseException | None, attempt: int) -> float:
        """The wait before retry ``attempt + 1`` of ``exc``'s class, before any retry-after or budget."""
        retry_after = getattr(exc, "retry_after", None)
        throttled = _is_throttling(exc)
        cap = self.throttle_max_backoff if throttled else self.max_backoff
        if isinstance(retry_after, int | float) and retry_after > 0:
            return float(min(retry_after, cap))
        if throttled:
            ceiling = min(cap, self.throttle_initial_backoff * 2.0 ** (attempt - 1))
            return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)
        ceiling = min(cap, self.initial_backoff * 2.0 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 (jitter, not a secret)

    def wait(self, retry_state: tenacity.RetryCallState) -> float:
        """Tenacity wait: :meth:`backoff` for the last error, never past the call's time budget."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        attempt = _count_attempt(retry_state, exc)
        delay = self.backoff(exc, attempt)
        return min(delay, self.budget_left(exc, retry_state.seconds_since_start or 0.0))

    def should_stop(self, retry_state: tenacity.RetryCallState) -> bool:
        """Tenacity stop: the error's class has used its attempts or its time budget."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        attempts = _count_attempt(retry_state, exc)
        limit = self.throttle_max_attempts if _is_throttling(exc) else self.max_attempts
        return attempts >= limit or self.budget_left(exc, retry_state.seconds_since_start or 0.0) <= 0

    def _kwargs(self) -> dict[str, Any]:
        """The tenacity settings shared by the sync and async retriers."""
        return {
            "stop": self.should_stop,
            "wait": self.wait,
            "retry": tenacity.retry_if_exception(_is_transient),
            "reraise": True,
            "before_sleep": _log_retry,
        }

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(**self._kwargs())

    def async_retrying(self) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(**self._kwargs())

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this policy and return its result (or raise its last error)."""
        return self.retrying()(fn)


# Attempts are counted per class (throttled, other) on the call's RetryCallState, so a call that meets
# both keeps each class's budget: throttling does not use up the attempts meant for server errors.
_COUNTS = "_yunfleet_attempts"


def _count_attempt(retry_state: tenacity.RetryCallState, exc: BaseException | None) -> int:
    """Failed attempts of ``exc``'s class so far, this one included (counted once per attempt)."""
    state: dict[str, int] = retry_state.__dict__.setdefault(_COUNTS, {"seen": 0, "throttled": 0, "other": 0})
    kind = "throttled" if _is_throttling(exc) else "other"
    if state["seen"] != retry_state.attempt_number:
        state["seen"] = retry_state.attempt_number
        state[kind] += 1
    return state[kind]


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
    kind = "Throttled" if _is_throttling(exc) else "Transient error"
    log.warning("%s on attempt %d, retrying in %.2fs: %s", kind, retry_state.attempt_number, delay, exc)
