"""infra's console pages, one module per feature (tenant pages under /o/<org>/<project>/…, operators' under
/operators/…)."""

from django.urls import include, path

urlpatterns = [
    path("", include("infra.urls_backoffice")),
    path("", include("infra.urls_backoffice_servers")),
    path("", include("infra.urls_catalog")),
    path("", include("infra.urls_keypairs")),
    path("", include("infra.urls_quotas")),
    path("", include("infra.urls_launch")),
    path("", include("infra.urls_servers")),
    path("", include("infra.urls_server")),
    path("", include("infra.urls_regions")),
]
