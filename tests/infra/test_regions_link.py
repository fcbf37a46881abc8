"""Operators link an existing cloud project to a console project from the region's page; nobody else can, a cloud
project never belongs to two console projects, and a bad form changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from infra.models import CloudProject
from infra.providers.base import ProjectSpec
from tenants.models import AuditEvent
from tests.infra.engine import drive_project, sandbox_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox():
    return sandbox_region()


def link(client, region, path: str, provider_id: str):
    url = reverse("operator_region", kwargs={"region_slug": region.slug})
    return client.post(url, {"form": "link", "project": path, "provider_id": provider_id})


def existing_cloud_project(region, name: str = "studio-legacy") -> str:
    from infra.providers import driver_for

    return driver_for(region).ensure_project(ProjectSpec(name=name)).id


def test_operator_links_an_existing_cloud_project_from_the_region_page(operator_client, sandbox, tenant_a):
    page = operator_client.get(reverse("operator_region", kwargs={"region_slug": sandbox.slug}))
    assert b"Link an existing cloud project" in page.content
    provider_id = existing_cloud_project(sandbox)
    response = link(operator_client, sandbox, "studio-a/main", provider_id)
    assert response.status_code == 302
    cloud_project = CloudProject.objects.get(region=sandbox, provider_id=provider_id)
    assert (cloud_project.project, cloud_project.linked) == (tenant_a.project, True)
    event = AuditEvent.objects.get(action="project.region.link")
    assert event.operator and event.project == tenant_a.project
    assert drive_project(cloud_project).status == CloudProject.Status.ACTIVE


def test_linking_an_unknown_console_project_says_so_and_changes_nothing(operator_client, sandbox):
    response = link(operator_client, sandbox, "nobody/nothing", "abc")
    assert response.status_code == 400
    assert "No project at" in response.content.decode()
    assert not CloudProject.objects.exists()


def test_linking_a_cloud_project_that_belongs_to_another_is_refused(operator_client, sandbox, tenant_a, tenant_b):
    provider_id = existing_cloud_project(sandbox)
    assert link(operator_client, sandbox, "studio-a/main", provider_id).status_code == 302
    response = link(operator_client, sandbox, "studio-b/main", provider_id)
    assert response.status_code == 400
    assert "already belongs to" in response.content.decode()
    assert not CloudProject.objects.filter(project=tenant_b.project).exists()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_tenants_cannot_link_cloud_projects(sandbox, tenant_a, role):
    response = link(tenant_a.client(role), sandbox, "studio-a/main", "abc")
    assert response.status_code == 404
    assert not CloudProject.objects.exists()
