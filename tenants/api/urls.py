"""/api/v1/… endpoints, the OpenAPI schema (/api/schema/) and its interactive docs (/api/docs/), mounted at /api/
in the `api` namespace by console/urls.py (with the other apps' endpoints). Unknown /api/ addresses answer a JSON
404 (`console.urls` routes them last)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from tenants.api import views
from tenants.api.docs import ApiDocsView

org = "v1/organizations/<uuid:organization_id>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/me/notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("v1/me/notifications/read-all/", views.NotificationReadAllView.as_view(), name="notifications_read_all"),
    path(
        "v1/me/notifications/<uuid:notification_id>/read/",
        views.NotificationReadView.as_view(),
        name="notification_read",
    ),
    path("v1/organizations/", views.OrganizationListView.as_view(), name="organizations"),
    path(org, views.OrganizationDetailView.as_view(), name="organization"),
    path(f"{org}projects/", views.ProjectListView.as_view(), name="projects"),
    path("v1/projects/<uuid:project_id>/", views.ProjectDetailView.as_view(), name="project"),
    path(f"{org}members/", views.MemberListView.as_view(), name="members"),
    path(f"{org}members/<int:membership_id>/", views.MemberDetailView.as_view(), name="member"),
    path(
        f"{org}members/<int:membership_id>/transfer-ownership/",
        views.MemberTransferView.as_view(),
        name="member_transfer",
    ),
    path(f"{org}leave/", views.LeaveView.as_view(), name="leave"),
    path(f"{org}invitations/", views.InvitationListView.as_view(), name="invitations"),
    path(f"{org}invitations/<uuid:invitation_id>/", views.InvitationDetailView.as_view(), name="invitation"),
    path(
        f"{org}invitations/<uuid:invitation_id>/resend/",
        views.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path(
        f"{org}invitations/<uuid:invitation_id>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path(f"{org}tokens/", views.TokenListView.as_view(), name="tokens"),
    path(f"{org}tokens/<uuid:token_id>/", views.TokenDetailView.as_view(), name="token"),
    path(f"{org}tokens/<uuid:token_id>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
    path(f"{org}activity/", views.ActivityView.as_view(), name="activity"),
]
