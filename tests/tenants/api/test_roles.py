"""The API applies the console's rules through the same actions: roles, suspension, last owner, audit rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tenants.models import AuditEvent, Invitation, Membership, Organization, Project, Role
from tests.tenants.api.conftest import client_for, session_client, token_client

pytestmark = pytest.mark.django_db


def org_url(tenant, suffix: str = "") -> str:
    return f"/api/v1/organizations/{tenant.organization.pk}/{suffix}"


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("admin", True), ("member", False), ("viewer", False)])
def test_creating_projects_needs_owner_or_admin(tenant_a, auth_kind, role, allowed):
    response = client_for(auth_kind, tenant_a, role).post(
        org_url(tenant_a, "projects/"), {"name": "New"}, format="json"
    )
    assert response.status_code == (201 if allowed else 403)
    assert Project.objects.filter(name="New").exists() is allowed
    if allowed:
        event = AuditEvent.objects.get(action="project.create")
        assert (event.via, event.actor.email) == ("api", f"{role}@studio-a.example.com")
        assert response["Location"] == f"/api/v1/projects/{response.json()['id']}/"


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_member_reads_the_organization_projects_and_members(tenant_a, role):
    client = token_client(tenant_a, role)
    assert client.get(org_url(tenant_a)).json()["role"] == role
    assert client.get(org_url(tenant_a, "projects/")).json()["count"] == 1
    assert client.get(f"/api/v1/projects/{tenant_a.project.pk}/").json()["slug"] == "main"
    assert client.get(org_url(tenant_a, "members/")).json()["count"] == 4


def test_viewer_cannot_change_a_project(tenant_a):
    response = token_client(tenant_a, "viewer").patch(
        f"/api/v1/projects/{tenant_a.project.pk}/", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 403
    assert Project.objects.get(pk=tenant_a.project.pk).name == "Main"


def test_admin_changes_and_deletes_a_project(tenant_a):
    client = token_client(tenant_a, "admin")
    url = f"/api/v1/projects/{tenant_a.project.pk}/"
    response = client.patch(url, {"description": "Live servers"}, format="json")
    assert response.status_code == 200
    assert response.json()["description"] == "Live servers" and response.json()["name"] == "Main"
    assert client.delete(url).status_code == 204
    assert not Project.objects.filter(pk=tenant_a.project.pk).exists()


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_owners_manage_members(tenant_a, role):
    client = token_client(tenant_a, role)
    target = tenant_a.membership("viewer" if role != "viewer" else "member")
    url = org_url(tenant_a, f"members/{target.pk}/")
    assert client.patch(url, {"role": "admin"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert client.post(f"{url}transfer-ownership/").status_code == 403
    assert Membership.objects.get(pk=target.pk).role == target.role


def test_owner_changes_a_role_removes_a_member_and_transfers_ownership(tenant_a):
    client = token_client(tenant_a, "owner")
    member = tenant_a.membership("member")
    response = client.patch(org_url(tenant_a, f"members/{member.pk}/"), {"role": "admin"}, format="json")
    assert (response.status_code, response.json()["role"]) == (200, "admin")
    assert client.delete(org_url(tenant_a, f"members/{tenant_a.membership('viewer').pk}/")).status_code == 204
    response = client.post(org_url(tenant_a, f"members/{member.pk}/transfer-ownership/"))
    assert (response.status_code, response.json()["role"]) == (200, "owner")
    assert tenant_a.membership("owner").role == Role.ADMIN
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"member.role", "member.remove", "member.transfer_ownership"} <= actions


def test_last_owner_cannot_leave_or_be_demoted(tenant_a):
    client = session_client(tenant_a, "owner")
    response = client.post(org_url(tenant_a, "leave/"))
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    response = client.patch(
        org_url(tenant_a, f"members/{tenant_a.membership('owner').pk}/"), {"role": "viewer"}, format="json"
    )
    assert response.status_code == 409
    assert tenant_a.membership("owner").role == Role.OWNER


def test_a_viewer_may_leave(tenant_a):
    assert token_client(tenant_a, "viewer").post(org_url(tenant_a, "leave/")).status_code == 204
    assert not Membership.objects.filter(user=tenant_a.viewer).exists()


def test_invitations_are_for_owners(tenant_a, mailoutbox, django_capture_on_commit_callbacks):
    for role in ("admin", "member", "viewer"):
        client = token_client(tenant_a, role)
        assert client.get(org_url(tenant_a, "invitations/")).status_code == 403
        response = client.post(org_url(tenant_a, "invitations/"), {"email": "new@example.com"}, format="json")
        assert response.status_code == 403
    assert not Invitation.objects.exists()
    owner = token_client(tenant_a, "owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            org_url(tenant_a, "invitations/"), {"email": "new@example.com", "role": "admin"}, format="json"
        )
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["role"]) == ("pending", "admin")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new@example.com"]
    invitation_id = response.json()["id"]
    assert owner.get(org_url(tenant_a, "invitations/")).json()["count"] == 1
    resend = owner.post(org_url(tenant_a, f"invitations/{invitation_id}/resend/"))
    assert (resend.status_code, resend.json()["code"]) == (409, "conflict")  # at most once a minute
    revoke = owner.post(org_url(tenant_a, f"invitations/{invitation_id}/revoke/"))
    assert (revoke.status_code, revoke.json()["status"]) == (200, "revoked")


def test_inviting_an_owner_is_refused(tenant_a):
    response = token_client(tenant_a, "owner").post(
        org_url(tenant_a, "invitations/"), {"email": "boss@example.com", "role": "owner"}, format="json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_organization_settings_are_for_owners(tenant_a):
    assert token_client(tenant_a, "admin").patch(org_url(tenant_a), {"name": "X"}, format="json").status_code == 403
    response = token_client(tenant_a, "owner").patch(org_url(tenant_a), {"name": "Studio Alpha"}, format="json")
    assert (response.status_code, response.json()["name"], response.json()["slug"]) == (200, "Studio Alpha", "studio-a")


def test_an_organization_with_projects_cannot_be_deleted(tenant_a):
    response = token_client(tenant_a, "owner").delete(org_url(tenant_a))
    assert response.status_code == 409
    assert "Main" in response.json()["message"]
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()


def test_a_session_creates_and_deletes_an_organization(user):
    client = session_client_for_user(user)
    response = client.post("/api/v1/organizations/", {"name": "Night Owl Games"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["role"]) == ("night-owl-games", "owner")
    assert client.delete(f"/api/v1/organizations/{body['id']}/").status_code == 204
    assert not Organization.objects.filter(pk=body["id"]).exists()


def session_client_for_user(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_a_suspended_organization_reads_and_deletes_but_does_not_create(tenant_a):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(suspended_at=timezone.now(), suspension_reason="x")
    client = token_client(tenant_a, "owner")
    assert client.get(org_url(tenant_a)).json()["suspended"] is True
    response = client.post(org_url(tenant_a, "projects/"), {"name": "More"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "organization_suspended")
    assert client.delete(f"/api/v1/projects/{tenant_a.project.pk}/").status_code == 204


def test_activity_is_for_owners_and_admins(tenant_a):
    token_client(tenant_a, "owner").post(org_url(tenant_a, "projects/"), {"name": "Logged"}, format="json")
    for role, expected in (("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)):
        assert token_client(tenant_a, role).get(org_url(tenant_a, "activity/")).status_code == expected
    events = token_client(tenant_a, "admin").get(org_url(tenant_a, "activity/")).json()["results"]
    assert "project.create" in [event["action"] for event in events]
