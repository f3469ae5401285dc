"""Conf keys a DAG run may carry: only the DAG's declared params.

Airflow accepts conf keys a DAG does not declare and ignores them, so a mistyped ``dryrun`` would
let a run act for real. Yunfleet refuses such keys at the REST API (the ``conf_guard`` plugin) and
again in each mutating DAG's first task (for runs that bypass the API, e.g. ``airflow dags test``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from include.provisioning.params import pool_size_errors

#: Rules between fields of a DAG's conf that its per-param JSON schemas cannot state, by DAG id;
#: each gives one line per broken rule. Kept out of the ``Param`` schemas: Airflow validates every
#: task's copy of the params against its schema when it serializes a DAG, so an expanded rule set
#: there costs seconds of DAG-processor time per parse.
CROSS_FIELD_RULES: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "provision_cluster": pool_size_errors,
}

#: how alike a key must be to a declared one to be suggested (``difflib`` ratio, 0..1)
SUGGESTION_CUTOFF = 0.6


def unknown_conf_keys(conf: Mapping[str, Any], declared: Iterable[str]) -> list[str]:
    """One message per key of ``conf`` that is not a declared param, naming the closest declared key.

    >>> unknown_conf_keys({"dryrun": True}, ["dry_run", "ticket_id"])
    ["unknown key 'dryrun'; did you mean 'dry_run'?"]

    Returns ``[]`` when every key is declared; messages are sorted by key.
    """
    names = list(declared)
    messages = []
    for key in sorted(set(conf) - set(names)):
        close = difflib.get_close_matches(key, names, n=1, cutoff=SUGGESTION_CUTOFF)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        messages.append(f"unknown key {key!r}{hint}")
    return messages


def conf_error(conf: Mapping[str, Any], declared: Iterable[str], dag_id: str = "") -> str | None:
    """The one-line refusal for a run's conf, or ``None`` when every key is declared and the DAG's
    cross-field rules (:data:`CROSS_FIELD_RULES`) hold.

    >>> conf_error({"node_pools": [{"min_size": 3, "desired_size": 3, "max_size": 2}]},
    ...            ["node_pools"], "provision_cluster")
    'invalid conf, nothing was changed: node_pools[0]: max_size must be at least min_size'
    """
    names = sorted(declared)
    unknown = unknown_conf_keys(conf, names)
    if unknown:
        return (
            "invalid conf, nothing was changed: "
            + "; ".join(unknown)
            + f" (declared params: {', '.join(names)})"
        )
    rule = CROSS_FIELD_RULES.get(dag_id)
    broken = rule(conf) if rule else []
    return "invalid conf, nothing was changed: " + "; ".join(broken) if broken else None
