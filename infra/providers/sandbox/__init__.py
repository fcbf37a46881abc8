"""The sandbox region: an embedded cloud with its own tables (app label `sandbox`), the default provider.

`driver.SandboxDriver` is its `CloudDriver`; the driver module's docstring lists the region settings (speed,
timings, latency_ms, error_rate, seed, outage, faults, default_quotas, public_network/public_cidr, dedupe_requests).
"""
