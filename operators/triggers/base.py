"""A trigger driven by a waiter definition; subclasses only say which product and waiter to use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from include.errors import WaiterFailureError, WaiterTimeoutError, YunfleetError
from operators.utils.products import hook_class
from operators.waiters import async_wait, load_waiter

#: Characters of an error kept in an event: enough for a wait's summary of what is missing.
MESSAGE_LIMIT = 1500


class YunfleetWaiterTrigger(BaseTrigger):
    """Run a waiter (``waiters/<product>.json``) asynchronously and yield one event.

    The event is ``{"status": "success", "result": <last operation result>}`` or
    ``{"status": "failure" | "timeout" | "error", "message": <one line>}``. The hook's blocking
    SDK call runs in a worker thread, so the triggerer's event loop never blocks.

    :param product: a key of ``operators.utils.products.PRODUCTS`` (``ecs``, ``slb``, ``kubernetes``,
        ...): its hook runs the waiter, whose file is ``waiters/<product>.json``.
    :param waiter_name: the waiter's name in that product's file.
    :param waiter_args: keyword arguments of the waiter's operation.
    :param hook_params: keyword arguments of the hook (connection ids, cluster, ...).
    """

    def __init__(
        self,
        *,
        product: str,
        waiter_name: str,
        waiter_args: dict[str, Any],
        hook_params: dict[str, Any] | None = None,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
    ) -> None:
        super().__init__()
        self.product = product
        self.waiter_name = waiter_name
        self.waiter_args = dict(waiter_args)
        self.hook_params = dict(hook_params or {})
        self.poll_interval = float(poll_interval)
        self.max_attempts = int(max_attempts)

    #: the constructor arguments a subclass serializes (with ``poll_interval`` and ``max_attempts``);
    #: empty: the generic form (product, waiter name, waiter and hook arguments)
    serialized_fields: tuple[str, ...] = ()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        if self.serialized_fields:
            kwargs = {name: getattr(self, name) for name in self.serialized_fields}
        else:
            kwargs = {
                "product": self.product,
                "waiter_name": self.waiter_name,
                "waiter_args": self.waiter_args,
                "hook_params": self.hook_params,
            }
        kwargs.update(poll_interval=self.poll_interval, max_attempts=self.max_attempts)
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def hook(self) -> Any:
        """Build the product's hook (imports included); call it off the event loop."""
        return hook_class(self.product)(**self.hook_params)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            waiter = load_waiter(self.product, self.waiter_name)
            hook = await asyncio.to_thread(self.hook)
            await hook.aprefetch_connections()
            operation = getattr(hook, waiter.operation)

            async def call() -> Any:
                return await asyncio.to_thread(operation, **self.waiter_args)

            outcome = await async_wait(
                waiter, call, poll_interval=self.poll_interval, max_attempts=self.max_attempts
            )
        except WaiterFailureError as exc:
            yield TriggerEvent({"status": "failure", "message": str(exc)[:MESSAGE_LIMIT]})
            return
        except WaiterTimeoutError as exc:
            yield TriggerEvent({"status": "timeout", "message": str(exc)[:MESSAGE_LIMIT]})
            return
        except (YunfleetError, ValueError) as exc:
            yield TriggerEvent(
                {"status": "error", "message": f"{type(exc).__name__}: {str(exc)[:MESSAGE_LIMIT]}"}
            )
            return
        yield TriggerEvent({"status": "success", "attempts": outcome.attempts, "result": outcome.result})
