"""Simulated Classic Load Balancer (SLB 2014-05-15): load balancers, TCP listeners, backends."""
