"""What the Fleet view and its JSON API show, read from the fleet registry and audit store.

Pure queries and aggregations (SQLAlchemy on the registry's engine, no Airflow), one module per
section of the view: ``clusters``, ``zones``, ``capacity``, ``registrations``, ``audit``, plus
``times`` (parsing ``since``/``until``) and ``kubeconfig``. The Airflow plugin
(``plugins/fleet_view``) serves them; this package is imported by nothing at its top level, so each
caller pays only for the modules it uses.
"""
