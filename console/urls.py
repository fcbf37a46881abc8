from django.urls import include, path

from console import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tenants.urls_account")),
    path("", include("tenants.urls_backoffice")),
    path("", include("tenants.urls")),
    path("o/<slug:org_slug>/<slug:project_slug>/", views.project_overview, name="project_overview"),
]

handler400 = "console.views.bad_request"
handler403 = "console.views.permission_denied"
handler404 = "console.views.page_not_found"
handler500 = "console.views.server_error"
