"""Table tests of the zone health and failover core."""
