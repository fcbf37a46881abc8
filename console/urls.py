from django.urls import include, path, re_path

from console import views
from infra.api import urls as infra_api
from tenants.api import urls as tenants_api
from tenants.api.errors import not_found as api_not_found

# One `api` namespace for every app's endpoints (each app lists its own; console, the top layer, joins them).
api_urlpatterns = [*tenants_api.urlpatterns, *infra_api.urlpatterns]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include((api_urlpatterns, "api"))),  # /api/v1/…, /api/schema/, /api/docs/
    path("", include("tenants.urls_account")),
    path("", include("tenants.urls_backoffice")),
    path("", include("infra.urls")),
    path("", include("tenants.urls_notifications")),
    path("", include("tenants.urls")),
    path("o/<slug:org_slug>/<slug:project_slug>/", views.project_overview, name="project_overview"),
    re_path(r"^api/", api_not_found),  # after every API route: unknown /api/ addresses answer a JSON 404
]

handler400 = "console.views.bad_request"
handler403 = "console.views.permission_denied"
handler404 = "console.views.page_not_found"
handler500 = "console.views.server_error"
