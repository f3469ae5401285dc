"""The run lifecycle every mutating Yunfleet DAG shares, written once.

A mutating run goes: **entry** (its conf is checked against the DAG's declared params, then the
family's own first step, usually the per-cluster lock) → validate and plan → **show_plan** (the plan
in the log; a dry run writes ``dry_run`` audit rows, marks itself done and stops) → apply → **finish**
(releases the lock, sends the signed callback, and fails the run with a report of what failed and
what exists). A family describes itself with a :class:`Lifecycle`; ``finish`` reads the DAG's task
ids, so a renamed or added task is reported without a second list.

Every task body is wrapped by :func:`reported`: a failing step pushes its one-line error to XCom
(key ``yunfleet_error``) for the final report, and a permanent cloud error fails the task without
Airflow retries (the hook already retried what was transient).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from airflow.sdk import task

from flows import hooks
from include.fleet.conf_keys import conf_error
from include.fleet.contract import ERROR_XCOM_KEY

log = logging.getLogger(__name__)

CALLBACK_CONN_ID = "yunfleet_callback"
#: XCom key of a failed step's one-line error (the sensors push it too)
ERROR_KEY = ERROR_XCOM_KEY
#: XCom key ``show_plan`` pushes when a dry run stopped after the plan as intended
DRY_RUN_KEY = "yunfleet_dry_run_done"

F = TypeVar("F", bound=Callable[..., Any])


# -- context helpers -------------------------------------------------------------------------------


def params_of(context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's params (conf merged over the DAG's defaults) as a plain dict."""
    return dict(context["params"])


def fail(message: str) -> NoReturn:
    """Fail the task without retries (the input or the situation is wrong, not the weather)."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def pull(ti: Any, task_id: str, key: str = "return_value") -> Any:
    """An XCom of ``task_id`` in this run, or ``None`` when that task never pushed it."""
    try:
        return ti.xcom_pull(task_ids=task_id, key=key)
    except Exception:  # a task that never ran has nothing to pull
        return None


def task_states(context: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each task of this run with the states of its task instances now (every map index of a mapped task).

    XComs outlive a cleared try: a task that did not run again in this try (``upstream_failed``)
    still shows the value and error it pushed before, so the run's report reads a task's XComs
    only when its current state says it ran in this try. States come from the Task SDK's
    ``get_task_states`` (the execution API); ``"none"`` for a task instance without a state.
    """
    ti = context["ti"]
    dag = context["dag"]
    run_id = context["run_id"]
    raw = ti.get_task_states(dag_id=dag.dag_id, run_ids=[run_id]).get(run_id, {})
    ids = set(dag.task_ids)
    states: dict[str, set[str]] = {}
    for key, state in raw.items():
        # mapped task instances come as "<task_id>_<map_index>"
        task_id = key if key in ids else key.rsplit("_", 1)[0]
        states.setdefault(task_id, set()).add(str(state) if state else "none")
    return states


class ThisTry:
    """A task instance's ``xcom_pull`` that sees only tasks which ran in the run's current try.

    A task whose instances are neither ``success`` nor ``failed`` now (``upstream_failed``,
    ``skipped``, not run) answers ``None``, whatever an earlier try of the run left behind.
    """

    def __init__(self, ti: Any, states: Mapping[str, set[str]]) -> None:
        self.ti = ti
        self.states = states

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        if not self.states.get(task_ids, set()) & {"success", "failed"}:
            return None
        return self.ti.xcom_pull(task_ids=task_ids, key=key)


def flatten(value: Any) -> list[Any]:
    """XCom values of a task as a list: a mapped task's values, or the one value; ``None``s dropped."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    try:
        return [v for v in list(value) if v is not None]
    except TypeError:
        return [value]


# -- error report ----------------------------------------------------------------------------------


@contextmanager
def reporting(context: Mapping[str, Any]) -> Iterator[None]:
    """Push a failing step's one-line error to XCom (key ``yunfleet_error``) for the final report."""
    from include.errors import PermanentCloudError

    try:
        yield
    except Exception as exc:
        try:
            context["ti"].xcom_push(key=ERROR_KEY, value=f"{type(exc).__name__}: {exc}"[:1000])
        except Exception:  # reporting must never hide the original error
            log.exception("could not record the error of this step")
        if isinstance(exc, PermanentCloudError):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc
        raise


