"""infra's API endpoints (/api/v1/…), one module per feature; `console.urls` mounts them beside tenants'."""
