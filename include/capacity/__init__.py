"""The capacity planner: pod tier (HPA rule), node tier (bin-packing, scale-down), zone tier (balance).

Pure Python, no Airflow: :func:`include.capacity.plan.plan_capacity` turns a
:class:`include.capacity.model.Snapshot` into a :class:`include.capacity.model.CapacityPlan`.
"""
