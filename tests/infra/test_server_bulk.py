"""Bulk operations on the server list: one confirmation naming how many and which (htmx partial or a page), then
each server through its action in its own transaction, with a message of what happened and what was skipped and why;
a row's own menu posts one id. Another tenant's ids are never acted on; viewers and visiting operators are refused;
a suspended organisation may stop and delete, not start."""

from __future__ import annotations

import pytest

from infra.models import Server
from infra.providers.base import Status
from tenants.models import AuditEvent
from tests.infra.test_server_list import make_server, page, suspend
from tests.infra.test_server_list import sandbox as sandbox


def bulk(client, tenant, op: str, servers, *, confirmed: bool = True, htmx: bool = False, **extra):
    data = {"op": op, "ids": [str(s.pk) for s in servers], "next": page(tenant, "?sort=name"), **extra}
    if confirmed:
        data["confirmed"] = "1"
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "bulk-confirm"} if htmx else {}
    return client.post(page(tenant, "bulk/"), data, **headers)


def statuses(*servers) -> list[str]:
    return [Server.objects.get(pk=s.pk).status for s in servers]


def messages_of(client, tenant) -> str:
    return client.get(page(tenant)).content.decode()


def test_the_confirmation_names_how_many_and_which_and_acts_on_nothing(sandbox, tenant_a):
    servers = [make_server(tenant_a, sandbox, f"web-{i}") for i in (1, 2, 3)]
    client = tenant_a.client("member")
    response = bulk(client, tenant_a, "delete", servers, confirmed=False, htmx=True)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Delete 3 instances: web-1, web-2, web-3?" in html
    assert "cannot be undone" in html and 'name="confirmed" value="1"' in html
    assert all(f'name="ids" value="{s.pk}"' in html for s in servers)
    assert statuses(*servers) == ["ACTIVE"] * 3
    # Without JavaScript, the same confirmation is a page of its own.
    response = bulk(client, tenant_a, "delete", servers, confirmed=False)
    assert response.status_code == 200 and "<html" in response.content.decode()
    assert "Delete 3 instances: web-1, web-2, web-3?" in response.content.decode()


def test_the_confirmation_foresees_which_are_skipped_and_why(sandbox, tenant_a):
    on = make_server(tenant_a, sandbox, "on")
    off = make_server(tenant_a, sandbox, "off", status=Status.STOPPED)
    html = bulk(tenant_a.client("member"), tenant_a, "stop", [on, off], confirmed=False, htmx=True).content.decode()
    assert "Stop 2 instances: off, on?" in html
    assert "1 of them will be skipped" in html and "Not while the instance is stopped." in html


def test_a_long_selection_names_the_first_ten_and_how_many_more(sandbox, tenant_a):
    servers = [make_server(tenant_a, sandbox, f"n-{i:02d}") for i in range(12)]
    html = bulk(tenant_a.client("member"), tenant_a, "reboot", servers, confirmed=False, htmx=True).content.decode()
    assert "Reboot 12 instances: n-00, n-01" in html and "n-09 and 2 more?" in html


def test_bulk_stop_acts_on_each_and_says_what_it_skipped_and_why(sandbox, tenant_a):
    web1, web2 = make_server(tenant_a, sandbox, "web-1"), make_server(tenant_a, sandbox, "web-2")
    web3 = make_server(tenant_a, sandbox, "web-3", status=Status.STOPPED)
    client = tenant_a.client("member")
    response = bulk(client, tenant_a, "stop", [web1, web2, web3])
    assert response.status_code == 302 and response["Location"] == page(tenant_a, "?sort=name")
    assert statuses(web1, web2, web3) == ["STOPPING", "STOPPING", "STOPPED"]
    html = messages_of(client, tenant_a)
    assert "2 instances are stopping." in html
    assert "Skipped: Cannot stop web-3 while it is stopped." in html
    assert AuditEvent.objects.filter(action="server.stop").count() == 2


