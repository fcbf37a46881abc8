"""Projects: create, rename with slug redirect, delete (refused while resources remain); roles and two tenants."""

from __future__ import annotations

import pytest

from tenants import resources
from tenants.models import AuditEvent, Project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_create_projects(tenant_a, role):
    response = tenant_a.client(role).post(tenant_a.url("-/projects/new/"), {"name": "Starfall Live", "slug": ""})
    assert response.status_code == 302 and response["Location"] == "/o/studio-a/starfall-live/"
    project = Project.objects.get(organization=tenant_a.organization, slug="starfall-live")
    assert AuditEvent.objects.get(action="project.create").project_id == project.pk


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_cannot_create_projects(tenant_a, role):
    client = tenant_a.client(role)
    assert client.get(tenant_a.url("-/projects/new/")).status_code == 403
    assert client.post(tenant_a.url("-/projects/new/"), {"name": "Nope"}).status_code == 403
    assert not Project.objects.filter(name="Nope").exists()


def test_project_slug_is_unique_per_organization_only(tenant_a, tenant_b):
    response = tenant_a.client().post(tenant_a.url("-/projects/new/"), {"name": "Other", "slug": "main"})
    assert response.status_code == 200 and "already has a project" in response.content.decode()
    assert Project.objects.filter(slug="main").count() == 2  # one per organisation, as fixtures made


def test_renamed_project_old_slug_redirects(tenant_a):
    client = tenant_a.client("admin")
    response = client.post(
        tenant_a.url("main/settings/"), {"form": "general", "name": "Main", "slug": "prod", "description": "Live"}
    )
    assert response.status_code == 302 and response["Location"] == "/o/studio-a/prod/settings/"
    assert client.get("/o/studio-a/main/").status_code == 302
    assert client.get("/o/studio-a/main/")["Location"] == "/o/studio-a/prod/"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_cannot_change_project_settings(tenant_a, role):
    client = tenant_a.client(role)
    page = client.get(tenant_a.url("main/settings/")).content.decode()
    assert "Delete project" not in page and "disabled" in page
    response = client.post(tenant_a.url("main/settings/"), {"form": "delete", "confirm": "main"})
    assert response.status_code == 403
    assert Project.objects.filter(pk=tenant_a.project.pk).exists()


def test_delete_project_is_refused_while_it_holds_resources(tenant_a, monkeypatch):
    monkeypatch.setattr(resources, "_counters", [resources.ResourceCounter("servers", lambda project: 3)])
    response = tenant_a.client().post(tenant_a.url("main/settings/"), {"form": "delete", "confirm": "main"})
    assert "3 servers" in response.content.decode()
    assert Project.objects.filter(pk=tenant_a.project.pk).exists()
    assert not AuditEvent.objects.filter(action="project.delete").exists()


def test_admin_deletes_an_empty_project(tenant_a):
    response = tenant_a.client("admin").post(tenant_a.url("main/settings/"), {"form": "delete", "confirm": "main"})
    assert response.status_code == 302 and response["Location"] == "/o/studio-a/"
    assert not Project.objects.filter(pk=tenant_a.project.pk).exists()
    assert AuditEvent.objects.get(action="project.delete").before["slug"] == "main"
