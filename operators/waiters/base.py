"""The waiter model and its two engines.

A waiter is data (``waiters/<product>.json``): an ``operation`` (a hook method name), a default
``delay`` and ``max_attempts``, and ``acceptors`` tried in order after each call:

- ``path``: the value at ``argument`` equals ``expected``;
- ``pathAll``: every element at ``argument`` equals ``expected`` (an empty list never matches);
- ``pathAny``: some element equals ``expected``;
- ``error``: the call raised a cloud error whose code is ``expected``.

The first matching acceptor's ``state`` (``success``, ``failure``, ``retry``) decides; no match
means retry. Paths are dotted keys, ``name[]`` projects over a list. A transient error that no
acceptor names is a retry too (it does not end the wait early); a permanent one is raised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from include.errors import CloudError, WaiterFailureError, WaiterTimeoutError

log = logging.getLogger(__name__)
WAITER_DIR = Path(__file__).resolve().parent
STATES = ("success", "failure", "retry")
MATCHERS = ("path", "pathAll", "pathAny", "error")
_MISSING = object()


@dataclass(frozen=True)
class Acceptor:
    state: str
    matcher: str
    expected: Any
    argument: str | None = None

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"acceptor state must be one of {STATES}, got {self.state!r}")
        if self.matcher not in MATCHERS:
            raise ValueError(f"acceptor matcher must be one of {MATCHERS}, got {self.matcher!r}")
        if self.matcher != "error" and not self.argument:
            raise ValueError(f"a {self.matcher} acceptor needs an argument path")


@dataclass(frozen=True)
class Waiter:
    name: str
    operation: str
    delay: float
    max_attempts: int
    acceptors: tuple[Acceptor, ...]

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> Waiter:
        return cls(
            name=name,
            operation=raw["operation"],
            delay=float(raw.get("delay", 5)),
            max_attempts=int(raw.get("max_attempts", 60)),
            acceptors=tuple(Acceptor(**a) for a in raw["acceptors"]),
        )


@dataclass(frozen=True)
class WaiterOutcome:
    state: str
    attempts: int
    result: Any


@cache
def _waiters_of(product: str) -> dict[str, Waiter]:
    path = WAITER_DIR / f"{product}.json"
    if not path.exists():
        raise ValueError(f"no waiters are defined for {product!r}")
    raw = json.loads(path.read_text())
    return {name: Waiter.from_dict(name, spec) for name, spec in raw["waiters"].items()}


def load_waiter(product: str, name: str) -> Waiter:
    waiters = _waiters_of(product)
    if name not in waiters:
        raise ValueError(f"unknown {product} waiter {name!r}; known: {sorted(waiters)}")
    return waiters[name]


def search(path: str, data: Any) -> Any:
    """Resolve ``a.b[].c`` against nested dicts and lists."""
    values: list[Any] = [data]
    projected = False
    for part in path.split("."):
        flatten = part.endswith("[]")
        key = part[:-2] if flatten else part
        nxt: list[Any] = []
        for value in values:
            item = value.get(key, _MISSING) if isinstance(value, dict) and key else value
            if item is _MISSING:
                continue
            if flatten:
                nxt.extend(item if isinstance(item, list) else [])
            else:
                nxt.append(item)
        values = nxt
        projected = projected or flatten
    if projected:
        return values
    return values[0] if values else None


def evaluate(waiter: Waiter, result: Any = None, error: CloudError | None = None) -> str | None:
    """The state the first matching acceptor names, or None."""
    for acceptor in waiter.acceptors:
        if acceptor.matcher == "error":
            if error is not None and error.code == acceptor.expected:
                return acceptor.state
            continue
        if error is not None:
            continue
        value = search(acceptor.argument or "", result)
        if acceptor.matcher == "path" and value == acceptor.expected:
            return acceptor.state
        if acceptor.matcher == "pathAll" and isinstance(value, list) and value:
            if all(v == acceptor.expected for v in value):
                return acceptor.state
        if acceptor.matcher == "pathAny" and isinstance(value, list):
            if any(v == acceptor.expected for v in value):
                return acceptor.state
    return None


def describe(result: Any) -> str:
    """How an error message shows an operation's result: its ``Summary`` when it has one (a line
    written for people), else the result itself."""
    if isinstance(result, dict) and result.get("Summary"):
        return str(result["Summary"])
    return str(result)


def _decide(waiter: Waiter, attempt: int, result: Any, error: CloudError | None) -> str:
    state = evaluate(waiter, result, error)
    if error is not None and state is None:
        if not error.retryable:
            raise error
        state = "retry"
    if state == "failure":
        raise WaiterFailureError(
            f"waiter {waiter.name} reached a failure state on attempt {attempt}: {describe(result)}"
        )
    return state or "retry"


def wait(
    waiter: Waiter,
    operation: Callable[[], Any],
    *,
    poll_interval: float | None = None,
    max_attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WaiterOutcome:
    """Call ``operation`` until an acceptor says success (returned) or failure (raised)."""
    delay = waiter.delay if poll_interval is None else poll_interval
    attempts = waiter.max_attempts if max_attempts is None else max_attempts
    result: Any = None
    for attempt in range(1, attempts + 1):
        error: CloudError | None = None
        try:
            result = operation()
        except CloudError as exc:
            error = exc
        if _decide(waiter, attempt, result, error) == "success":
            return WaiterOutcome("success", attempt, result)
        log.info("Waiter %s: attempt %d/%d not done yet", waiter.name, attempt, attempts)
        if attempt < attempts:
            sleep(delay)
    raise WaiterTimeoutError(
        f"waiter {waiter.name} gave up after {attempts} attempts; last result: {describe(result)}"
    )


async def async_wait(
    waiter: Waiter,
    operation: Callable[[], Awaitable[Any]],
    *,
    poll_interval: float | None = None,
    max_attempts: int | None = None,
) -> WaiterOutcome:
    """The same loop as :func:`wait` for an async ``operation``, sleeping without blocking."""
    delay = waiter.delay if poll_interval is None else poll_interval
    attempts = waiter.max_attempts if max_attempts is None else max_attempts
    result: Any = None
    for attempt in range(1, attempts + 1):
        error: CloudError | None = None
        try:
            result = await operation()
        except CloudError as exc:
            error = exc
        if _decide(waiter, attempt, result, error) == "success":
            return WaiterOutcome("success", attempt, result)
        log.info("Waiter %s: attempt %d/%d not done yet", waiter.name, attempt, attempts)
        if attempt < attempts:
            await asyncio.sleep(delay)
    raise WaiterTimeoutError(
        f"waiter {waiter.name} gave up after {attempts} attempts; last result: {describe(result)}"
    )


class WaiterMixin:
    """``wait_for`` for a hook whose waiters are ``waiters/<product>.json`` (``product`` is the hook's)."""

    product: str

    def wait_for(
        self,
        waiter_name: str,
        *,
        poll_interval: float | None = None,
        max_attempts: int | None = None,
        **args: Any,
    ) -> Any:
        """Run this product's waiter ``waiter_name`` with ``args`` for its operation; return its last result.

        :raises WaiterFailureError: a failure state was reached.
        :raises WaiterTimeoutError: ``max_attempts`` (default: the waiter's) ran out.
        """
        waiter = load_waiter(self.product, waiter_name)
        operation = getattr(self, waiter.operation)
        return wait(
            waiter, lambda: operation(**args), poll_interval=poll_interval, max_attempts=max_attempts
        ).result
