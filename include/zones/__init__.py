"""Zone health and failover, the pure core: probes, the per-zone state machine, guard rails, SLB weight
plans, and evacuation records.

No Airflow and no cloud calls: the flows read the cloud and Kubernetes APIs into the observation
dataclasses of :mod:`include.zones.probes`, and act on the decisions and plans these modules return.

- :mod:`include.zones.settings`: :class:`ZoneHealthSettings`, every threshold and its source.
- :mod:`include.zones.probes`: observations -> one :class:`ZoneProbe` (good | bad | unknown) per zone.
- :mod:`include.zones.machine`: healthy -> suspect -> failed -> recovering -> healthy, with hysteresis.
- :mod:`include.zones.guards`: the all-zones-failed hold and the capacity guard.
- :mod:`include.zones.weights`: ``SetBackendServers`` plans to evacuate and gradually restore a zone.
- :mod:`include.zones.evacuation`: the evacuation record, its expiry and manual-over-auto precedence.
"""
