"""The project's server list: what each column shows, the counts (one query) that filter, filters, sorting and search
by name or IP, constant queries for 10 and 200 servers, the empty state that leads to the wizard, the launch button
(members, disabled with the reason while suspended), viewers and visiting operators read only, and another tenant's
servers never shown.

Rows are made with the ORM in a ready cloud project on a sandbox region (`make_server`): the list only reads the
mirror. The other list test files import these helpers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra.models import CloudProject, Region, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image


def ready(tenant, region: Region) -> CloudProject:
    """The tenant's project, set up in `region` (once)."""
    existing = CloudProject.objects.filter(project=tenant.project, region=region).first()
    return existing or activate(tenant.project, region, Actor(tenant.admin))


def make_server(
    tenant,
    region: Region,
    name: str,
    *,
    status: Status = Status.ACTIVE,
    ip: str = "",
    bigger: bool = False,
    **fields: object,
) -> Server:
    """A server row of the tenant's project as the mirror would hold it (nothing driven)."""
    cloud_project = ready(tenant, region)
    small, large = small_flavors(region)
    flavor = large if bigger else small
    addresses = (
        [{"ip": ip, "version": 4, "kind": "fixed", "network": "default", "mac": "fa:16:3e:12:34:56"}] if ip else []
    )
    return Server.objects.create(
        project=tenant.project,
        region=region,
        cloud_project=cloud_project,
        name=name,
        status=status,
        flavor=flavor,
        image=small_image(region, small),
        addresses=addresses,
        provider_id="" if status in (Status.PENDING, Status.CREATING) else f"p-{tenant.slug}-{name}",
        created_by=tenant.member,
        **fields,
    )


def page(tenant, suffix: str = "") -> str:
    return f"/o/{tenant.slug}/main/servers/{suffix}"


def suspend(tenant) -> None:
    tenant.organization.suspended_at = timezone.now()
    tenant.organization.save(update_fields=["suspended_at"])


@pytest.fixture
def sandbox(db):
    return sandbox_region()


def html_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def rows_in(html: str) -> list[str]:
    """The ids of the server rows a page shows, in order."""
    import re

    return re.findall(r'<tr[^>]* id="server-row-([0-9a-f-]+)"', html)


def test_the_list_shows_each_servers_columns_and_links_to_its_page(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1", ip="10.0.0.5")
    html = html_of(tenant_a.client("member"), page(tenant_a))
    assert f'id="server-row-{server.pk}"' in html
    assert page(tenant_a, f"{server.pk}/") in html  # the name links to the detail page
    assert "10.0.0.5" in html and server.flavor.name in html and server.image.display_name in html
    assert sandbox.name in html and "Running" in html and tenant_a.member.display_name in html


def test_transitional_rows_say_what_they_wait_for_and_errors_say_why(sandbox, tenant_a):
    make_server(tenant_a, sandbox, "building", status=Status.BUILDING)
    make_server(tenant_a, sandbox, "broken", status=Status.ERROR, error_message="No valid host was found.")
    html = html_of(tenant_a.client("member"), page(tenant_a))
    assert "The cloud is building it…" in html and "spinner-border" in html
    assert "No valid host was found." in html


def test_counts_are_one_aggregate_and_each_links_to_its_filter(sandbox, tenant_a):
    for i in range(3):
        make_server(tenant_a, sandbox, f"run-{i}")
    make_server(tenant_a, sandbox, "off", status=Status.STOPPED)
    make_server(tenant_a, sandbox, "new", status=Status.BUILDING)
    make_server(tenant_a, sandbox, "bad", status=Status.ERROR)
    make_server(tenant_a, sandbox, "gone", status=Status.DELETED)
    html = html_of(tenant_a.client("viewer"), page(tenant_a))
    for key, n in (("total", 6), ("running", 3), ("stopped", 1), ("in_progress", 1), ("error", 1)):
        assert f'data-count="{key}"' in html
        block = html.split(f'data-count="{key}"', 1)[1].split("</a>", 1)[0]
        assert f'<strong class="server-count-n">{n}</strong>' in block, key
    assert page(tenant_a, "?status=in_progress") in html
    shown = rows_in(html_of(tenant_a.client("viewer"), page(tenant_a, "?status=in_progress")))
    assert shown == [str(Server.objects.get(name="new").pk)]


def test_filters_by_status_group_status_region_type_and_image(sandbox, tenant_a):
    other = sandbox_region("sandbox-other")
    small = make_server(tenant_a, sandbox, "small")
    large = make_server(tenant_a, sandbox, "large", bigger=True, status=Status.STOPPED)
    away = make_server(tenant_a, other, "away", status=Status.REBOOTING)
    client = tenant_a.client("member")
    assert rows_in(html_of(client, page(tenant_a, "?status=running"))) == [str(small.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?status=STOPPED"))) == [str(large.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?status=in_progress"))) == [str(away.pk)]
    assert rows_in(html_of(client, page(tenant_a, f"?region={other.pk}"))) == [str(away.pk)]
    assert rows_in(html_of(client, page(tenant_a, f"?flavor={large.flavor_id}"))) == [str(large.pk)]
    assert set(rows_in(html_of(client, page(tenant_a, f"?image={small.image_id}")))) == {str(small.pk), str(large.pk)}
    html = html_of(client, page(tenant_a, "?status=ERROR"))
    assert rows_in(html) == [] and "No instance matches these filters" in html


