"""The interactive API docs (Swagger UI from drf-spectacular-sidecar, served from our static files).

The split view loads its set-up script as a file, so the page needs no inline script under our Content-Security-
Policy; Swagger UI's stylesheet is a file too. Its page template has one small inline style block, which the CSP
refuses harmlessly (page margins).
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    title = "Haneul API"
