"""Every URL under `/o/<org>/…` answers 404 to a member of another organisation, for GET and POST, and changes
nothing. The URLs are found by walking the URL configuration, so a new tenant page is covered the day it lands
(a new URL argument must be taught to `sample_kwargs` below, or this test fails)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from infra.models import CloudProject, Flavor, Keypair, QuotaRequest, Region, Server
from tenants.models import ApiToken, AuditEvent, Invitation, Membership, Organization, Project
from tests.conftest import make_api_token
from tests.harness.urlwalk import build, routes

pytestmark = pytest.mark.django_db


def tenant_routes() -> list[tuple[str, str]]:
    """(url name, route) of every pattern whose route starts with `o/<slug:org_slug>/`."""
    return [(route.name, route.route) for route in routes() if route.route.startswith("o/<slug:org_slug>/")]


def sample_kwargs(tenant) -> dict[str, object]:
    invitation = Invitation.objects.create(
        organization=tenant.organization,
        email="someone@example.com",
        token_hash=f"hash-{tenant.slug}",
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    token, _secret = make_api_token(tenant.member, tenant.organization, role="member")
    keypair = Keypair.objects.create(
        project=tenant.project,
        user=tenant.member,
        name="laptop",
        public_key=f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{tenant.slug} member@laptop",
        key_type=Keypair.Type.ED25519,
        bits=256,
        fingerprint=f"SHA256:{tenant.slug}",
    )
    region = Region.objects.get_or_create(slug="isolation", defaults={"name": "Isolation", "provider": "sandbox"})[0]
    quota_request = QuotaRequest.objects.create(
        project=tenant.project,
        region=region,
        resource="instances",
        current_limit=10,
        requested_limit=20,
        reason="a launch",
        requested_by=tenant.member,
    )
    cloud_project = CloudProject.objects.create(
        project=tenant.project, region=region, provider_id=f"cloud-{tenant.slug}", status=CloudProject.Status.ACTIVE
    )
    flavor = Flavor.objects.get_or_create(
        region=region,
        provider_id="isolation-small",
        defaults={"name": "small", "vcpus": 1, "ram_mb": 512, "disk_gb": 1},
    )[0]
    server = Server.objects.create(
        project=tenant.project,
        region=region,
        cloud_project=cloud_project,
        name=f"{tenant.slug}-web",
        provider_id=f"vm-{tenant.slug}",
        status="ACTIVE",
        flavor=flavor,
        keypair=keypair,
    )
    return {
        "org_slug": tenant.slug,
        "project_slug": tenant.project.slug,
        "membership_id": tenant.membership("member").pk,
        "invitation_id": invitation.pk,
        "token_id": token.pk,
        "keypair_id": keypair.pk,
        "request_id": quota_request.pk,
        "server_id": server.pk,
        "region_slug": region.slug,
        "op": "delete",
    }


def state(tenant) -> tuple:
    organization = Organization.objects.get(pk=tenant.organization.pk)
    return (
        organization.name,
        organization.slug,
        organization.suspended_at,
        organization.require_mfa,
        list(Project.objects.filter(organization=organization).values_list("name", "slug")),
        sorted(Membership.objects.filter(organization=organization).values_list("user_id", "role")),
        sorted(Invitation.objects.filter(organization=organization).values_list("email", "revoked_at", "send_count")),
        sorted(ApiToken.objects.filter(organization=organization).values_list("name", "revoked_at")),
        sorted(Keypair.objects.filter(project__organization=organization).values_list("name", "deleted_at")),
        sorted(QuotaRequest.objects.filter(project__organization=organization).values_list("resource", "status")),
        sorted(
            Server.objects.filter(project__organization=organization).values_list(
                "name", "status", "locked", "flavor_id", "deleted_at"
            )
        ),
    )


def test_there_are_tenant_urls_to_check():
    names = {name for name, _route in tenant_routes()}
    assert {"organization_overview", "members", "project_overview", "project_settings"} <= names


@pytest.mark.parametrize("method", ["get", "post"])
def test_member_of_another_organization_gets_404_on_every_tenant_url(tenant_a, tenant_b, method):
    values = sample_kwargs(tenant_a)
    urls = [build(route, values) for _name, route in tenant_routes()]
    intruder = tenant_b.client("owner")
    before, events_before = state(tenant_a), AuditEvent.objects.filter(organization_id=tenant_a.organization.pk).count()
    answers = {
        url: getattr(intruder, method)(url, {"name": "Stolen", "confirm": tenant_a.slug}).status_code for url in urls
    }
    wrong = {url: status for url, status in answers.items() if status not in (404, 405)}
    assert not wrong, f"expected 404 for another tenant: {wrong}"
    assert state(tenant_a) == before
    assert AuditEvent.objects.filter(organization_id=tenant_a.organization.pk).count() == events_before


def test_anonymous_visitor_is_sent_to_sign_in_on_every_tenant_url(client, tenant_a):
    values = sample_kwargs(tenant_a)
    for _name, route in tenant_routes():
        response = client.get(build(route, values))
        assert response.status_code in (302, 405), route
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), route


# A viewer may leave (that changes only their own membership); everything else a POST could do is refused.
VIEWER_MAY_POST = {"organization_leave"}
# A viewer also manages their own API tokens (viewer tokens only). Here they ask for an owner token (400) and revoke
# a member's token (404): `state` proves that neither changed anything.
VIEWER_OWN_TOKENS = {"api_tokens", "api_token_revoke"}
# Key pairs are per user: a member's key pair does not exist for a viewer (404), as for any other member.
NOT_THE_VIEWERS = {"keypair", "keypair_delete"}


def test_viewer_changes_nothing_on_any_tenant_url(tenant_a):
    values = sample_kwargs(tenant_a)
    viewer = tenant_a.client("viewer")
    before = state(tenant_a)
    data = {
        "form": "general",
        "name": "Renamed",
        "slug": "renamed",
        "confirm": tenant_a.slug,
        "role": "owner",
        "email": "x@example.com",
        "require_mfa": "on",
        "reason": "x",
    }
    answers = {}
    for name, route in tenant_routes():
        if name in VIEWER_MAY_POST:
            continue
        for form in ("general", "security", "delete"):
            answers[(name, form)] = viewer.post(build(route, values), {**data, "form": form}).status_code
    assert state(tenant_a) == before
    allowed = {
        (name, form): status
        for (name, form), status in answers.items()
        if status not in (403, 405)
        and not (name in VIEWER_OWN_TOKENS and status in (400, 404))
        and not (name in NOT_THE_VIEWERS and status == 404)
    }
    assert not allowed, f"a viewer's POST was not refused: {allowed}"
