"""The sandbox region: an embedded cloud with its own tables (app label `sandbox`), the default provider."""
