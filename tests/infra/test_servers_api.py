"""The servers API, reading: the list (cursor pages newest first, filters, search by name or IP, deleted servers only
when asked, a constant number of queries per page) and one server; another tenant's project or server is a 404 for
every endpoint and method, and a viewer reads but changes nothing (403)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from infra.actions import quotas as quota_actions
from infra.actions import servers as actions
from infra.models import Resource, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image
from tests.tenants.api.conftest import session_client, token_client


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def active_a(sandbox, tenant_a):
    return activate(tenant_a.project, sandbox, Actor(tenant_a.admin))


def url(project, server=None, *, actions_of: bool = False) -> str:
    base = f"/api/v1/projects/{project.pk}/servers/"
    if server is None:
        return base
    return f"{base}{server.pk}/actions/" if actions_of else f"{base}{server.pk}/"


def launch(tenant, region, name: str = "web-1", *, count: int = 1, flavor=None, image=None) -> list[Server]:
    """Servers launched through the action (as the console does), still PENDING."""
    small, _bigger = small_flavors(region)
    return actions.create_servers(
        actor=Actor(tenant.member),
        project=tenant.project,
        region=region,
        name=name,
        count=count,
        flavor=flavor or small,
        image=image or small_image(region, small),
    )


def running(tenant, region, name: str = "web-1", **kwargs) -> Server:
    """One server driven to ACTIVE on the sandbox."""
    (server,) = launch(tenant, region, name, **kwargs)
    server = drive(server)
    assert server.status == Status.ACTIVE, server.error_message
    return server


def unlimited(operator, tenant, region) -> None:
    limits = {Resource.INSTANCES: -1, Resource.CORES: -1, Resource.RAM_MB: -1}
    quota_actions.set_project_quota(
        actor=Actor(operator, operator=True), project=tenant.project, region=region, limits=limits
    )


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- reading -------------------------------------------------------------------------------------------------------


def test_a_server_reads_with_everything_a_client_needs(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox, "api-1")
    body = token_client(tenant_a, "viewer").get(url(tenant_a.project, server)).json()
    small, _ = small_flavors(sandbox)
    assert body["id"] == str(server.pk) and body["name"] == "api-1"
    assert (body["status"], body["status_label"], body["is_transitional"]) == ("ACTIVE", "Running", False)
    assert body["pending_op"] is None and body["error_message"] == "" and body["locked"] is False
    assert body["region"] == {"slug": sandbox.slug, "name": sandbox.name}
    assert body["flavor"] == {
        "id": str(small.pk),
        "name": small.name,
        "vcpus": small.vcpus,
        "ram_mb": small.ram_mb,
        "disk_gb": small.disk_gb,
    }
    assert body["image"] == {"id": str(server.image.pk), "name": server.image.display_name}
    assert body["keypair"] is None
    assert any(address["kind"] == "fixed" and address["ip"] for address in body["addresses"])
    assert body["project"] == str(tenant_a.project.pk) and body["created_by"] == tenant_a.member.email
    assert body["launched_at"] and body["deleted_at"] is None
    assert body["links"]["console"] == f"http://testserver/o/{tenant_a.slug}/main/servers/{server.pk}/"


def test_a_server_being_built_says_what_it_waits_for(active_a, sandbox, tenant_a):
    (server,) = launch(tenant_a, sandbox)
    body = token_client(tenant_a).get(url(tenant_a.project, server)).json()
    assert (body["status"], body["is_transitional"], body["pending_op"]) == ("PENDING", True, "create")


def test_the_list_is_newest_first_in_cursor_pages_without_gaps_or_repeats(active_a, sandbox, tenant_a):
    launched = launch(tenant_a, sandbox, "batch-{n}", count=7)  # one launch: created in the same instant or close
    client = token_client(tenant_a, "viewer")
    seen, page = [], client.get(url(tenant_a.project), {"per_page": 3})
    while True:
        body = page.json()
        assert set(body) == {"next", "previous", "results"}
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        page = client.get(body["next"])
    expected = sorted(launched, key=lambda s: (s.created_at, s.pk), reverse=True)
    assert seen == [str(s.pk) for s in expected]


def test_filters_by_status_region_flavor_and_image(active_a, sandbox, tenant_a, operator):
    other_region = sandbox_region("sandbox-two")
    activate(tenant_a.project, other_region, Actor(tenant_a.admin))
    _small, bigger = small_flavors(sandbox)
    stopped = drive(actions.stop_server(actor=Actor(tenant_a.member), server=running(tenant_a, sandbox, "stopped")))
    big = running(tenant_a, sandbox, "big", flavor=bigger)
    (pending,) = launch(tenant_a, sandbox, "pending")
    (elsewhere,) = launch(tenant_a, other_region, "elsewhere")
    client = token_client(tenant_a, "viewer")
    base = url(tenant_a.project)

    assert ids(client.get(base, {"status": "STOPPED"})) == [str(stopped.pk)]
    assert set(ids(client.get(base, {"status": "STOPPED,ACTIVE"}))) == {str(stopped.pk), str(big.pk)}
    assert set(ids(client.get(f"{base}?status=PENDING&status=ACTIVE"))) == {
        str(pending.pk),
        str(elsewhere.pk),
        str(big.pk),
    }
    assert ids(client.get(base, {"region": "sandbox-two"})) == [str(elsewhere.pk)]
    assert ids(client.get(base, {"region": "nowhere"})) == []
    assert ids(client.get(base, {"flavor": str(bigger.pk)})) == [str(big.pk)]
    assert ids(client.get(base, {"flavor": bigger.name, "region": sandbox.slug})) == [str(big.pk)]
    assert set(ids(client.get(base, {"image": str(big.image_id), "region": sandbox.slug}))) == {
        str(stopped.pk),
        str(big.pk),
        str(pending.pk),
    }
    assert ids(client.get(base, {"image": str(uuid.uuid4())})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "RUNNING"}, "status"),
        ({"image": "not-a-uuid"}, "image"),
        ({"include_deleted": "maybe"}, None),
        ({"ordering": "status"}, "ordering"),
    ],
)
def test_an_invalid_filter_is_a_400_that_names_it(active_a, tenant_a, params, field):
    response = token_client(tenant_a).get(url(tenant_a.project), params)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert (field or next(iter(params))) in response.json()["fields"]


def test_search_finds_a_name_or_part_of_an_ip(active_a, sandbox, tenant_a):
    game = running(tenant_a, sandbox, "game-server")
    web = running(tenant_a, sandbox, "web")
    client = token_client(tenant_a, "viewer")
    assert ids(client.get(url(tenant_a.project), {"q": "GAME"})) == [str(game.pk)]
    ip = web.addresses[0]["ip"]
    assert ids(client.get(url(tenant_a.project), {"q": ip})) == [str(web.pk)]
    prefix = ip.rsplit(".", 1)[0] + "."
    assert set(ids(client.get(url(tenant_a.project), {"q": prefix}))) == {str(game.pk), str(web.pk)}
    assert ids(client.get(url(tenant_a.project), {"q": "fixed"})) == []  # the addresses' other fields are not text


def test_the_list_orders_by_name_or_oldest_first_and_cursors_walk_every_server_once(
    active_a, sandbox, tenant_a, tenant_b
):
    from tests.infra.test_server_list import make_server

    names = ["delta", "alpha", "charlie", "alpha", "bravo", "alpha", "echo"]  # equal names: the id breaks the tie
    servers = [make_server(tenant_a, sandbox, name, status=Status.PENDING) for name in names]  # no cloud id yet
    make_server(tenant_b, sandbox, "alpha")
    client = token_client(tenant_a, "viewer")

    def walk(ordering: str) -> list[str]:
        seen, page = [], client.get(url(tenant_a.project), {"ordering": ordering, "per_page": 2})
        while True:
            seen += ids(page)
            if page.json()["next"] is None:
                return seen
            page = client.get(page.json()["next"])

    by_name = sorted(servers, key=lambda s: (s.name, s.pk))
    assert walk("name") == [str(s.pk) for s in by_name]
    assert walk("-name") == [str(s.pk) for s in reversed(by_name)]
    oldest_first = sorted(servers, key=lambda s: (s.created_at, s.pk))
    assert walk("created_at") == [str(s.pk) for s in oldest_first]
    assert walk("-created_at") == [str(s.pk) for s in reversed(oldest_first)]


def test_search_finds_part_of_an_ipv6_address_in_any_case_but_not_a_mac(active_a, sandbox, tenant_a, tenant_b):
    from tests.infra.test_server_list import make_server

    six = make_server(tenant_a, sandbox, "six", ip="fd00:abcd::1a")
    make_server(tenant_b, sandbox, "theirs", ip="fd00:abcd::1b")
    client = token_client(tenant_a, "viewer")
    assert ids(client.get(url(tenant_a.project), {"q": "FD00:ABCD"})) == [str(six.pk)]
    assert ids(client.get(url(tenant_a.project), {"q": "::1a"})) == [str(six.pk)]
    assert ids(client.get(url(tenant_a.project), {"q": "fa:16:3e"})) == []  # its MAC


def test_deleted_servers_are_listed_only_when_asked(active_a, sandbox, tenant_a):
    gone = drive(actions.delete_server(actor=Actor(tenant_a.member), server=running(tenant_a, sandbox, "gone")))
    assert gone.status == Status.DELETED
    kept = running(tenant_a, sandbox, "kept")
    client = token_client(tenant_a, "viewer")
    assert ids(client.get(url(tenant_a.project))) == [str(kept.pk)]
    assert ids(client.get(url(tenant_a.project), {"include_deleted": "true"})) == [str(kept.pk), str(gone.pk)]
    assert ids(client.get(url(tenant_a.project), {"status": "DELETED"})) == [str(gone.pk)]
    body = client.get(url(tenant_a.project, gone)).json()  # its history stays readable
    assert body["status"] == "DELETED" and body["deleted_at"]


def test_the_list_costs_the_same_queries_for_10_and_200_servers(active_a, sandbox, tenant_a, operator):
    unlimited(operator, tenant_a, sandbox)
    client = token_client(tenant_a, "viewer")

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url(tenant_a.project), {"per_page": 100, **params})
        assert response.status_code == 200
        return len(captured)

    launch(tenant_a, sandbox, "few-{n}", count=10)
    queries()  # the token's first use is recorded once (then at most once a minute)
    few, few_searched = queries(), queries(q="few", status="PENDING")
    for batch in range(19):
        launch(tenant_a, sandbox, f"many{batch}-{{n}}", count=10)
    assert Server.objects.filter(project=tenant_a.project).count() == 200
    assert queries() == few
    assert queries(q="few", status="PENDING") == few_searched


# --- two tenants, roles ----------------------------------------------------------------------------------------------


def test_another_tenants_project_and_servers_are_not_found_for_every_method(active_a, sandbox, tenant_a, tenant_b):
    server = running(tenant_a, sandbox, "secret")
    before = Server.objects.filter(pk=server.pk).values().get()
    small, _ = small_flavors(sandbox)
    create = {"name": "x", "region": sandbox.slug, "flavor": str(small.pk), "image": str(server.image_id)}
    for client in (token_client(tenant_b), session_client(tenant_b)):
        answers = [
            client.get(url(tenant_a.project)),
            client.post(url(tenant_a.project), create, format="json"),
            client.get(url(tenant_a.project, server)),
            client.patch(url(tenant_a.project, server), {"name": "stolen"}, format="json"),
            client.delete(url(tenant_a.project, server)),
            client.post(url(tenant_a.project, server, actions_of=True), {"action": "stop"}, format="json"),
            # their own project, with tenant a's server id: not found either
            client.get(url(tenant_b.project, server)),
            client.patch(url(tenant_b.project, server), {"name": "stolen"}, format="json"),
            client.delete(url(tenant_b.project, server)),
            client.post(url(tenant_b.project, server, actions_of=True), {"action": "stop"}, format="json"),
        ]
        assert [(r.status_code, r.json()["code"]) for r in answers] == [(404, "not_found")] * len(answers)
    assert Server.objects.filter(pk=server.pk).values().get() == before
    assert Server.objects.count() == 1
    assert not AuditEvent.objects.filter(actor=tenant_b.owner, action__startswith="server.").exists()


def test_a_token_of_another_organisation_of_the_same_user_does_not_reach_the_project(active_a, sandbox, tenant_a):
    from tenants.models import Membership, Organization, Project, Role
    from tests.conftest import make_api_token

    other = Organization.objects.create(name="Side", slug="side")
    Project.objects.create(organization=other, name="Main", slug="main")
    Membership.objects.create(user=tenant_a.owner, organization=other, role=Role.OWNER)
    server = running(tenant_a, sandbox)
    _token, secret = make_api_token(tenant_a.owner, other)
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(url(tenant_a.project)).status_code == 404
    assert client.get(url(tenant_a.project, server)).status_code == 404


@pytest.mark.parametrize("who", ["viewer", "owner-with-a-viewer-token"])
def test_a_viewer_reads_but_every_write_is_403_and_changes_nothing(active_a, sandbox, tenant_a, who):
    server = running(tenant_a, sandbox, "watched")
    before = Server.objects.filter(pk=server.pk).values().get()
    client = token_client(tenant_a, "viewer") if who == "viewer" else token_client(tenant_a, "owner", ceiling="viewer")
    assert ids(client.get(url(tenant_a.project))) == [str(server.pk)]
    assert client.get(url(tenant_a.project, server)).status_code == 200
    small, bigger = small_flavors(sandbox)
    create = {"name": "v-1", "region": sandbox.slug, "flavor": str(small.pk), "image": str(server.image_id)}
    writes = [
        client.post(url(tenant_a.project), create, format="json"),
        client.patch(url(tenant_a.project, server), {"name": "renamed"}, format="json"),
        client.delete(url(tenant_a.project, server)),
    ]
    for body in (
        {"action": "stop"},
        {"action": "reboot", "hard": True},
        {"action": "resize", "flavor": str(bigger.pk)},
        {"action": "rebuild", "image": str(server.image_id)},
        {"action": "lock"},
    ):
        writes.append(client.post(url(tenant_a.project, server, actions_of=True), body, format="json"))
    assert [(r.status_code, r.json()["code"]) for r in writes] == [(403, "permission_denied")] * len(writes)
    assert Server.objects.filter(pk=server.pk).values().get() == before
    assert Server.objects.count() == 1


def test_a_session_client_reads_the_list_too(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox)
    assert ids(session_client(tenant_a, "member").get(url(tenant_a.project))) == [str(server.pk)]
