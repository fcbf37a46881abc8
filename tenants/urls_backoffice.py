"""The operators' back office (/operators/…) and an organisation's activity log (/o/<org>/-/activity/…)."""

from django.urls import path

from tenants.views import activity, backoffice

urlpatterns = [
    path("operators/", backoffice.organizations, name="operator_organizations"),
    path("operators/organizations/<uuid:pk>/", backoffice.organization_detail, name="operator_organization"),
    path(
        "operators/organizations/<uuid:pk>/suspend/",
        backoffice.organization_suspend,
        name="operator_organization_suspend",
    ),
    path(
        "operators/organizations/<uuid:pk>/resume/",
        backoffice.organization_resume,
        name="operator_organization_resume",
    ),
    path("operators/activity/", backoffice.activity, name="operator_activity"),
    path("o/<slug:org_slug>/-/activity/", activity.activity, name="activity"),
    path("o/<slug:org_slug>/-/activity.csv", activity.activity_export, name="activity_export"),
]
