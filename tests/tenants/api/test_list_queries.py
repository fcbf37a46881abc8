"""Every API list costs the same number of queries whatever its length (the design: constant SQL per list page)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants import actions
from tenants.audit import Actor
from tenants.models import Membership, Organization, Project, Role
from tests.conftest import Tenant, make_api_token
from tests.tenants.api.conftest import session_client, token_client

pytestmark = pytest.mark.django_db

MORE = 12  # rows added after the first measurement (which already has one, so no list is empty)


def _organizations(tenant: Tenant, numbers: range) -> None:
    for number in numbers:
        organization = Organization.objects.create(name=f"Extra {number}", slug=f"extra-{number}")
        Membership.objects.create(user=tenant.owner, organization=organization, role=Role.ADMIN)


def _projects(tenant: Tenant, numbers: range) -> None:
    for number in numbers:
        Project.objects.create(organization=tenant.organization, name=f"Extra {number}", slug=f"extra-{number}")


def _invitations(tenant: Tenant, numbers: range) -> None:
    for number in numbers:
        actions.invite_member(
            actor=Actor(user=tenant.owner),
            organization=tenant.organization,
            email=f"guest{number}@elsewhere.example.com",
            role=Role.MEMBER,
            base_url="http://testserver/",
        )


def _tokens(tenant: Tenant, numbers: range) -> None:
    for number in numbers:
        make_api_token(
            tenant.user(["owner", "admin", "member", "viewer"][number % 4]), tenant.organization, role="viewer"
        )


def _activity(tenant: Tenant, numbers: range) -> None:
    project = tenant.organization.projects.first()
    for number in numbers:
        actions.update_project(
            actor=Actor(user=tenant.owner),
            project=project,
            name=f"Renamed {number}",
            slug=project.slug,
            description="",
        )


LISTS: dict[str, tuple[str, Callable[[Tenant, range], None]]] = {
    "organizations": ("/api/v1/organizations/", _organizations),
    "projects": ("/api/v1/organizations/{org}/projects/", _projects),
    "invitations": ("/api/v1/organizations/{org}/invitations/", _invitations),
    "tokens": ("/api/v1/organizations/{org}/tokens/", _tokens),
    "activity": ("/api/v1/organizations/{org}/activity/", _activity),
}


@pytest.mark.parametrize("name", LISTS)
def test_a_list_costs_the_same_queries_whatever_its_length(tenant_a, name):
    path, grow = LISTS[name]
    client: APIClient = session_client(tenant_a) if name == "organizations" else token_client(tenant_a)
    client.get("/api/v1/me/")  # a token's last use is written once; not part of what is measured
    url = path.format(org=tenant_a.organization.pk)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, response.json()
        return len(captured)

    grow(tenant_a, range(1))
    one = queries()
    grow(tenant_a, range(1, 1 + MORE))
    assert queries() == one
