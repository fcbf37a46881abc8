"""infra's actions: the only code that changes regions' projects and tenants' resources (console and API alike)."""
