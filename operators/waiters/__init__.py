"""Waiters as data: an operation plus acceptors, with one sync and one async engine."""

from operators.waiters.base import (
    Acceptor,
    Waiter,
    WaiterMixin,
    WaiterOutcome,
    async_wait,
    evaluate,
    load_waiter,
    wait,
)

__all__ = [
    "Acceptor",
    "Waiter",
    "WaiterMixin",
    "WaiterOutcome",
    "async_wait",
    "evaluate",
    "load_waiter",
    "wait",
]
