"""Audit plumbing for hooks: who is calling (task, ticket, actor) and where rows go."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from include.audit import AuditRecord, Redactor
from include.errors import CloudError
from include.fleet.contract import TaskIdentity

log = logging.getLogger(__name__)

T = TypeVar("T")


class AuditSink(Protocol):
    """Anything that stores audit rows (``include.audit.AuditStore`` does)."""

    def write(self, record: AuditRecord) -> int: ...


@dataclass(frozen=True)
class AuditContext:
    """The caller of a mutating call: task identity, ticket id and the run's triggering user."""

    identity: TaskIdentity = field(default_factory=TaskIdentity)
    ticket_id: str | None = None
    actor: str | None = None

    @classmethod
    def from_airflow_context(cls, context: Mapping[str, Any] | None) -> AuditContext:
        """Build from a task's context: ticket from params/conf ``ticket_id``, actor from the run."""
        if not context:
            return cls()
        ti = context.get("ti") or context.get("task_instance")
        dag_run = context.get("dag_run")
        params = context.get("params") or {}
        conf = getattr(dag_run, "conf", None) or {}
        ticket = params.get("ticket_id") if hasattr(params, "get") else None
        ticket = ticket or (conf.get("ticket_id") if isinstance(conf, Mapping) else None)
        actor = getattr(dag_run, "triggering_user_name", None) or getattr(dag_run, "triggered_by", None)
        map_index = getattr(ti, "map_index", -1)
        identity = TaskIdentity(
            dag_id=getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
            run_id=getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
            task_id=getattr(ti, "task_id", None),
            map_index=map_index if isinstance(map_index, int) else -1,
            try_number=getattr(ti, "try_number", None),
        )
        return cls(
            identity=identity,
            ticket_id=str(ticket) if ticket else None,
            actor=str(getattr(actor, "value", actor)) if actor else None,
        )

    @classmethod
    def current(cls) -> AuditContext:
        """The running task's context, or an empty one outside a task."""
        try:
            from airflow.sdk import get_current_context

            return cls.from_airflow_context(get_current_context())
        except Exception:  # outside a task there is simply no context
            return cls()


@dataclass
class AuditRecorder:
    """Writes one redacted audit row per mutating call; never lets a secret through."""

    sink: AuditSink
    context: AuditContext
    redactor: Redactor = field(default_factory=Redactor)

    def record(
        self,
        *,
        product: str,
        action: str,
        outcome: str,
        request: Mapping[str, Any] | None = None,
        target: str | None = None,
        cluster: str | None = None,
        error_code: str | None = None,
        cloud_request_id: str | None = None,
    ) -> None:
        ident = self.context.identity
        row = AuditRecord(
            product=product,
            action=action,
            outcome=outcome,
            target=self.redactor.redact_text(target) if target else None,
            request=self.redactor.redact(dict(request or {})),
            error_code=error_code,
            cloud_request_id=cloud_request_id,
            cluster=cluster,
            dag_id=ident.dag_id,
            run_id=ident.run_id,
            task_id=ident.task_id,
            map_index=ident.map_index if ident.dag_id else None,
            try_number=ident.try_number,
            ticket_id=self.context.ticket_id,
            actor=self.context.actor,
        )
        self.sink.write(row)


def audited_call(
    recorder: Callable[[], AuditRecorder],
    call: Callable[[], T],
    *,
    product: str,
    action: str,
    request: Mapping[str, Any] | None = None,
    target: str | None = None,
    cluster: str | None = None,
    request_id_of: Callable[[T], str | None] | None = None,
) -> T:
    """Run one mutating call (retries included) and write its one audit row afterwards: ``ok``
    with the cloud request id (``request_id_of(result)``), or ``error`` with the final error's
    code and request id. ``recorder`` is asked for only when the row is written."""
    where: dict[str, Any] = {
        "product": product,
        "action": action,
        "request": request,
        "target": target,
        "cluster": cluster,
    }
    try:
        result = call()
    except CloudError as err:
        recorder().record(**where, outcome="error", error_code=err.code, cloud_request_id=err.request_id)
        raise
    request_id = request_id_of(result) if request_id_of is not None else None
    recorder().record(**where, outcome="ok", cloud_request_id=request_id)
    return result
