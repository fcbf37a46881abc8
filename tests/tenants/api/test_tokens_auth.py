"""API tokens as credentials: hashed and shown once, expiry, revocation, role ceiling, membership, last use, MFA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import actions
from tenants.audit import Actor
from tenants.models import ApiToken, AuditEvent, Membership, Organization, Project, Role
from tests.conftest import make_api_token
from tests.tenants.api.conftest import session_client, token_client

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def projects_url(tenant) -> str:
    return f"/api/v1/organizations/{tenant.organization.pk}/projects/"


def test_a_token_authenticates_as_its_user_in_its_organization(tenant_a):
    token, secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    body = bearer(secret).get("/api/v1/me/").json()
    assert body["email"] == "member@studio-a.example.com"
    assert body["token"]["id"] == str(token.pk)
    assert [org["slug"] for org in body["organizations"]] == ["studio-a"]


def test_the_secret_is_stored_only_as_a_hash_and_never_listed(tenant_a):
    token, secret = make_api_token(tenant_a.owner, tenant_a.organization)
    assert secret.startswith(f"hnl_{token.prefix}_")
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in str(stored)
    assert stored["secret_hash"] == actions.api_token_hash(secret)
    listing = bearer(secret).get(f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/").content.decode()
    detail = bearer(secret).get(f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/{token.pk}/")
    assert secret not in listing and secret not in detail.content.decode()
    assert "secret" not in detail.json()


def test_creating_a_token_over_the_api_shows_the_secret_once(tenant_a):
    client = session_client(tenant_a, "admin")
    response = client.post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/",
        {"name": "deploy", "role": "member", "expires_in_days": 30},
        format="json",
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.json()["secret"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert (token.role, token.user) == (Role.MEMBER, tenant_a.admin)
    assert token.expires_at - timezone.now() > timedelta(days=29)
    assert bearer(secret).get("/api/v1/me/").status_code == 200
    event = AuditEvent.objects.get(action="api_token.create")
    assert event.target_id == str(token.pk) and secret not in str(event.after)


def test_a_token_cannot_create_tokens_or_organizations(tenant_a):
    client = token_client(tenant_a, "owner")
    response = client.post(f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/", {"name": "more"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "token_not_allowed")
    response = client.post("/api/v1/organizations/", {"name": "Elsewhere"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "token_not_allowed")
    assert ApiToken.objects.count() == 1
    assert not Organization.objects.filter(name="Elsewhere").exists()


@pytest.mark.parametrize("ceiling", ["admin", "owner"])
def test_the_ceiling_cannot_exceed_the_creators_role(tenant_a, ceiling):
    response = session_client(tenant_a, "member").post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/", {"name": "x", "role": ceiling}, format="json"
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_a_viewer_may_create_a_viewer_token_for_themselves(tenant_a):
    response = session_client(tenant_a, "viewer").post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/", {"name": "x", "role": "viewer"}, format="json"
    )
    assert response.status_code == 201
    assert ApiToken.objects.get().user == tenant_a.viewer


def test_an_expired_token_is_refused(tenant_a):
    token, secret = make_api_token(tenant_a.owner, tenant_a.organization)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused_at_once(tenant_a):
    token, secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    client = bearer(secret)
    assert client.get("/api/v1/me/").status_code == 200
    actions.revoke_api_token(actor=Actor(tenant_a.member), organization=tenant_a.organization, token_id=token.pk)
    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_an_unknown_or_malformed_token_is_refused(tenant_a):
    assert bearer("hnl_00000000_nothing").get("/api/v1/me/").json()["code"] == "token_invalid"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert client.get("/api/v1/me/").status_code == 401


def test_a_removed_members_token_authenticates_nothing(tenant_a):
    _token, secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    actions.remove_member(
        actor=Actor(tenant_a.owner), organization=tenant_a.organization, membership_id=tenant_a.membership("member").pk
    )
    response = bearer(secret).get(f"/api/v1/organizations/{tenant_a.organization.pk}/")
    assert response.status_code == 401


def test_a_deactivated_users_token_is_refused(tenant_a):
    _token, secret = make_api_token(tenant_a.admin, tenant_a.organization, role="admin")
    tenant_a.admin.is_active = False
    tenant_a.admin.save(update_fields=["is_active"])
    assert bearer(secret).get("/api/v1/me/").status_code == 401


def test_an_owners_viewer_token_cannot_create_a_project(tenant_a):
    client = token_client(tenant_a, "owner", ceiling="viewer")
    response = client.post(projects_url(tenant_a), {"name": "Nope"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Project.objects.filter(name="Nope").exists()
    assert client.get(projects_url(tenant_a)).status_code == 200  # reading is within a viewer's role


def test_a_token_acts_with_the_lower_of_ceiling_and_role(tenant_a):
    client = token_client(tenant_a, "owner", ceiling="admin")
    assert client.post(projects_url(tenant_a), {"name": "Yes"}, format="json").status_code == 201
    member = tenant_a.membership("member")
    response = client.patch(
        f"/api/v1/organizations/{tenant_a.organization.pk}/members/{member.pk}/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 403  # changing roles needs an owner; the ceiling is admin
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
    me = client.get("/api/v1/me/").json()
    assert me["organizations"][0]["role"] == "admin"


def test_lowering_a_members_role_takes_effect_on_their_tokens(tenant_a):
    client = token_client(tenant_a, "admin")
    assert client.post(projects_url(tenant_a), {"name": "First"}, format="json").status_code == 201
    actions.change_role(
        actor=Actor(tenant_a.owner),
        organization=tenant_a.organization,
        membership_id=tenant_a.membership("admin").pk,
        role=Role.VIEWER,
    )
    response = client.post(projects_url(tenant_a), {"name": "Second"}, format="json")
    assert response.status_code == 403
    assert not Project.objects.filter(name="Second").exists()


def test_a_token_sees_only_its_own_organization_even_when_its_user_belongs_to_others(tenant_a, tenant_b):
    Membership.objects.create(user=tenant_a.owner, organization=tenant_b.organization, role=Role.OWNER)
    client = token_client(tenant_a, "owner")
    assert client.get(f"/api/v1/organizations/{tenant_b.organization.pk}/").status_code == 404
    assert client.get(f"/api/v1/projects/{tenant_b.project.pk}/").status_code == 404
    slugs = [org["slug"] for org in client.get("/api/v1/organizations/").json()["results"]]
    assert slugs == ["studio-a"]
    # the same user's session sees both
    session_slugs = [o["slug"] for o in session_client(tenant_a).get("/api/v1/organizations/").json()["results"]]
    assert session_slugs == ["studio-a", "studio-b"]


def test_last_use_is_written_at_most_once_a_minute(tenant_a):
    token, secret = make_api_token(tenant_a.owner, tenant_a.organization)
    assert token.last_used_at is None
    client = bearer(secret)
    client.get("/api/v1/me/")
    first = ApiToken.objects.get(pk=token.pk)
    assert first.last_used_at is not None and first.last_used_ip == "127.0.0.1"
    client.get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first.last_used_at
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first.last_used_at


def test_a_token_is_refused_while_its_organization_requires_mfa_the_user_lacks(tenant_a):
    _token, secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    Organization.objects.filter(pk=tenant_a.organization.pk).update(require_mfa=True)
    response = bearer(secret).get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "mfa_required")
    Authenticator.objects.create(user=tenant_a.member, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert bearer(secret).get("/api/v1/me/").status_code == 200


def test_a_session_without_required_mfa_gets_a_json_403_not_a_redirect(tenant_a):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(require_mfa=True)
    response = session_client(tenant_a, "viewer").get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_revoking_someone_elses_token_needs_owner_or_admin(tenant_a):
    token, _secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/{token.pk}/revoke/"
    assert session_client(tenant_a, "viewer").post(url).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    response = session_client(tenant_a, "admin").post(url)
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.via) == (tenant_a.admin, "api")


def test_members_list_only_their_own_tokens_and_admins_all(tenant_a):
    make_api_token(tenant_a.member, tenant_a.organization, role="member", name="members")
    make_api_token(tenant_a.viewer, tenant_a.organization, role="viewer", name="viewers")
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/"
    names = [t["name"] for t in session_client(tenant_a, "viewer").get(url).json()["results"]]
    assert names == ["viewers"]
    names = sorted(t["name"] for t in session_client(tenant_a, "admin").get(url).json()["results"])
    assert names == ["members", "viewers"]


def test_token_expiry_may_not_exceed_the_configured_maximum(tenant_a, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    response = session_client(tenant_a).post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/",
        {"name": "long", "expires_in_days": 365},
        format="json",
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_token_request_answers_in_its_users_language(tenant_a):
    tenant_a.viewer.language = "ko"
    tenant_a.viewer.save(update_fields=["language"])
    client = token_client(tenant_a, "viewer")
    response = client.post(projects_url(tenant_a), {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response["Content-Language"] == "ko"
