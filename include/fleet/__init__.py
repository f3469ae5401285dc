"""Facts about a Yunfleet fleet that hold for every DAG family (see ``contract``)."""
