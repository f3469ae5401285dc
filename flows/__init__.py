"""Task code of the Yunfleet DAGs: one module per DAG id, plus the run lifecycle they share.

Task X of DAG Y is the function X in ``flows/Y.py``. ``flows.run`` holds what every mutating DAG's
run goes through (conf check, lock, plan display and dry-run mark, error report, finish, signed
callback); ``flows.defaults`` the DAG-level defaults; ``flows.hooks`` the hook factories.

Modules here are imported when a DAG file is parsed: at top level they import only ``airflow.sdk``
and ``include``; hooks, SDKs and clients are imported inside the task bodies.
"""
