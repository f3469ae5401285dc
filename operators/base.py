"""What every Yunfleet operator shares: connection ids, dry-run, template fields, the hook."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from include.errors import ConfigurationError
from operators.defaults import DEFAULT_DEFERRABLE

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


def import_class(path: str) -> Any:
    """Import ``package.module.Name``; operators name their hook this way so that importing an
    operator module does not import the hook, its SDK or the registry."""
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def bind_audit_context(operator: Any, context: Any) -> None:
    """Remember who runs the task (ticket, actor, task identity) for the hook's audit rows and
    drop the cached hook so the next use builds one with that context."""
    from operators.utils.audit import AuditContext

    operator._audit_context = AuditContext.from_airflow_context(context)
    operator.__dict__.pop("hook", None)


def yunfleet_template_fields(*fields: str) -> tuple[str, ...]:
    """The operator's own template fields plus the ones every Yunfleet operator has."""
    return tuple(sorted({*fields, "alibaba_cloud_conn_id", "dry_run"}))


class AlibabaCloudBaseOperator(BaseOperator):
    """Base for operators that call Alibaba Cloud through one hook class.

    :param alibaba_cloud_conn_id: the ``alibaba_cloud`` connection (default ``alibaba_cloud_default``).
    :param region_id: overrides the connection's ``region_id``.
    :param dry_run: make no mutating call; write ``dry_run`` audit rows instead.
    :param yunfleet_db_conn_id: the registry and audit store connection.
    :param wait_for_completion: wait until the change has taken effect.
    :param poll_interval: seconds between checks while waiting.
    :param max_attempts: checks before giving up.
    :param deferrable: wait in the triggerer instead of the worker.
    """

    #: the hook's dotted path (``operators.hooks.ecs.EcsHook``), imported when the hook is built
    hook_class: str | None = None
    template_fields: Sequence[str] = yunfleet_template_fields()
    ui_color = "#ff6a00"

    def __init__(
        self,
        *,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        region_id: str | None = None,
        dry_run: bool | str = False,
        yunfleet_db_conn_id: str = "yunfleet_db",
        wait_for_completion: bool = True,
        poll_interval: float = 5.0,
        max_attempts: int = 120,
        deferrable: bool = DEFAULT_DEFERRABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.region_id = region_id
        self.dry_run = dry_run
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.deferrable = deferrable
        self._audit_context: AuditContext | None = None

    def bind_context(self, context: Any) -> None:
        """Remember who runs this task (ticket, actor, task identity) for the hook's audit rows."""
        bind_audit_context(self, context)

    @property
    def is_dry_run(self) -> bool:
        return as_bool(self.dry_run)

    @cached_property
    def hook(self) -> Any:
        if self.hook_class is None:
            raise ConfigurationError(f"{type(self).__name__} does not set hook_class")
        return import_class(self.hook_class)(
            self.alibaba_cloud_conn_id,
            region_id=self.region_id,
            dry_run=self.is_dry_run,
            yunfleet_db_conn_id=self.yunfleet_db_conn_id,
            audit_context=self._audit_context,
        )