def test_search_by_partial_name_or_ip_but_not_by_mac(sandbox, tenant_a):
    web = make_server(tenant_a, sandbox, "web-frontend", ip="10.0.0.5")
    db = make_server(tenant_a, sandbox, "db-main", ip="192.168.7.21")
    client = tenant_a.client("member")
    assert rows_in(html_of(client, page(tenant_a, "?q=FRONT"))) == [str(web.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=168.7"))) == [str(db.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=10.0.0.5"))) == [str(web.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?q=fa:16:3e"))) == []


def test_sorting_by_name_status_created_region_and_type(sandbox, tenant_a):
    b = make_server(tenant_a, sandbox, "bravo", status=Status.STOPPED)
    a = make_server(tenant_a, sandbox, "alpha", bigger=True)
    c = make_server(tenant_a, sandbox, "charlie", status=Status.ERROR)
    client = tenant_a.client("member")
    assert rows_in(html_of(client, page(tenant_a))) == [str(c.pk), str(a.pk), str(b.pk)]  # newest first
    assert rows_in(html_of(client, page(tenant_a, "?sort=name"))) == [str(a.pk), str(b.pk), str(c.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?sort=-name"))) == [str(c.pk), str(b.pk), str(a.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?sort=created_at"))) == [str(b.pk), str(a.pk), str(c.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?sort=status"))) == [str(a.pk), str(c.pk), str(b.pk)]
    assert rows_in(html_of(client, page(tenant_a, "?sort=-flavor")))[0] == str(a.pk)
    assert len(rows_in(html_of(client, page(tenant_a, "?sort=region")))) == 3


def test_pages_of_the_list(sandbox, tenant_a):
    for i in range(30):
        make_server(tenant_a, sandbox, f"s-{i:02d}")
    client = tenant_a.client("member")
    first = rows_in(html_of(client, page(tenant_a, "?sort=name")))
    second = rows_in(html_of(client, page(tenant_a, "?sort=name&page=2")))
    assert len(first) == 25 and len(second) == 5 and not set(first) & set(second)
    assert "1\u201325 of 30 rows" in html_of(client, page(tenant_a))
    assert len(rows_in(html_of(client, page(tenant_a, "?per_page=50")))) == 30


def test_queries_are_the_same_for_10_and_200_servers(sandbox, tenant_a):
    client = tenant_a.client("member")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(tenant_a, "?per_page=100")).status_code == 200
        return len(captured)

    for i in range(10):
        make_server(tenant_a, sandbox, f"ten-{i}", ip=f"10.0.1.{i}", status=Status.STOPPED if i % 2 else Status.ACTIVE)
    queries()  # the session's first request records the user's session: not the page's cost
    few = queries()
    cloud_project = ready(tenant_a, sandbox)
    template = Server.objects.first()
    Server.objects.bulk_create(
        Server(
            project=tenant_a.project,
            region=sandbox,
            cloud_project=cloud_project,
            name=f"many-{i}",
            status=Status.BUILDING if i % 3 else Status.ACTIVE,
            flavor=template.flavor,
            image=template.image,
            created_by=tenant_a.member,
            addresses=[{"ip": f"10.1.{i // 250}.{i % 250}", "version": 4, "kind": "fixed"}],
        )
        for i in range(190)
    )
    assert queries() == few
    assert len(rows_in(html_of(client, page(tenant_a, "?per_page=100")))) == 100


def test_the_empty_state_leads_to_the_wizard(tenant_a):
    html = html_of(tenant_a.client("member"), page(tenant_a))
    assert "No instances yet" in html
    assert html.count(page(tenant_a, "launch/")) == 2  # the header's button and the empty state's


def test_viewers_read_the_list_without_checkboxes_actions_or_launch(sandbox, tenant_a):
    make_server(tenant_a, sandbox, "web-1")
    html = html_of(tenant_a.client("viewer"), page(tenant_a))
    assert "web-1" in html
    assert 'name="ids"' not in html and "bulk-form" not in html and "server-menu-" not in html
    assert page(tenant_a, "launch/") not in html and "Launch instances" not in html
    html = html_of(tenant_a.client("viewer"), page(tenant_a).replace("servers/", "servers/") + "?x=1")
    assert "data-select-all" not in html


def test_members_get_checkboxes_row_menus_and_the_launch_button(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    html = html_of(tenant_a.client("member"), page(tenant_a))
    assert f'name="ids" value="{server.pk}"' in html and "data-select-all" in html
    assert f'id="server-menu-{server.pk}"' in html
    assert 'data-confirm="Stop web-1?"' in html and 'value="stop"' in html
    assert page(tenant_a, "launch/") in html


def test_operators_visit_the_list_read_only(sandbox, tenant_a, operator_client):
    make_server(tenant_a, sandbox, "web-1")
    html = html_of(operator_client, page(tenant_a))
    assert "web-1" in html and 'name="ids"' not in html and page(tenant_a, "launch/") not in html


def test_a_suspended_organisation_sees_launch_disabled_with_the_reason(sandbox, tenant_a):
    make_server(tenant_a, sandbox, "web-1", status=Status.STOPPED)
    suspend(tenant_a)
    html = html_of(tenant_a.client("member"), page(tenant_a))
    assert "data-launch-refused" in html and page(tenant_a, "launch/") not in html
    assert "is suspended: new instances cannot be launched" in html
    # Its row's Start is shown disabled with the reason; Delete stays.
    menu = html.split('data-op="start"', 1)[0].rsplit("<", 1)[0] + html.split('data-op="start"', 1)[1][:400]
    assert "disabled" in menu and "is suspended" in menu
    assert 'value="delete"' in html


def test_another_tenants_servers_are_never_listed(sandbox, tenant_a, tenant_b):
    mine = make_server(tenant_a, sandbox, "ours", ip="10.0.0.7")
    theirs = make_server(tenant_b, sandbox, "theirs", ip="10.0.0.8")
    html = html_of(tenant_a.client("owner"), page(tenant_a))
    assert rows_in(html) == [str(mine.pk)] and "theirs" not in html and "10.0.0.8" not in html
    assert rows_in(html_of(tenant_a.client("owner"), page(tenant_a, "?q=10.0.0.8"))) == []
    html = html_of(tenant_a.client("owner"), page(tenant_a, f"?flavor={theirs.flavor_id}"))
    assert "theirs" not in html


@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
def test_another_tenants_list_is_404(sandbox, tenant_a, tenant_b, role):
    theirs = make_server(tenant_b, sandbox, "theirs")
    client = tenant_a.client(role)
    assert client.get(page(tenant_b)).status_code == 404
    assert client.get(page(tenant_b, f"{theirs.pk}/")).status_code == 404
