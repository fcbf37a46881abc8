"""Pages that list things cost the same number of queries whatever the lists' lengths: the API tokens page and
the organisation and project dashboards with their activity feeds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import actions
from tenants.audit import Actor
from tenants.models import Project
from tests.conftest import Tenant, make_api_token

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(tenant: Tenant, numbers: range) -> None:
    """More of everything the pages list: projects, activity (by different people) and API tokens."""
    roles = ["owner", "admin", "member", "viewer"]
    for number in numbers:
        Project.objects.create(organization=tenant.organization, name=f"Extra {number}", slug=f"extra-{number}")
        actions.update_project(
            actor=Actor(user=tenant.user(roles[number % 2])),
            project=tenant.project,
            name=f"Renamed {number}",
            slug=tenant.project.slug,
            description="",
        )
        make_api_token(tenant.user(roles[number % 4]), tenant.organization, role="viewer")


@pytest.mark.parametrize("page", ["-/api-tokens/", "", "{project}/"])
def test_a_page_costs_the_same_queries_whatever_its_lists_length(tenant_a, page):
    client = tenant_a.client("owner")
    url = tenant_a.url(page.format(project=tenant_a.project.slug))
    _grow(tenant_a, range(1))
    queries_for(client, url)  # warm the session (current project, usersessions)
    one = queries_for(client, url)
    _grow(tenant_a, range(1, 13))
    assert queries_for(client, url) == one
