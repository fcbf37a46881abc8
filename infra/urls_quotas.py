"""Quotas: a project's quotas and requests (tenant pages); the operators' request queue, a project's limits and a
region's defaults (back office)."""

from django.urls import path

from infra import backoffice_quotas, views_quotas

urlpatterns = [
    path("o/<slug:org_slug>/<slug:project_slug>/quotas/", views_quotas.project_quotas, name="quotas"),
    path(
        "o/<slug:org_slug>/<slug:project_slug>/quotas/requests/<uuid:request_id>/withdraw/",
        views_quotas.quota_request_cancel,
        name="quota_request_cancel",
    ),
    path("operators/quota-requests/", backoffice_quotas.requests, name="operator_quota_requests"),
    path(
        "operators/quota-requests/<uuid:request_id>/",
        backoffice_quotas.request_detail,
        name="operator_quota_request",
    ),
    path(
        "operators/projects/<uuid:project_id>/quotas/",
        backoffice_quotas.project_quotas,
        name="operator_project_quotas",
    ),
    path(
        "operators/regions/<slug:region_slug>/quotas/",
        backoffice_quotas.region_defaults,
        name="operator_region_quotas",
    ),
]
