"""The operators' all-tenants server list: only operators (others 404), every tenant's live servers newest first,
search by tenant (organisation name or slug, project name) and by name or IP, filters by region and status, keyset
pages (newer, older, the oldest and back) that never count the rows nor skip them with an OFFSET, and that neither
repeat nor skip servers created in the same instant, links to the tenant's server page (a read-only visit)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra.models import Server
from infra.providers.base import Status
from tests.infra.engine import sandbox_region
from tests.infra.test_server_list import make_server
from tests.infra.test_server_list import sandbox as sandbox

URL = "/operators/servers/"


def names(html: str) -> list[str]:
    return re.findall(r'<a class="fw-medium console-name" href="[^"]+" translate="no">([^<]+)</a>', html)


def get(client, query: str = "") -> str:
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.content.decode()


def link(html: str, rel: str) -> str | None:
    """The query of the footer's link `rel` (first, prev, next, last), or None when the page has none."""
    found = re.search(rf'<a class="page-link" href="(\?[^"]*)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def created(servers: list, *, same_instant: bool = False) -> None:
    """Creation times one second apart in the list's order (the first the oldest), or all the same microsecond."""
    start = timezone.now() - timedelta(days=1)
    for i, server in enumerate(servers):
        Server.objects.filter(pk=server.pk).update(created_at=start if same_instant else start + timedelta(seconds=i))


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
    footer = html.split('<div class="card-footer d-flex flex-wrap', 1)[1].split("</nav>", 1)[0]
    assert " of " not in footer and "rows" not in footer  # no total: the rows are never counted


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
    assert len(names(html)) == 25 and link(html, "next")
    assert len(names(get(operator_client, link(html, "next")))) == 5
    for i in range(30, 60):
        make_server(tenant_a, sandbox, f"s-{i:02d}")
    assert len(queries()) == len(few)


def test_the_oldest_page_and_back_to_the_newest(sandbox, tenant_a, tenant_b, operator_client):
    servers = [make_server(tenant_a if i % 2 else tenant_b, sandbox, f"s-{i:02d}") for i in range(60)]
    created(servers)
    first = get(operator_client)
    assert names(first) == [f"s-{i:02d}" for i in range(59, 34, -1)]
    assert link(first, "first") is None and link(first, "prev") is None
    oldest = get(operator_client, link(first, "last"))
    assert names(oldest) == [f"s-{i:02d}" for i in range(24, -1, -1)]  # the 25 oldest, newest first
    assert link(oldest, "next") is None and link(oldest, "last") is None
    newer = get(operator_client, link(oldest, "prev"))
    assert names(newer) == [f"s-{i:02d}" for i in range(49, 24, -1)]
    top = get(operator_client, link(newer, "prev"))  # fewer than a page is newer: the first page itself
    assert names(top) == names(first) and link(top, "prev") is None
    assert names(get(operator_client, link(newer, "first"))) == names(first)


def test_keyset_pages_walk_every_server_once_even_created_in_the_same_instant(
    sandbox, tenant_a, tenant_b, operator_client
):
    servers = [make_server(tenant_a if i % 3 else tenant_b, sandbox, f"s-{i:02d}") for i in range(60)]
    created(servers, same_instant=True)
    expected = [s.name for s in sorted(servers, key=lambda s: s.pk, reverse=True)]  # one instant: by id
    seen, html = [], get(operator_client, "?per_page=25")
    while True:
        seen += names(html)
        if link(html, "next") is None:
            break
        html = get(operator_client, link(html, "next"))
    assert seen == expected
    back = []
    while link(html, "prev") is not None:
        html = get(operator_client, link(html, "prev"))
        back = names(html) + back
    assert back == expected[:50]  # the pages before the last (10 rows), newest last: the same rows
    assert names(html) == expected[:25] and link(html, "first") is None  # back at the top: the first page


def test_pages_never_skip_rows_with_an_offset_nor_count_them(sandbox, tenant_a, operator_client):
    servers = [make_server(tenant_a, sandbox, f"s-{i:02d}") for i in range(30)]
    created(servers)
    html = get(operator_client)
    for query in ("", link(html, "next"), link(html, "last"), "?last=1&status=running"):
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(URL + query).status_code == 200
        listed = [q["sql"] for q in captured.captured_queries if 'FROM "infra_server"' in q["sql"]]
        assert len(listed) == 1, query
        assert "OFFSET" not in listed[0] and "COUNT(" not in listed[0] and "LIMIT 26" in listed[0], query


def test_page_links_keep_the_filters_and_the_page_size(sandbox, tenant_a, operator_client):
    servers = [make_server(tenant_a, sandbox, f"e-{i:02d}", status=Status.ERROR) for i in range(12)]
    created(servers)
    make_server(tenant_a, sandbox, "fine")
    html = get(operator_client, "?status=error&per_page=5")
    assert names(html) == ["e-11", "e-10", "e-09", "e-08", "e-07"]
    older = link(html, "next")
    assert "status=error" in older and "per_page=5" in older
    assert names(get(operator_client, older)) == ["e-06", "e-05", "e-04", "e-03", "e-02"]
    assert names(get(operator_client, link(html, "last"))) == ["e-04", "e-03", "e-02", "e-01", "e-00"]


@pytest.mark.parametrize("query", ["?after=nonsense", "?before=123-not-an-id", "?after=99999999999999999999999-00"])
def test_a_page_position_typed_by_hand_starts_at_the_newest(sandbox, tenant_a, tenant_b, operator_client, query):
    servers = [make_server(tenant_a, sandbox, "a"), make_server(tenant_b, sandbox, "b")]
    created(servers)
    assert names(get(operator_client, query)) == ["b", "a"]


def test_the_tenants_server_page_is_a_read_only_visit(sandbox, tenant_a, operator_client):
    make_server(tenant_a, sandbox, "web")
    html = operator_client.get(f"/o/{tenant_a.slug}/main/servers/").content.decode()
    assert "web" in html and 'name="ids"' not in html
