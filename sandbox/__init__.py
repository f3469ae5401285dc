"""A local Alibaba Cloud region (ECS, SLB, Alidns), DNS server and Kubernetes API for tests and demos.

Run it with ``python -m sandbox``; see docs/sandbox.md. Nothing in dags/, operators/ or include/
imports this package: they reach it only over the wire, like the real cloud.
"""
