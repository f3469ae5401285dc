"""Simulated ECS 2014-05-26 (instances, security groups, VPCs and vSwitches, zones and stock)."""
