"""Organisations, projects, members and invitations. Organisation pages live under `/o/<org>/-/` so that no
project slug can shadow them; project pages under `/o/<org>/<project>/`."""

from django.urls import path

from tenants.views import members, orgs, tokens

urlpatterns = [
    path("orgs/new/", orgs.organization_create, name="organization_create"),
    path("invitations/<str:token>/", members.invitation_accept, name="invitation_accept"),
    path("o/<slug:org_slug>/", orgs.organization_overview, name="organization_overview"),
    path("o/<slug:org_slug>/-/settings/", orgs.organization_settings, name="organization_settings"),
    path("o/<slug:org_slug>/-/projects/new/", orgs.project_create, name="project_create"),
    path("o/<slug:org_slug>/-/members/", members.members, name="members"),
    path("o/<slug:org_slug>/-/members/<int:membership_id>/role/", members.member_role, name="member_role"),
    path("o/<slug:org_slug>/-/members/<int:membership_id>/remove/", members.member_remove, name="member_remove"),
    path("o/<slug:org_slug>/-/members/<int:membership_id>/transfer/", members.member_transfer, name="member_transfer"),
    path("o/<slug:org_slug>/-/leave/", members.organization_leave, name="organization_leave"),
    path(
        "o/<slug:org_slug>/-/invitations/<uuid:invitation_id>/resend/",
        members.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "o/<slug:org_slug>/-/invitations/<uuid:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("o/<slug:org_slug>/-/api-tokens/", tokens.api_tokens, name="api_tokens"),
    path(
        "o/<slug:org_slug>/-/api-tokens/<uuid:token_id>/revoke/",
        tokens.api_token_revoke,
        name="api_token_revoke",
    ),
    path("o/<slug:org_slug>/<slug:project_slug>/settings/", orgs.project_settings, name="project_settings"),
]
