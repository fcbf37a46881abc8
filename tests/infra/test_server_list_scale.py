"""The project's server list at scale: pages past the middle read from the other end in the same order, pages never
repeat or skip servers created in the same instant, the counts above the table give the paginator its total (no
other COUNT), the counts follow each transition, the IP search finds part of an IPv6 address in any case and follows
address changes, a status sorts newest first, and a page reads its rows by id after an index-only pass.

The budget at 100,000 servers is measured by bench/server_pages.py, not here: these tests pin the behaviour the
figures rely on."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra import servers_ui
from infra.models import Server
from infra.providers.base import Status
from infra.views_servers import row_menu
from tenants.scope import ProjectScope
from tests.infra.test_server_list import html_of, make_server, page, ready, rows_in
from tests.infra.test_server_list import sandbox as sandbox


def many(tenant, region, n: int, *, same_instant: bool = False, prefix: str = "s") -> list[Server]:
    """`n` servers named s-00…, the first the oldest (one second apart), or all created in the same microsecond."""
    cloud_project = ready(tenant, region)
    template = make_server(tenant, region, f"{prefix}-template")
    rows = Server.objects.bulk_create(
        Server(
            project=tenant.project,
            region=region,
            cloud_project=cloud_project,
            name=f"{prefix}-{i:02d}",
            status=Status.ACTIVE,
            flavor=template.flavor,
            image=template.image,
            created_by=tenant.member,
        )
        for i in range(n)
    )
    template.delete()
    start = timezone.now() - timedelta(days=1)
    for i, server in enumerate(rows):
        Server.objects.filter(pk=server.pk).update(created_at=start if same_instant else start + timedelta(seconds=i))
    return list(Server.objects.filter(pk__in=[s.pk for s in rows]))


def newest_first(servers: list[Server]) -> list[str]:
    return [str(s.pk) for s in sorted(servers, key=lambda s: (s.created_at, s.pk), reverse=True)]


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries if "infra_server" in query["sql"]]


def test_the_last_page_reads_from_the_other_end_and_shows_the_oldest_in_order(sandbox, tenant_a, tenant_b):
    servers = many(tenant_a, sandbox, 60)
    make_server(tenant_b, sandbox, "theirs")
    client = tenant_a.client("member")
    expected = newest_first(servers)
    assert rows_in(html_of(client, page(tenant_a))) == expected[:25]
    assert rows_in(html_of(client, page(tenant_a, "?page=2"))) == expected[25:50]
    last = html_of(client, page(tenant_a, "?page=3"))
    assert rows_in(last) == expected[50:]  # the 10 oldest, newest first
    assert "51\u201360 of 60 rows" in last
    sql = queries_of(client, page(tenant_a, "?page=3"))
    ids = next(q for q in sql if q.startswith('SELECT "infra_server"."id" AS "pk" FROM') and "LIMIT 10" in q)
    assert "ASC" in ids and "OFFSET" not in ids  # the first 10 of the reversed order, nothing skipped


def test_pages_neither_repeat_nor_skip_servers_created_in_the_same_instant(sandbox, tenant_a, tenant_b):
    servers = many(tenant_a, sandbox, 40, same_instant=True)
    make_server(tenant_b, sandbox, "theirs")
    client = tenant_a.client("member")
    for sort in ("", "&sort=created_at", "&sort=status", "&sort=-status", "&sort=region"):
        first = rows_in(html_of(client, page(tenant_a, f"?per_page=25{sort}")))
        second = rows_in(html_of(client, page(tenant_a, f"?per_page=25&page=2{sort}")))
        assert len(first) == 25 and len(second) == 15, sort
        assert sorted(first + second) == sorted(str(s.pk) for s in servers), sort


def test_the_counts_give_the_list_its_total_so_nothing_else_is_counted(sandbox, tenant_a, tenant_b):
    many(tenant_a, sandbox, 30)
    make_server(tenant_a, sandbox, "broken", status=Status.ERROR)
    make_server(tenant_b, sandbox, "theirs")
    client = tenant_a.client("member")

    def counted(url: str) -> list[str]:
        return [sql for sql in queries_of(client, url) if 'COUNT(*) AS "__count"' in sql]

    assert counted(page(tenant_a)) == []
    assert counted(page(tenant_a, "?status=error")) == []
    assert "1\u201325 of 31 rows" in html_of(client, page(tenant_a))
    assert "1\u20131 of 1 row" in html_of(client, page(tenant_a, "?status=error"))
    assert len(counted(page(tenant_a, "?status=ERROR"))) == 1  # one status, not a group: counted
    assert len(counted(page(tenant_a, "?q=s-1"))) == 1


def test_the_counts_follow_each_transition(sandbox, tenant_a, tenant_b):
    server = make_server(tenant_a, sandbox, "web")
    make_server(tenant_a, sandbox, "db")
    make_server(tenant_b, sandbox, "theirs", status=Status.STOPPED)
    client = tenant_a.client("viewer")

    def counts() -> dict[str, str]:
        html = html_of(client, page(tenant_a))
        return {
            key: html.split(f'data-count="{key}"', 1)[1].split('<strong class="server-count-n">', 1)[1].split("<")[0]
            for key in ("total", "running", "stopped", "in_progress", "error")
        }

    assert counts() == {"total": "2", "running": "2", "stopped": "0", "in_progress": "0", "error": "0"}
    assert server.transition(Status.STOPPING)
    assert counts() == {"total": "2", "running": "1", "stopped": "0", "in_progress": "1", "error": "0"}
    assert server.transition(Status.STOPPED)
    assert counts() == {"total": "2", "running": "1", "stopped": "1", "in_progress": "0", "error": "0"}
    assert server.mark_deleted()
    assert counts() == {"total": "1", "running": "1", "stopped": "0", "in_progress": "0", "error": "0"}


def test_search_finds_part_of_an_ipv6_address_in_any_case_and_follows_address_changes(sandbox, tenant_a, tenant_b):
    v6 = make_server(tenant_a, sandbox, "six", ip="fd00:abcd::1a")
    v4 = make_server(tenant_a, sandbox, "four", ip="10.20.30.40")
    make_server(tenant_b, sandbox, "theirs", ip="fd00:abcd::1b")
    client = tenant_a.client("member")
    assert rows_in(html_of(client, page(tenant_a, "?q=FD00:ABCD"))) == [str(v6.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=::1a"))) == [str(v6.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=0.30.4"))) == [str(v4.pk)]
    address = {"ip": "192.0.2.77", "version": 4, "kind": "floating", "network": "public", "mac": ""}
    Server.objects.filter(pk=v4.pk).update(addresses=[address])
    assert rows_in(html_of(client, page(tenant_a, "?q=192.0.2.7"))) == [str(v4.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=10.20.30"))) == []


def test_servers_of_a_status_sort_newest_first(sandbox, tenant_a, tenant_b):
    older = make_server(tenant_a, sandbox, "a-older", status=Status.STOPPED)
    newer = make_server(tenant_a, sandbox, "z-newer", status=Status.STOPPED)
    running = make_server(tenant_a, sandbox, "running")
    make_server(tenant_b, sandbox, "theirs", status=Status.STOPPED)
    Server.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    client = tenant_a.client("member")
    assert rows_in(html_of(client, page(tenant_a, "?sort=status"))) == [str(running.pk), str(newer.pk), str(older.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?sort=-status"))) == [str(older.pk), str(newer.pk), str(running.pk)]


def test_a_page_reads_its_ids_then_its_rows_by_id(sandbox, tenant_a, tenant_b):
    many(tenant_a, sandbox, 30)
    make_server(tenant_b, sandbox, "theirs")
    sql = queries_of(tenant_a.client("member"), page(tenant_a, "?page=2&sort=name"))
    ids = [q for q in sql if q.startswith('SELECT "infra_server"."id" AS "pk" FROM')]
    rows = [q for q in sql if '"infra_server"."id" IN (' in q]
    assert len(ids) == 1 and "LIMIT 5" in ids[0] and "JOIN" not in ids[0]  # the index alone: no joins, no columns
    assert len(rows) == 1 and "LIMIT" not in rows[0]


def test_row_menus_drawn_once_per_shape_are_each_rows_own_menu(sandbox, tenant_a):
    servers = [
        make_server(tenant_a, sandbox, "web-1"),
        make_server(tenant_a, sandbox, 'odd <b>&"name'),  # a name adopted from the cloud, escaped in the drawing
        make_server(tenant_a, sandbox, "web-2", status=Status.STOPPED),
        make_server(tenant_a, sandbox, "web-3", status=Status.STOPPED),
        make_server(tenant_a, sandbox, "web-4", locked=True),
    ]
    scope = ProjectScope(
        organization=tenant_a.organization, membership=tenant_a.membership("member"), project=tenant_a.project
    )
    rows = servers_ui.project_servers(scope).filter(pk__in=[s.pk for s in servers])
    drawn: dict = {}
    for server in rows:
        alone = row_menu(scope, server, live=True, next_url="", request=None)
        shared = row_menu(scope, server, live=True, next_url="", request=None, drawn=drawn)
        assert shared == alone
        assert str(server.pk) in shared
    odd = rows.get(name__startswith="odd")
    assert "odd &lt;b&gt;&amp;&quot;name" in row_menu(scope, odd, live=True, next_url="", request=None, drawn=drawn)
    assert len(drawn) < len(servers)  # running ones share, stopped ones share
