"""Organisations: create, overview, rename with slug redirect, MFA policy, delete; two tenants, every role."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from tenants.models import AuditEvent, Membership, Organization, Project, Role

pytestmark = pytest.mark.django_db


def test_signed_in_user_creates_an_organization_and_becomes_its_owner(user_client, user):
    response = user_client.post("/orgs/new/", {"name": "Nebula Forge", "slug": ""})
    organization = Organization.objects.get(name="Nebula Forge")
    assert organization.slug == "nebula-forge"
    assert response.status_code == 302
    assert response["Location"] == "/o/nebula-forge/-/projects/new/"
    assert Membership.objects.get(organization=organization, user=user).role == Role.OWNER
    event = AuditEvent.objects.get(action="organization.create")
    assert event.organization_id == organization.pk and event.actor_id == user.pk


def test_create_organization_refuses_a_taken_slug_and_changes_nothing(user_client, tenant_a):
    response = user_client.post("/orgs/new/", {"name": "Copycat", "slug": tenant_a.slug})
    assert response.status_code == 200
    assert "is taken" in response.content.decode()
    assert not Organization.objects.filter(name="Copycat").exists()


def test_create_organization_refuses_a_reserved_or_invalid_slug(user_client):
    for slug in ("-", "Bad Slug!", "new"):
        response = user_client.post("/orgs/new/", {"name": "X", "slug": slug})
        assert response.status_code == 200
    assert not Organization.objects.filter(name="X").exists()


def test_anonymous_user_is_sent_to_login_from_organization_pages(client: Client, tenant_a):
    for url in ("/orgs/new/", tenant_a.url(), tenant_a.url("-/settings/"), tenant_a.url("-/members/")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "suffix",
    ["", "-/settings/", "-/members/", "-/projects/new/", "main/", "main/settings/"],
)
def test_other_tenant_gets_404_on_every_organization_page(tenant_a, tenant_b, suffix):
    assert tenant_b.client("owner").get(tenant_a.url(suffix)).status_code == 404
    assert tenant_a.client("viewer").get(tenant_a.url(suffix)).status_code in (200, 403)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("-/settings/", {"form": "general", "name": "Stolen", "slug": "stolen"}),
        ("-/settings/", {"form": "delete", "confirm": "studio-a"}),
        ("-/projects/new/", {"name": "Stolen"}),
        ("main/settings/", {"form": "delete", "confirm": "main"}),
        ("-/members/", {"email": "x@example.com", "role": "member"}),
        ("-/leave/", {}),
    ],
)
def test_other_tenant_cannot_change_anything_and_gets_404(tenant_a, tenant_b, path, data):
    before = AuditEvent.objects.count()
    response = tenant_b.client("owner").post(tenant_a.url(path), data)
    assert response.status_code == 404
    assert AuditEvent.objects.count() == before
    assert Organization.objects.get(pk=tenant_a.organization.pk).name == tenant_a.organization.name
    assert Project.objects.filter(organization=tenant_a.organization).count() == 1


def test_overview_lists_projects_and_members_count(tenant_a):
    response = tenant_a.client("viewer").get(tenant_a.url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Main" in body and tenant_a.organization.name in body
    assert "New project" not in body  # a viewer is offered nothing


def test_owner_renames_organization_and_the_old_slug_redirects(tenant_a):
    client = tenant_a.client("owner")
    response = client.post(tenant_a.url("-/settings/"), {"form": "general", "name": "Studio Alpha", "slug": "alpha"})
    assert response.status_code == 302 and response["Location"] == "/o/alpha/-/settings/"
    organization = Organization.objects.get(pk=tenant_a.organization.pk)
    assert (organization.name, organization.slug) == ("Studio Alpha", "alpha")
    old = client.get("/o/studio-a/main/?tab=x")
    assert old.status_code == 302 and old["Location"] == "/o/alpha/main/?tab=x"
    event = AuditEvent.objects.get(action="organization.update")
    assert event.before == {"name": "Studio A", "slug": "studio-a"} and event.after["slug"] == "alpha"


def test_old_slug_gives_404_not_a_redirect_to_non_members(tenant_a, tenant_b):
    tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "general", "name": "A", "slug": "alpha"})
    assert tenant_b.client("owner").get("/o/studio-a/").status_code == 404


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_owner_changes_organization_settings(tenant_a, role):
    client = tenant_a.client(role)
    page = client.get(tenant_a.url("-/settings/"))
    assert page.status_code == 200
    assert "Delete organization" not in page.content.decode()
    response = client.post(tenant_a.url("-/settings/"), {"form": "general", "name": "Renamed", "slug": "studio-a"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=tenant_a.organization.pk).name == "Studio A"


def test_owner_cannot_require_mfa_without_own_authenticator(tenant_a):
    response = tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "security", "require_mfa": "on"})
    assert "first" in response.content.decode()
    assert not Organization.objects.get(pk=tenant_a.organization.pk).require_mfa


def test_owner_with_authenticator_requires_mfa_and_it_is_audited(tenant_a):
    Authenticator.objects.create(user=tenant_a.owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    response = tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "security", "require_mfa": "on"})
    assert response.status_code == 302
    assert Organization.objects.get(pk=tenant_a.organization.pk).require_mfa
    assert AuditEvent.objects.get(action="organization.mfa_policy").after == {"require_mfa": True}


def test_delete_organization_is_refused_while_it_has_projects(tenant_a):
    response = tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "delete", "confirm": "studio-a"})
    assert "Delete its projects first: Main." in response.content.decode()
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()


def test_delete_organization_needs_the_typed_slug(tenant_a):
    tenant_a.project.delete()
    response = tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "delete", "confirm": "wrong"})
    assert response.status_code == 400
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()


def test_owner_deletes_an_empty_organization_and_its_audit_rows_remain(tenant_a):
    tenant_a.project.delete()
    org_id = tenant_a.organization.pk
    response = tenant_a.client("owner").post(tenant_a.url("-/settings/"), {"form": "delete", "confirm": "studio-a"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Organization.objects.filter(pk=org_id).exists()
    assert not Membership.objects.filter(organization_id=org_id).exists()
    assert AuditEvent.objects.filter(organization_id=org_id, action="organization.delete").exists()


def test_dashboard_offers_to_create_an_organization_to_a_user_without_one(user_client):
    body = user_client.get("/").content.decode()
    assert "/orgs/new/" in body and "Create an organization" in body


def test_operator_visit_shows_a_read_only_banner_and_offers_no_changes(tenant_a, operator_client):
    for suffix in ("", "-/members/", "-/settings/", "main/", "main/settings/"):
        response = operator_client.get(tenant_a.url(suffix))
        body = response.content.decode()
        assert response.status_code == 200, suffix
        assert "as an operator: read-only" in body
        assert "Send invitation" not in body and "Delete organization" not in body and "Delete project" not in body
    assert AuditEvent.objects.filter(action="operator.visit", organization_id=tenant_a.organization.pk).count() == 5


def test_suspended_organization_shows_the_reason_and_refuses_new_projects(tenant_a):
    from django.utils import timezone

    Organization.objects.filter(pk=tenant_a.organization.pk).update(
        suspended_at=timezone.now(), suspension_reason="Unpaid invoice"
    )
    client = tenant_a.client("owner")
    body = client.get(tenant_a.url()).content.decode()
    assert "is suspended" in body and "Unpaid invoice" in body and "New project" not in body
    response = client.post(tenant_a.url("-/projects/new/"), {"name": "Blocked"}, follow=True)
    assert "is suspended" in response.content.decode()
    assert not Project.objects.filter(name="Blocked").exists()


def test_in_project_and_for_user_keep_audit_rows_apart(tenant_a, tenant_b):
    tenant_a.client().post(tenant_a.url("main/settings/"), {"form": "general", "name": "A1", "slug": "main"})
    tenant_b.client().post(tenant_b.url("main/settings/"), {"form": "general", "name": "B1", "slug": "main"})
    assert [e.project_id for e in AuditEvent.objects.in_project(tenant_a.project)] == [tenant_a.project.pk]
    assert {e.organization_id for e in AuditEvent.objects.for_user(tenant_b.viewer)} == {tenant_b.organization.pk}


def test_operator_command_adds_lists_and_removes_operators(monkeypatch, capsys):
    from django.core.management import call_command

    from tenants.models import User

    monkeypatch.setenv("OPS_PASSWORD", "a-long-operator-passphrase-9")
    call_command("operator", "add", "Ops@Example.com", "--password-from-env", "OPS_PASSWORD")
    user = User.objects.get(email="ops@example.com")
    assert user.is_operator and user.check_password("a-long-operator-passphrase-9")
    call_command("operator", "list")
    assert "ops@example.com" in capsys.readouterr().out
    call_command("operator", "remove", "ops@example.com")
    assert not User.objects.get(pk=user.pk).is_operator


def test_an_invalid_slug_is_explained_once(user_client):
    response = user_client.post("/orgs/new/", {"name": "Studio", "slug": "Not A Slug!"})
    assert response.status_code == 200
    assert len(response.context["form"].errors["slug"]) == 1
