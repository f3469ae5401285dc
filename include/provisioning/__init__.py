"""The provisioning domain: params schema, validation, planning, user-data, PKI, quality gate.

No Airflow imports: the DAGs, the ``yunfleet`` command and the tests all use it directly.
"""
