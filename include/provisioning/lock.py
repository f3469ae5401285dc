"""The per-cluster run lock: at most one provisioning or decommissioning run per cluster name.

The lock is the cluster's registry row itself: a run takes it by moving the row to ``provisioning``
(or ``decommissioning``) with a conditional UPDATE, or by inserting the row (the unique name decides a
race). A second run for the same name finds the row held by another run id and fails at once, before
any cloud call. A run releases the lock when it ends, whatever the outcome.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from include.registry.models import Cluster

BUSY_STATES = ("provisioning", "decommissioning")


class ClusterBusy(RuntimeError):
    """Another run holds the cluster's lock."""


@dataclass(frozen=True)
class LockInfo:
    cluster: str
    run_id: str
    #: The state the row had before this run took it (``None``: the row did not exist).
    previous_state: str | None
    #: The spec registered before this run (``None`` for a new name).
    previous_spec: dict[str, Any] | None
    #: Random id of this incarnation of the name; seeds the ClientTokens.
    generation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "run_id": self.run_id,
            "previous_state": self.previous_state,
            "previous_spec": self.previous_spec,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(**data)


def _holder(row: Cluster) -> dict[str, Any]:
    lock = (row.spec or {}).get("lock")
    return lock if isinstance(lock, dict) else {}


def acquire(
    engine: Engine,
    *,
    cluster: str,
    run_id: str,
    busy_state: str,
    region_id: str,
    domain: str,
    ticket_id: str,
    request: dict[str, Any] | None = None,
) -> LockInfo:
    """Take the lock of ``cluster`` for ``run_id`` or raise :class:`ClusterBusy`.

    Taking it again from the same run (a task retry) returns the original :class:`LockInfo`.
    ``request`` is stored as the spec of a name seen for the first time.
    """
    if busy_state not in BUSY_STATES:
        raise ValueError(f"busy_state must be one of {BUSY_STATES}")
    for _ in range(3):
        with Session(engine) as session, session.begin():
            row = session.scalar(select(Cluster).where(Cluster.name == cluster))
            if row is None:
                generation = secrets.token_hex(6)
                lock: dict[str, Any] = {
                    "run_id": run_id,
                    "ticket_id": ticket_id,
                    "previous_state": None,
                    "previous_spec": None,
                }
                spec = {**(request or {}), "generation": generation, "lock": lock}
                session.add(
                    Cluster(
                        name=cluster,
                        region_id=region_id,
                        domain=domain,
                        state=busy_state,
                        spec=spec,
                        endpoints={},
                        ticket_id=ticket_id,
                    )
                )
                try:
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    continue  # lost a race with another insert: look again
                return LockInfo(cluster, run_id, None, None, generation)
            holder = _holder(row)
            generation = str((row.spec or {}).get("generation") or "")
            if row.state in BUSY_STATES:
                if holder.get("run_id") == run_id:
                    return LockInfo(
                        cluster,
                        run_id,
                        holder.get("previous_state"),
                        holder.get("previous_spec"),
                        generation,
                    )
                raise ClusterBusy(
                    f"cluster {cluster!r} is busy: run {holder.get('run_id')!r} "
                    f"(ticket {holder.get('ticket_id')!r}) is {row.state} it; "
                    "this run changed nothing; try again when that run has finished"
                )
            previous_state = row.state
            previous_spec = {k: v for k, v in (row.spec or {}).items() if k not in ("lock", "generation")}
            if not generation:
                generation = secrets.token_hex(6)
            lock = {
                "run_id": run_id,
                "ticket_id": ticket_id,
                "previous_state": previous_state,
                "previous_spec": previous_spec,
            }
            new_spec = {**(row.spec or {}), "generation": generation, "lock": lock}
            result = session.execute(
                update(Cluster)
                .where(Cluster.id == row.id, Cluster.state == previous_state)
                .values(state=busy_state, spec=new_spec)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return LockInfo(cluster, run_id, previous_state, previous_spec, generation)
        # the state moved under us: read again
    raise ClusterBusy(f"cluster {cluster!r} is busy: its registry row keeps changing; try again later")


def release(engine: Engine, *, cluster: str, run_id: str, final_state: str | None) -> str | None:
    """Give the lock back; returns the state left behind.

    ``final_state`` ``None`` removes the row (a run that failed before changing anything for a name
    that was not registered before, or a finished decommission). Does nothing when another run holds
    the lock or the row is gone.
    """
    with Session(engine) as session, session.begin():
        row = session.scalar(select(Cluster).where(Cluster.name == cluster))
        if row is None or _holder(row).get("run_id") != run_id:
            return row.state if row is not None else None
        if final_state is None:
            session.delete(row)
            return None
        row.spec = {k: v for k, v in (row.spec or {}).items() if k != "lock"}
        row.state = final_state
        return final_state


def holder(engine: Engine, cluster: str) -> dict[str, Any] | None:
    """The lock holder of ``cluster`` (``run_id``, ``ticket_id``, ...) or ``None`` when free."""
    with Session(engine) as session:
        row = session.scalar(select(Cluster).where(Cluster.name == cluster))
        if row is None or row.state not in BUSY_STATES:
            return None
        return _holder(row) or None
