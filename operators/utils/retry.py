"""Retry policy for cloud and Kubernetes calls: tenacity, transient errors only.

Exponential back-off with full jitter, the server's retry-after honoured when it is given,
bounded both in attempts and in total time. Permanent errors are raised at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

from include.errors import CloudError

T = TypeVar("T")
log = logging.getLogger(__name__)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, CloudError) and exc.retryable


@dataclass(frozen=True)
class RetryPolicy:
    """How a hook retries transient errors.

    :param max_attempts: total attempts per call, the first included.
    :param max_total_seconds: stop retrying once this much time has passed since the first attempt.
    :param initial_backoff: first back-off ceiling in seconds (doubles per attempt, full jitter).
    :param max_backoff: ceiling of one back-off and of an honoured retry-after.
    """

    max_attempts: int = 8
    max_total_seconds: float = 120.0
    initial_backoff: float = 0.2
    max_backoff: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.max_total_seconds <= 0 or self.initial_backoff <= 0 or self.max_backoff <= 0:
            raise ValueError("max_total_seconds, initial_backoff and max_backoff must be positive")

    def wait(self, retry_state: tenacity.RetryCallState) -> float:
        """Retry-after from the server if present, otherwise exponential back-off with jitter."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > 0:
            return float(min(retry_after, self.max_backoff))
        jitter = tenacity.wait_random_exponential(multiplier=self.initial_backoff, max=self.max_backoff)
        return float(jitter(retry_state))

    def _kwargs(self) -> dict[str, Any]:
        """The tenacity settings shared by the sync and async retriers."""
        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts)
            | tenacity.stop_after_delay(self.max_total_seconds),
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


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
    log.warning(
        "Transient error on attempt %d, retrying in %.2fs: %s", retry_state.attempt_number, delay, exc
    )
