"""Haneul's local OpenStack harness: what a control plane without hypervisors or network agents needs."""
