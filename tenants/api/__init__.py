"""The REST API under /api/v1/: the same actions as the console, for scripts and tools.

Building blocks any app's endpoints reuse (e.g. later `/api/v1/projects/<uuid>/servers/`):
`authentication` (API tokens, sessions), `scope` (an organisation or project by UUID for the caller, or 404; the
actor with the token's role ceiling), `errors` (JSON errors), `pagination`, `idempotency` (`@idempotent` on a
create), `throttling` and `permissions`.
"""
