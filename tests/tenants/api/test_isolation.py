"""Every object endpoint answers 404 for another tenant's objects, by token and by session, and changes nothing."""

from __future__ import annotations

import pytest

from tenants.models import ApiToken, AuditEvent, Invitation, Membership, Project
from tests.conftest import make_api_token
from tests.tenants.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(tenant_b):
    """Tenant B's objects, addressed by their ids."""
    invitation = Invitation.objects.create(
        organization=tenant_b.organization,
        email="someone@example.com",
        role="member",
        token_hash="b" * 64,
        sent_at="2026-01-01T00:00:00Z",
        expires_at="2099-01-01T00:00:00Z",
    )
    token, _secret = make_api_token(tenant_b.owner, tenant_b.organization)
    org = f"/api/v1/organizations/{tenant_b.organization.pk}"
    member = tenant_b.membership("member").pk
    return {
        "org": org,
        "project": f"/api/v1/projects/{tenant_b.project.pk}/",
        "member": f"{org}/members/{member}/",
        "member_transfer": f"{org}/members/{member}/transfer-ownership/",
        "invitation": f"{org}/invitations/{invitation.pk}/",
        "invitation_resend": f"{org}/invitations/{invitation.pk}/resend/",
        "invitation_revoke": f"{org}/invitations/{invitation.pk}/revoke/",
        "token": f"{org}/tokens/{token.pk}/",
        "token_revoke": f"{org}/tokens/{token.pk}/revoke/",
    }


def _calls(urls: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    org = urls["org"]
    return [
        ("get", f"{org}/", None),
        ("patch", f"{org}/", {"name": "Taken over"}),
        ("delete", f"{org}/", None),
        ("get", f"{org}/projects/", None),
        ("post", f"{org}/projects/", {"name": "Intruder"}),
        ("get", urls["project"], None),
        ("patch", urls["project"], {"name": "Taken over"}),
        ("delete", urls["project"], None),
        ("get", f"{org}/members/", None),
        ("get", urls["member"], None),
        ("patch", urls["member"], {"role": "viewer"}),
        ("delete", urls["member"], None),
        ("post", urls["member_transfer"], None),
        ("post", f"{org}/leave/", None),
        ("get", f"{org}/invitations/", None),
        ("post", f"{org}/invitations/", {"email": "x@example.com", "role": "member"}),
        ("get", urls["invitation"], None),
        ("post", urls["invitation_resend"], None),
        ("post", urls["invitation_revoke"], None),
        ("get", f"{org}/tokens/", None),
        ("get", urls["token"], None),
        ("post", urls["token_revoke"], None),
        ("get", f"{org}/activity/", None),
    ]


def test_every_object_endpoint_of_another_tenant_answers_404(tenant_a, tenant_b, foreign, auth_kind):
    client = client_for(auth_kind, tenant_a, "owner")
    events = AuditEvent.objects.count()
    for method, url, body in _calls(foreign):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json() == {"code": "not_found", "message": "Not found."}, (method, url)
    assert AuditEvent.objects.count() == events
    assert Project.objects.get(pk=tenant_b.project.pk).name == "Main"
    assert tenant_b.organization.memberships.count() == 4
    assert Membership.objects.get(pk=tenant_b.membership("member").pk).role == "member"
    assert ApiToken.objects.filter(organization=tenant_b.organization, revoked_at__isnull=True).count() == 1
    assert Invitation.objects.get(organization=tenant_b.organization).revoked_at is None


def test_own_tenants_lists_show_nothing_of_the_other(tenant_a, tenant_b, auth_kind):
    client = client_for(auth_kind, tenant_a, "owner")
    make_api_token(tenant_b.owner, tenant_b.organization, name="b-token")
    org = f"/api/v1/organizations/{tenant_a.organization.pk}"
    pages = [client.get(url).content.decode() for url in ("/api/v1/organizations/", f"{org}/projects/")]
    pages += [client.get(f"{org}/{name}/").content.decode() for name in ("members", "tokens", "activity")]
    for page in pages:
        assert "studio-b" not in page and "b-token" not in page
        assert str(tenant_b.organization.pk) not in page and str(tenant_b.project.pk) not in page


def test_a_malformed_uuid_is_a_404_too(tenant_a):
    client = client_for("token", tenant_a)
    assert client.get("/api/v1/projects/not-a-uuid/").status_code == 404