def test_select_all_on_this_page_uses_every_row_of_the_page(sandbox, tenant_a):
    servers = [make_server(tenant_a, sandbox, f"web-{i}") for i in range(3)]
    client = tenant_a.client("member")
    data = {"op": "stop", "all_on_page": "1", "page_ids": [str(s.pk) for s in servers], "confirmed": "1"}
    assert client.post(page(tenant_a, "bulk/"), data).status_code == 302
    assert statuses(*servers) == ["STOPPING"] * 3


def test_a_rows_menu_posts_one_id(sandbox, tenant_a):
    web1, web2 = make_server(tenant_a, sandbox, "web-1"), make_server(tenant_a, sandbox, "web-2")
    client = tenant_a.client("member")
    assert bulk(client, tenant_a, "reboot", [web1]).status_code == 302
    assert statuses(web1, web2) == ["REBOOTING", "ACTIVE"]
    assert "1 instance is rebooting." in messages_of(client, tenant_a)


def test_nothing_selected_says_so(sandbox, tenant_a):
    client = tenant_a.client("member")
    html = bulk(client, tenant_a, "stop", [], confirmed=False, htmx=True).content.decode()
    assert "Select one or more instances first." in html
    response = bulk(client, tenant_a, "stop", [])
    assert response.status_code == 302 and "Select one or more instances first." in messages_of(client, tenant_a)


def test_unknown_and_form_operations_are_refused(sandbox, tenant_a):
    server = make_server(tenant_a, sandbox, "web-1")
    client = tenant_a.client("member")
    assert bulk(client, tenant_a, "resize", [server]).status_code == 400
    assert bulk(client, tenant_a, "explode", [server]).status_code == 400
    assert statuses(server) == ["ACTIVE"]


def test_another_tenants_ids_are_never_acted_on(sandbox, tenant_a, tenant_b):
    mine = make_server(tenant_a, sandbox, "mine")
    theirs = make_server(tenant_b, sandbox, "theirs")
    client = tenant_a.client("owner")
    html = bulk(client, tenant_a, "delete", [mine, theirs], confirmed=False, htmx=True).content.decode()
    assert "Delete 1 instance: mine?" in html and "theirs" not in html
    bulk(client, tenant_a, "delete", [mine, theirs])
    assert statuses(mine, theirs) == ["DELETING", "ACTIVE"]
    only_theirs = bulk(client, tenant_a, "delete", [theirs])
    assert only_theirs.status_code == 302 and statuses(theirs) == ["ACTIVE"]
    # Through their project's URL: not found.
    assert bulk(client, tenant_b, "delete", [theirs]).status_code == 404
    assert statuses(theirs) == ["ACTIVE"]
    assert not AuditEvent.objects.filter(project=tenant_b.project, action__startswith="server.").exists()


def test_viewers_are_refused_and_visiting_operators_too(sandbox, tenant_a, operator_client):
    server = make_server(tenant_a, sandbox, "web-1")
    assert bulk(tenant_a.client("viewer"), tenant_a, "stop", [server]).status_code == 403
    assert bulk(tenant_a.client("viewer"), tenant_a, "stop", [server], confirmed=False).status_code == 403
    assert bulk(operator_client, tenant_a, "stop", [server]).status_code == 403
    assert statuses(server) == ["ACTIVE"]


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_members_and_above_may_operate(sandbox, tenant_a, role):
    server = make_server(tenant_a, sandbox, "web-1")
    assert bulk(tenant_a.client(role), tenant_a, "stop", [server]).status_code == 302
    assert statuses(server) == ["STOPPING"]


def test_a_suspended_organisation_may_stop_and_delete_but_not_start(sandbox, tenant_a):
    on = make_server(tenant_a, sandbox, "on")
    off = make_server(tenant_a, sandbox, "off", status=Status.STOPPED)
    gone = make_server(tenant_a, sandbox, "gone", status=Status.STOPPED)
    suspend(tenant_a)
    client = tenant_a.client("member")
    bulk(client, tenant_a, "start", [off])
    assert statuses(off) == ["STOPPED"]
    html = messages_of(client, tenant_a)
    assert "Skipped:" in html and "is suspended" in html
    bulk(client, tenant_a, "stop", [on])
    bulk(client, tenant_a, "delete", [gone])
    assert statuses(on, gone) == ["STOPPING", "DELETING"]
