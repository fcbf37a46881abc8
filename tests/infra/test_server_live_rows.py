"""The list's live fragments: a server's row as the table draws it for the connection's role (a viewer's has no
checkbox or menu; a member's has the whole menu, its forms without a CSRF token, which console.js fills in), with the
counts; a deleted server's row says Deleted; a server being created that the page does not show raises the "new
instances" notice; another tenant's server renders nothing."""

from __future__ import annotations

import re

from infra import live as infra_live
from infra import views_servers
from infra.providers.base import Status
from tenants.scope import ProjectScope
from tests.infra.test_server_list import make_server, page, rows_in
from tests.infra.test_server_list import sandbox as sandbox


def server_fragments(page: object, pk: str) -> str | None:
    """Everything a connection of `page` gets for a server event (its messages, joined), loaded and rendered for it
    alone, as the shared path does for each variant."""
    event = infra_live.load_server(page, pk)
    if event is None or not isinstance(page, ProjectScope):
        return None
    return "".join(infra_live.render_server(page, event))


def scope_of(tenant, role: str) -> ProjectScope:
    return ProjectScope(organization=tenant.organization, membership=tenant.membership(role), project=tenant.project)


def cells(html: str) -> int:
    row = re.search(r"<tr [^>]*>(.*?)</tr>", html, re.S).group(1)
    return row.count("<td ")


def test_a_members_live_row_has_the_checkbox_and_the_whole_menu_without_a_token(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1", ip="10.0.0.9")
    html = views_servers.live_row(scope_of(tenant_a, "member"), server)
    assert f'<tr id="server-row-{server.pk}"' in html and 'hx-swap-oob="true"' in html
    assert f'name="ids" value="{server.pk}"' in html and "10.0.0.9" in html and "Running" in html
    assert 'data-op="stop"' in html and 'data-op="reboot"' in html  # the menu itself: nothing to load
    assert "?row=" not in html and 'hx-trigger="load"' not in html
    # Shared by everyone of the role: no one's token. console.js puts the page's in, and the list's URL in `next`.
    assert "csrfmiddlewaretoken" not in html
    assert f'name="next" value="{page(tenant_a)}" data-next-here' in html
    assert 'id="server-counts"' in html and html.count('hx-swap-oob="true"') == 2


def test_the_live_row_has_the_same_cells_as_the_page_for_each_role(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    for role in ("member", "viewer"):
        page_html = tenant_a.client(role).get(page(tenant_a)).content.decode()
        page_row = re.search(rf'<tr id="server-row-{server.pk}".*?</tr>', page_html, re.S).group(0)
        live_html = views_servers.live_row(scope_of(tenant_a, role), server)
        assert cells(live_html) == page_row.count("<td "), role
    assert cells(views_servers.live_row(scope_of(tenant_a, "viewer"), server)) == 8
    assert cells(views_servers.live_row(scope_of(tenant_a, "member"), server)) == 10


def test_a_viewers_live_row_has_no_checkbox_or_menu(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    html = views_servers.live_row(scope_of(tenant_a, "viewer"), server)
    assert f'id="server-row-{server.pk}"' in html
    assert 'name="ids"' not in html and "server-menu-" not in html and "?row=" not in html


def test_a_visiting_operators_live_row_is_read_only(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    scope = ProjectScope(
        organization=tenant_a.organization, membership=None, operator_visit=True, project=tenant_a.project
    )
    html = views_servers.live_row(scope, server)
    assert 'name="ids"' not in html and "server-menu-" not in html


def test_a_status_change_shows_in_the_row_and_the_counts(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    make_server(tenant_a, sandbox, "web-2", status=Status.STOPPED)
    server.transition(Status.STOPPING)
    html = views_servers.live_row(scope_of(tenant_a, "member"), server)
    assert "Stopping" in html and "Shutting down…" in html and 'data-status="STOPPING"' in html
    counts = html.split('id="server-counts"', 1)[1]
    assert re.search(r'data-count="in_progress".*?server-count-n">1<', counts, re.S)
    assert re.search(r'data-count="running".*?server-count-n">0<', counts, re.S)


def test_a_deleted_servers_row_says_deleted_without_operations(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    server.mark_deleted()
    html = server_fragments(scope_of(tenant_a, "member"), str(server.pk))
    assert 'data-status="DELETED"' in html and "Deleted" in html
    assert 'name="ids"' not in html and "server-menu-" not in html
    assert rows_in(tenant_a.client("member").get(page(tenant_a)).content.decode()) == []  # gone on the next load


def test_a_server_being_created_raises_the_new_instances_notice_where_its_row_is_missing(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "new-1", status=Status.PENDING)
    html = views_servers.live_row(scope_of(tenant_a, "member"), server)
    assert f'hx-swap-oob="innerHTML:#servers-live:not(:has(#server-row-{server.pk})) #server-new-notice"' in html
    assert "New instances — refresh" in html
    running = make_server(tenant_a, sandbox, "old-1")
    assert "server-new-notice" not in views_servers.live_row(scope_of(tenant_a, "member"), running)


def test_another_tenants_server_renders_nothing_for_our_pages(sandbox, tenant_a, tenant_b):
    theirs = make_server(tenant_b, sandbox, "theirs")
    assert infra_live.load_server(scope_of(tenant_a, "owner"), str(theirs.pk)) is None
    assert server_fragments(scope_of(tenant_a, "owner"), "not-an-id") is None
