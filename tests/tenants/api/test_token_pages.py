"""The console's API tokens page: create (the secret shown once), list, revoke; roles and two tenants."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import ApiToken, AuditEvent
from tests.conftest import make_api_token


def form(**values: object) -> dict[str, object]:
    """The create form as the page sends it (with its one-time form id)."""
    return {"form_id": uuid.uuid4(), **values}


pytestmark = pytest.mark.django_db


def test_the_navigation_links_to_the_page(tenant_a):
    page = tenant_a.client("viewer").get(tenant_a.url("-/members/")).content.decode()
    assert f'href="{tenant_a.url("-/api-tokens/")}"' in page


def test_an_empty_list_explains_tokens(tenant_a):
    response = tenant_a.client("member").get(tenant_a.url("-/api-tokens/"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "No API tokens yet" in page and "Create a token" in page


def test_creating_a_token_shows_its_secret_once(tenant_a):
    client = tenant_a.client("member")
    response = client.post(
        tenant_a.url("-/api-tokens/"), {"form_id": uuid.uuid4(), "name": "deploy", "role": "member", "expiry": "30"}
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    page = response.content.decode()
    secret = page.split('id="new-token-secret" value="', 1)[1].split('"', 1)[0]
    assert secret.startswith(f"hnl_{token.prefix}_")
    assert "you will not be able to see it again" in page
    assert (token.user, token.role, token.name) == (tenant_a.member, "member", "deploy")
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    again = client.get(tenant_a.url("-/api-tokens/")).content.decode()
    assert secret not in again and token.display_prefix in again
    assert AuditEvent.objects.filter(action="api_token.create", actor=tenant_a.member).exists()


def test_a_token_may_expire_on_a_chosen_day(tenant_a):
    day = timezone.localdate() + timedelta(days=10)
    response = tenant_a.client().post(
        tenant_a.url("-/api-tokens/"),
        {"form_id": uuid.uuid4(), "name": "ci", "role": "viewer", "expiry": "custom", "expires_on": day.isoformat()},
    )
    assert response.status_code == 201
    expires = timezone.localtime(ApiToken.objects.get().expires_at)
    assert expires.date() == day + timedelta(days=1) and expires.hour == 0


def test_a_custom_expiry_needs_a_day(tenant_a):
    response = tenant_a.client().post(
        tenant_a.url("-/api-tokens/"), {"form_id": uuid.uuid4(), "name": "ci", "role": "viewer", "expiry": "custom"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_role_ceiling_offers_only_roles_up_to_ones_own(tenant_a):
    page = tenant_a.client("viewer").get(tenant_a.url("-/api-tokens/")).content.decode()
    assert 'value="viewer"' in page and 'value="member"' not in page and 'value="owner"' not in page
    response = tenant_a.client("viewer").post(
        tenant_a.url("-/api-tokens/"), {"form_id": uuid.uuid4(), "name": "x", "role": "owner", "expiry": "30"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_members_see_their_own_tokens_and_admins_everyones(tenant_a):
    make_api_token(tenant_a.member, tenant_a.organization, role="member", name="member-script")
    make_api_token(tenant_a.viewer, tenant_a.organization, role="viewer", name="viewer-script")
    viewer_page = tenant_a.client("viewer").get(tenant_a.url("-/api-tokens/")).content.decode()
    assert "viewer-script" in viewer_page and "member-script" not in viewer_page
    admin_page = tenant_a.client("admin").get(tenant_a.url("-/api-tokens/")).content.decode()
    assert "viewer-script" in admin_page and "member-script" in admin_page
    assert "member@studio-a.example.com" in admin_page


def test_revoking_asks_first_and_stops_the_token(tenant_a):
    token, _secret = make_api_token(tenant_a.member, tenant_a.organization, role="member")
    page = tenant_a.client("member").get(tenant_a.url("-/api-tokens/")).content.decode()
    assert "data-confirm=" in page and f"/api-tokens/{token.pk}/revoke/" in page
    response = tenant_a.client("member").post(tenant_a.url(f"-/api-tokens/{token.pk}/revoke/"))
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).status == ApiToken.Status.REVOKED


def test_a_member_cannot_revoke_someone_elses_token(tenant_a):
    token, _secret = make_api_token(tenant_a.admin, tenant_a.organization, role="admin")
    response = tenant_a.client("member").post(tenant_a.url(f"-/api-tokens/{token.pk}/revoke/"))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert tenant_a.client("owner").post(tenant_a.url(f"-/api-tokens/{token.pk}/revoke/")).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_other_tenants_tokens_and_pages_are_404(tenant_a, tenant_b):
    token, _secret = make_api_token(tenant_b.owner, tenant_b.organization, name="b-secret-script")
    client = tenant_a.client("owner")
    assert client.get(tenant_b.url("-/api-tokens/")).status_code == 404
    assert client.post(tenant_b.url(f"-/api-tokens/{token.pk}/revoke/")).status_code == 404
    assert client.post(tenant_a.url(f"-/api-tokens/{token.pk}/revoke/")).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert "b-secret-script" not in client.get(tenant_a.url("-/api-tokens/")).content.decode()


def test_operators_visit_read_only(tenant_a, operator_client):
    make_api_token(tenant_a.member, tenant_a.organization, role="member", name="member-script")
    page = operator_client.get(tenant_a.url("-/api-tokens/")).content.decode()
    assert "member-script" in page and "Create a token" not in page
    response = operator_client.post(
        tenant_a.url("-/api-tokens/"), {"form_id": uuid.uuid4(), "name": "x", "role": "viewer", "expiry": "30"}
    )
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_the_page_speaks_korean(tenant_a):
    tenant_a.member.language = "ko"
    tenant_a.member.save(update_fields=["language"])
    page = tenant_a.client("member").get(tenant_a.url("-/api-tokens/")).content.decode()
    assert "API 토큰" in page


def test_sending_the_create_form_twice_creates_one_token(tenant_a):
    """A reload of the page that shows the secret (or a double click) sends the same form again."""
    client = tenant_a.client("member")
    data = {"form_id": uuid.uuid4(), "name": "deploy", "role": "member", "expiry": "30"}
    first = client.post(tenant_a.url("-/api-tokens/"), data)
    assert first.status_code == 201
    again = client.post(tenant_a.url("-/api-tokens/"), data)
    assert again.status_code == 400
    assert "already sent" in again.content.decode()
    assert again.context["created"] is None  # no secret on the page
    assert ApiToken.objects.filter(user=tenant_a.member, name="deploy").count() == 1
    fresh = client.post(tenant_a.url("-/api-tokens/"), {**data, "form_id": uuid.uuid4()})
    assert fresh.status_code == 201
    assert ApiToken.objects.filter(user=tenant_a.member, name="deploy").count() == 2
