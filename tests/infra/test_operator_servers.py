"""The operators' all-tenants server list: only operators (others 404), every tenant's live servers newest first,
search by tenant (organisation name or slug, project name) and by name or IP, filters by region and status, pages
without counting the rows, links to the tenant's server page (a read-only visit)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from infra.providers.base import Status
from tests.infra.engine import sandbox_region
from tests.infra.test_server_list import make_server
from tests.infra.test_server_list import sandbox as sandbox

URL = "/operators/servers/"


def names(html: str) -> list[str]:
    return re.findall(r'<a class="fw-medium text-break" href="[^"]+" translate="no">([^<]+)</a>', html)


def get(client, query: str = "") -> str:
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
def test_only_operators_get_the_page(tenant_a, role):
    assert tenant_a.client(role).get(URL).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_tenants_live_servers_newest_first_with_links(sandbox, tenant_a, tenant_b, operator_client):
    a1 = make_server(tenant_a, sandbox, "a-one", ip="10.0.0.11")
    make_server(tenant_b, sandbox, "b-one")
    make_server(tenant_a, sandbox, "a-gone", status=Status.DELETED)
    html = get(operator_client)
    assert names(html) == ["b-one", "a-one"]
    assert f"/o/{tenant_a.slug}/main/servers/{a1.pk}/" in html
    assert "Studio A" in html and "Studio B" in html and "10.0.0.11" in html and sandbox.name in html
    assert " of " not in html.split('aria-live="polite"', 1)[1][:200]  # no total: the rows are never counted


def test_search_by_tenant_and_by_name_or_ip(sandbox, tenant_a, tenant_b, operator_client):
    make_server(tenant_a, sandbox, "web", ip="10.0.0.11")
    make_server(tenant_b, sandbox, "db", ip="192.168.3.4")
    assert names(get(operator_client, "?tenant=studio-b")) == ["db"]
    assert names(get(operator_client, "?tenant=Studio A")) == ["web"]
    assert names(get(operator_client, "?tenant=main")) == ["db", "web"]  # the project's name
    assert names(get(operator_client, "?q=168.3")) == ["db"]
    assert names(get(operator_client, "?q=WE")) == ["web"]
    assert names(get(operator_client, "?tenant=studio-a&q=db")) == []


def test_filters_by_region_and_status(sandbox, tenant_a, tenant_b, operator_client):
    other = sandbox_region("sandbox-two")
    make_server(tenant_a, sandbox, "here")
    make_server(tenant_b, other, "there", status=Status.ERROR)
    make_server(tenant_b, sandbox, "building", status=Status.BUILDING)
    assert names(get(operator_client, f"?region={other.pk}")) == ["there"]
    assert names(get(operator_client, "?status=error")) == ["there"]
    assert names(get(operator_client, "?status=in_progress")) == ["building"]
    assert names(get(operator_client, "?status=ACTIVE")) == ["here"]


def test_pages_go_on_without_counting_and_queries_stay_constant(sandbox, tenant_a, operator_client):
    for i in range(30):
        make_server(tenant_a, sandbox, f"s-{i:02d}")

    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            operator_client.get(URL)
        return [query["sql"] for query in captured.captured_queries]

    queries()
    few = queries()
    assert not any("COUNT(" in sql and "infra_server" in sql for sql in few)
    html = get(operator_client)
    assert len(names(html)) == 25 and 'rel="next"' in html
    assert len(names(get(operator_client, "?page=2"))) == 5
    for i in range(30, 60):
        make_server(tenant_a, sandbox, f"s-{i:02d}")
    assert len(queries()) == len(few)


def test_the_tenants_server_page_is_a_read_only_visit(sandbox, tenant_a, operator_client):
    make_server(tenant_a, sandbox, "web")
    html = operator_client.get(f"/o/{tenant_a.slug}/main/servers/").content.decode()
    assert "web" in html and 'name="ids"' not in html
