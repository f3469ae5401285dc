"""What every Yunfleet operator and sensor shares: connection ids, dry-run, template fields, the hook.

The hook is built on first use from the product table (``operators.utils.products``): an operator or
sensor names its ``product`` and says which arguments its hook takes (:meth:`hook_params`); importing
the module imports no hook, SDK or registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from include.errors import ConfigurationError
from operators.defaults import ALIBABA_CLOUD_CONN_ID, DEFAULT_DEFERRABLE, YUNFLEET_DB_CONN_ID
from operators.utils.products import hook_class

if TYPE_CHECKING:
    from operators.utils.audit import AuditContext


def as_bool(value: Any, name: str = "dry_run") -> bool:
    """Accept a bool or its rendered template text ("True", "false", "1", ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", "", "none"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def as_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {number}")
    return number


class HookOwner:
    """The lazy hook of an operator or sensor, and the connection ids it is built with.

    Subclasses set :attr:`product` (a key of ``operators.utils.products.PRODUCTS``) and extend
    :meth:`hook_params`; :attr:`hook` imports and builds the hook on first use.
    """

    #: which product's hook this task uses
    product: str
    alibaba_cloud_conn_id: str
    yunfleet_db_conn_id: str

    def set_connections(self, alibaba_cloud_conn_id: str, yunfleet_db_conn_id: str) -> None:
        """Remember the two connection ids every Yunfleet hook is built from."""
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id

    def connection_params(self) -> dict[str, Any]:
        """The connection ids as hook (and trigger) keyword arguments."""
        return {
            "alibaba_cloud_conn_id": self.alibaba_cloud_conn_id,
            "yunfleet_db_conn_id": self.yunfleet_db_conn_id,
        }

    def hook_params(self) -> dict[str, Any]:
        """Keyword arguments of the hook."""
        return self.connection_params()

    @cached_property
    def hook(self) -> Any:
        return hook_class(self.product)(**self.hook_params())


class YunfleetBaseOperator(HookOwner, BaseOperator):
    """Base of every Yunfleet operator: connection ids, dry run, the audit context, the hook.

    :param alibaba_cloud_conn_id: the ``alibaba_cloud`` connection (default ``alibaba_cloud_default``).
    :param yunfleet_db_conn_id: the registry and audit store connection.
    :param dry_run: make no mutating call; write ``dry_run`` audit rows instead.
    """

    def __init__(
        self,
        *,
        alibaba_cloud_conn_id: str = ALIBABA_CLOUD_CONN_ID,
        yunfleet_db_conn_id: str = YUNFLEET_DB_CONN_ID,
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.set_connections(alibaba_cloud_conn_id, yunfleet_db_conn_id)
        self.dry_run = dry_run
        self._audit_context: AuditContext | None = None

    @property
    def is_dry_run(self) -> bool:
        return as_bool(self.dry_run)

    def bind_context(self, context: Any) -> None:
        """Remember who runs this task (ticket, actor, task identity) for the hook's audit rows and
        drop the cached hook so the next use builds one with that context."""
        from operators.utils.audit import AuditContext

        self._audit_context = AuditContext.from_airflow_context(context)
        self.__dict__.pop("hook", None)

    def hook_params(self) -> dict[str, Any]:
        return {**super().hook_params(), "dry_run": self.is_dry_run, "audit_context": self._audit_context}


def yunfleet_template_fields(*fields: str) -> tuple[str, ...]:
    """The operator's own template fields plus the ones every Yunfleet operator has."""
    return tuple(sorted({*fields, "alibaba_cloud_conn_id", "dry_run"}))


class AlibabaCloudBaseOperator(YunfleetBaseOperator):
    """Base for operators that call Alibaba Cloud through one product's hook.

    :param region_id: overrides the connection's ``region_id``.
    :param wait_for_completion: wait until the change has taken effect.
    :param poll_interval: seconds between checks while waiting.
    :param max_attempts: checks before giving up.
    :param deferrable: wait in the triggerer instead of the worker.
    """

    template_fields: Sequence[str] = yunfleet_template_fields()
    ui_color = "#ff6a00"

    def __init__(
        self,
        *,
        region_id: str | None = None,
        wait_for_completion: bool = True,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
        deferrable: bool = DEFAULT_DEFERRABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.region_id = region_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.deferrable = deferrable

    def hook_params(self) -> dict[str, Any]:
        return {**super().hook_params(), "region_id": self.region_id}
