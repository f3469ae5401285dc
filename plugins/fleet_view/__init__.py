"""The Fleet view: a FastAPI app served by the Airflow API server at ``/yunfleet``.

``app`` (the routes, the page and the static files), ``security`` (Airflow's own authentication and
authorization, used at request time), ``sources`` (the registry, the cloud connection, the DNS zone
and the clusters, as the API server reaches them), ``live`` (bounded live reads with a cache),
``schemas`` (the JSON API's response models). Registered by ``plugins/fleet_view_plugin.py``; the
queries themselves are in ``include/fleetview``. Importing this package imports nothing else.
"""