def reported(fn: F) -> F:
    """Run a task body inside :func:`reporting`; keeps ``fn``'s signature so TaskFlow passes context."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **context: Any) -> Any:
        with reporting(context):
            return fn(*args, **context)

    return wrapper  # type: ignore[return-value]


# -- entry: the run's conf -------------------------------------------------------------------------


def check_conf(context: Mapping[str, Any]) -> None:
    """Fail the run's first task, before any cloud call, when its conf has keys the DAG does not declare."""
    dag_run = context.get("dag_run")
    conf = dict(getattr(dag_run, "conf", None) or {})
    error = conf_error(conf, context["dag"].params.keys(), context["dag"].dag_id)
    if error:
        fail(error)


def entry(fn: F) -> F:
    """The first task of a mutating DAG: conf checked against the declared params, then ``fn``, reported."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **context: Any) -> Any:
        with reporting(context):
            check_conf(context)
            return fn(*args, **context)

    wrapper.yunfleet_entry = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


# -- lock ------------------------------------------------------------------------------------------


def lock_cluster(
    context: Mapping[str, Any],
    cluster: str,
    region_id: str,
    ticket_id: str,
    busy_state: str,
    spec: dict[str, Any] | None,
) -> dict[str, Any]:
    """Take the per-cluster run lock (the cluster's registry row); fails clearly when another run holds it.

    Returns the lock as JSON (``LockInfo.to_json``) for the next tasks and ``finish``.
    """
    from include.provisioning.lock import ClusterBusy, acquire

    domain = str(hooks.cloud_extra().get("dns_domain") or "")
    if not domain:
        fail("connection alibaba_cloud_default has no extra 'dns_domain'; set the fleet's DNS domain")
    try:
        lock = acquire(
            hooks.registry().engine,
            cluster=cluster,
            run_id=context["run_id"],
            busy_state=busy_state,
            region_id=region_id,
            domain=domain,
            ticket_id=ticket_id,
            request=spec,
        )
    except ClusterBusy as exc:
        fail(str(exc))
    log.info("lock on %s taken (previous state %s)", cluster, lock.previous_state)
    return lock.to_json()


# -- plan display and dry run ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedAction:
    """One action of a plan as the dry run records it: an audit row with outcome ``dry_run``."""

    product: str
    action: str
    target: str
    request: dict[str, Any]
    #: the cluster the action is for, when it differs from the run's (fleet-wide runs)
    cluster: str | None = None


def show_plan(
    context: Mapping[str, Any], cluster: str, lines: Sequence[str], actions: Sequence[PlannedAction]
) -> bool:
    """Log the plan; in a dry run write one ``dry_run`` audit row per action, mark the run done, stop.

    The return value is the short-circuit's: ``True`` lets the apply steps run.
    """
    log.info("plan for %s (%d steps):\n%s", cluster, len(lines), "\n".join(lines) or "nothing to do")
    if not params_of(context).get("dry_run"):
        return True
    record_dry_run(cluster, actions)
    log.info("dry run: stopping after the plan; %d dry_run audit rows written", len(actions))
    context["ti"].xcom_push(key=DRY_RUN_KEY, value=True)
    return False


def record_dry_run(cluster: str, actions: Sequence[PlannedAction]) -> None:
    from operators.utils.audit import AuditContext, AuditRecorder

    recorder = AuditRecorder(sink=hooks.registry().audit_store, context=AuditContext.current())
    for item in actions:
        recorder.record(
            product=item.product,
            action=item.action,
            outcome="dry_run",
            request=item.request,
            target=item.target,
            cluster=item.cluster or cluster or None,
        )


# -- finish ----------------------------------------------------------------------------------------


def _nothing_exists(ti: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class Lifecycle:
    """What ``finish`` needs to know about a family, besides the DAG's own task ids.

    :param done_task: the task whose result means the change is complete (e.g. ``register``)
    :param success_state: the cluster's registry state after success; ``None`` removes the row
    :param apply_tasks: tasks that change the cloud: if any ran, a failed run leaves state ``failed``
    :param what_exists: resources the run created or found, from the apply steps' XComs
    :param lock_task: the task that took the per-cluster lock; ``None`` for a fleet-wide family
        without one (its runs are serialised by ``max_active_runs=1`` instead)
    """

    done_task: str
    success_state: str | None
    apply_tasks: tuple[str, ...]
    what_exists: Callable[[Any], list[str]] = _nothing_exists
    lock_task: str | None = "take_lock"
    plan_task: str = "show_plan"


def finish(context: Mapping[str, Any], lifecycle: Lifecycle) -> dict[str, Any]:
    """Release the lock, send the callback, and fail the run with a report if it did not succeed.

    Returns ``{"outcome": "success", "message": ...}``; a failed run raises with the message, which
    names every step's error and what exists now.
    """
    from include.provisioning.lock import LockInfo, release

    ti = context["ti"]
    dag = context["dag"]
    params = params_of(context)
    cluster = str(params.get("cluster_name") or "")
    states = task_states(context)
    this_try = ThisTry(ti, states)
    lock_json = pull(this_try, lifecycle.lock_task) if lifecycle.lock_task else None
    done = states.get(lifecycle.done_task) == {"success"} and pull(this_try, lifecycle.done_task) is not None
    dry_run = bool(pull(this_try, lifecycle.plan_task, DRY_RUN_KEY))
    applied = any(pull(this_try, t) is not None for t in lifecycle.apply_tasks)
    failed = [t for t in dag.task_ids if t != ti.task_id and "failed" in states.get(t, set())]
    errors = [f"{t}: {e}" for t in failed for e in flatten(pull(this_try, t, ERROR_KEY))]
    if failed and not errors:
        errors = [f"{t}: failed (see its log)" for t in failed]
    outcome = "success" if done or dry_run else "failed"
    if lock_json:
        lock = LockInfo.from_json(lock_json)
        if done:
            final = lifecycle.success_state
        elif applied:
            final = "failed"
        else:
            final = lock.previous_state
        left = release(hooks.registry().engine, cluster=cluster, run_id=lock.run_id, final_state=final)
        log.info("lock on %s released; state %s", cluster, left)
    exists = lifecycle.what_exists(this_try)
    may_have_changed = bool(lock_json) or (lifecycle.lock_task is None and applied)
    message = report_message(outcome, dry_run, errors, exists, may_have_changed)
    details = {"exists": exists, "errors": errors, "dry_run": dry_run}
    send_callback(context, dag.dag_id, cluster, params.get("ticket_id", ""), outcome, message, details)
    if outcome != "success":
        fail(message)
    log.info(message)
    return {"outcome": outcome, "message": message}


def finish_task(lifecycle: Lifecycle) -> Any:
    """The ``finish`` task of a family: runs whatever happened upstream, never retried."""

    @task(trigger_rule="all_done", retries=0)
    def finish(**context: Any) -> dict[str, Any]:
        """Release the lock, send the signed callback, report the outcome."""
        return _finish(context, lifecycle)

    return finish


_finish = finish


def report_message(outcome: str, dry_run: bool, errors: list[str], exists: list[str], locked: bool) -> str:
    """The run's one-paragraph outcome: what failed, and what exists now if anything was changed."""
    if outcome == "success":
        return "dry run: plan shown, nothing changed" if dry_run else "done"
    text = "failed: " + ("; ".join(errors) if errors else "a step failed (see its log)")
    if not locked:
        return text + "; nothing was changed"
    if exists:
        text += "; exists now: " + ", ".join(exists) + "; re-run to converge or decommission to clean up"
    return text


# -- callback --------------------------------------------------------------------------------------


def send_callback(
    context: Mapping[str, Any],
    dag_id: str,
    cluster: str,
    ticket_id: str,
    outcome: str,
    message: str,
    details: dict[str, Any],
) -> bool:
    """POST the signed outcome to ``callback_url`` (if any); failures are logged, never raised.

    The HMAC secret is the password of connection ``yunfleet_callback`` (or ``$YUNFLEET_CALLBACK_CONN_ID``).
    """
    url = params_of(context).get("callback_url")
    if not url:
        return False
    import httpx
    from airflow.sdk import BaseHook
    from tenacity import retry, stop_after_attempt, wait_exponential

    from include.provisioning.callback import SIGNATURE_HEADER, callback_body, sign

    conn_id = os.environ.get("YUNFLEET_CALLBACK_CONN_ID", CALLBACK_CONN_ID)
    try:
        secret = BaseHook.get_connection(conn_id).password
    except Exception:
        secret = None
    if not secret:
        log.error("callback not sent: connection %s with the HMAC secret as password is missing", conn_id)
        return False
    body = callback_body(
        dag_id=dag_id,
        run_id=context["run_id"],
        cluster=cluster,
        ticket_id=ticket_id,
        outcome=outcome,
        message=message,
        details=details,
    )

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
    def post() -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
        response = httpx.post(url, content=body, headers=headers, timeout=10.0)
        response.raise_for_status()

    try:
        post()
    except httpx.HTTPError as exc:
        log.error("callback to %s failed: %s", url, exc)
        return False
    log.info("callback sent to %s (%s)", url, outcome)
    return True
