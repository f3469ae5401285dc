"""Cross-cluster Service registration in the fleet's DNS zone: names, ownership, health, the plan.

Pure Python (no Airflow, no SDK): ``flows.register_services`` observes through the hooks and hands
the observations to :func:`include.services.plan.plan_registrations`. See docs/service-registry.md.
"""
