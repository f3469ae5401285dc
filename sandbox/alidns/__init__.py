"""Simulated Alibaba Cloud DNS (Alidns 2015-01-09): domains, records, weighted round robin."""
