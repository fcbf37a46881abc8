"""A server's page and its tabs: overview (type, image, key pair, addresses, who made it), network, activity (its
audit rows, as members may read them), the header's operations by role (none for viewers and visiting operators;
disabled with the reason for a suspended organisation), the ERROR and Deleted states, and another tenant's server
as a 404 on every page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from infra import keys
from infra.actions import keypairs as keypair_actions
from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent, Organization
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image

TABS = ("", "network/", "activity/", "console-log/", "header/")
FORM_PAGES = ("resize/", "rebuild/", "rename/")


@pytest.fixture
def sandbox(db):
    return sandbox_region()


def launch(tenant, region, *, name: str = "web-1", role: str = "member", keypair=None) -> Server:
    """A server of `tenant` made through the action and driven until it settles (ACTIVE on the sandbox)."""
    small, _ = small_flavors(region)
    return drive(
        actions.create_server(
            actor=Actor(tenant.user(role)),
            project=tenant.project,
            region=region,
            name=name,
            flavor=small,
            image=small_image(region, small),
            keypair=keypair,
        )
    )


@pytest.fixture
def server(sandbox, tenant_a) -> Server:
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    return launch(tenant_a, sandbox)


def page(tenant, server: Server, suffix: str = "") -> str:
    return f"/o/{tenant.slug}/main/servers/{server.pk}/{suffix}"


def ops_shown(html: str) -> set[str]:
    """The operations the header offers (enabled or not)."""
    return set(re.findall(r'data-op="([a-z_]+)"', html))


def enabled_forms(html: str) -> set[str]:
    """The one-click operations the page can send (a form that posts to the op's URL)."""
    return set(re.findall(r'action="[^"]*/do/([a-z_]+)/"', html))


def test_the_overview_shows_what_the_server_is_and_who_made_it(server, tenant_a):
    response = tenant_a.client("member").get(page(tenant_a, server))
    html = response.content.decode()
    assert response.status_code == 200
    assert server.name in html and "Running" in html
    assert server.flavor.name in html and server.region.name in html
    assert server.image.display_name in html
    assert server.provider_id in html and str(server.pk) in html
    assert tenant_a.member.display_name in html
    assert server.addresses and server.addresses[0]["ip"] in html
    assert f'ws-connect="/ws/live/project/{tenant_a.project.pk}/"' in html and "data-live" in html
    assert f'id="server-{server.pk}-header"' in html and f'id="server-{server.pk}-overview"' in html
    for suffix in ("network/", "activity/", "console-log/"):  # the tab bar
        assert page(tenant_a, server, suffix) in html


def test_a_member_sees_the_operations_a_running_server_allows(server, tenant_a):
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert {"stop", "reboot", "resize", "reboot_hard", "rebuild", "rename", "lock", "delete"} <= ops_shown(html)
    assert "unlock" not in ops_shown(html) and "confirm_resize" not in ops_shown(html)
    assert {"stop", "reboot", "reboot_hard", "lock", "delete"} <= enabled_forms(html)
    assert "start" not in enabled_forms(html)  # shown, disabled, with the reason
    assert "Not while the instance is running." in html
    assert 'data-confirm="Stop web-1?"' in html and 'data-confirm="Delete web-1?"' in html


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_visiting_operators_read_every_tab_without_operations(server, tenant_a, role, operator_client):
    client = operator_client if role == "operator" else tenant_a.client("viewer")
    for suffix in TABS:
        response = client.get(page(tenant_a, server, suffix))
        html = response.content.decode()
        assert response.status_code == 200, suffix
        assert not ops_shown(html) and not enabled_forms(html), suffix
        assert "fetch-console-log" not in html
    for suffix in FORM_PAGES:
        assert client.get(page(tenant_a, server, suffix)).status_code == 403


def test_another_tenants_server_is_not_found_on_every_page_and_post(server, tenant_a, tenant_b):
    client = tenant_b.client("owner")
    for suffix in (*TABS, *FORM_PAGES):
        assert client.get(page(tenant_a, server, suffix)).status_code == 404, suffix
        # the server's id under tenant b's own project: not found either
        assert client.get(f"/o/{tenant_b.slug}/main/servers/{server.pk}/{suffix}").status_code == 404, suffix
    for suffix in ("do/stop/", "do/delete/", "console-log/", *FORM_PAGES):
        assert client.post(f"/o/{tenant_b.slug}/main/servers/{server.pk}/{suffix}").status_code == 404, suffix
        assert client.post(page(tenant_a, server, suffix)).status_code == 404, suffix
    server.refresh_from_db()
    assert server.status == Status.ACTIVE
    assert not AuditEvent.objects.filter(actor=tenant_b.owner).exists()


def test_the_key_pair_links_to_its_page_for_its_owner_and_admins_only(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    keypair = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member),
        project=tenant_a.project,
        name="laptop",
        public_key=keys.generate(comment="me@laptop")[0].openssh,
    )
    server = launch(tenant_a, sandbox, keypair=keypair)
    link = f"/o/{tenant_a.slug}/main/keypairs/{keypair.pk}/"
    assert link in tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert link in tenant_a.client("admin").get(page(tenant_a, server)).content.decode()
    viewer_html = tenant_a.client("viewer").get(page(tenant_a, server)).content.decode()
    assert link not in viewer_html and "laptop" in viewer_html


def test_the_network_tab_lists_addresses_and_the_projects_default_network(server, tenant_a):
    html = tenant_a.client("member").get(page(tenant_a, server, "network/")).content.decode()
    address = server.addresses[0]
    assert address["ip"] in html and address["mac"] in html and "IPv4" in html and "Fixed" in html
    assert server.cloud_project.cidr and server.cloud_project.cidr in html
    assert "floating IP addresses and security group rules come with the networking pages" in html


def test_the_activity_tab_lists_this_servers_audit_rows_newest_first(server, sandbox, tenant_a):
    other = launch(tenant_a, sandbox, name="other-1")
    actions.stop_server(actor=Actor(tenant_a.member), server=server)
    html = tenant_a.client("member").get(page(tenant_a, server, "activity/")).content.decode()
    assert "Instance stopped" in html and "Instance created" in html
    assert html.index("Instance stopped") < html.index("Instance created")
    assert other.name not in html.split('id="table"', 1)[-1]  # only this server's rows
    assert "IP address · via" not in html  # members read the feed, not the log's IPs and values
    owner_html = tenant_a.client("owner").get(page(tenant_a, server, "activity/")).content.decode()
    assert "IP address · via" in owner_html and "Changes" in owner_html


def test_a_suspended_organisation_sees_start_and_change_disabled_with_the_reason_and_stop_delete_allowed(
    server, tenant_a
):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(suspended_at=timezone.now())
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert "is suspended: instances can be stopped and deleted, not started or changed." in html
    assert {"stop", "delete"} <= enabled_forms(html)
    assert not {"reboot", "reboot_hard", "lock"} & enabled_forms(html)
    assert page(tenant_a, server, "resize/") not in html and page(tenant_a, server, "rebuild/") not in html


def test_a_server_in_error_says_what_to_do_and_offers_hard_reboot_and_delete(server, tenant_a):
    server.transition(Status.ERROR, error_message="Could not create the instance: no valid host was found.")
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert "The instance is in error" in html and "no valid host was found" in html
    assert "A hard reboot often brings it back. If it does not, delete it and launch a new one" in html
    assert {"delete", "reboot_hard"} <= enabled_forms(html)
    assert not ops_shown(html.split('data-banner="error"', 1)[1]) - {"delete", "reboot_hard"}  # what works


def test_a_server_in_error_the_cloud_never_made_offers_delete_only(server, tenant_a):
    server.transition(Status.ERROR, provider_id="", error_message="Quota exceeded in the cloud.")
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert "It was never made in the cloud: delete it and launch it again." in html
    assert not ops_shown(html.split('data-banner="error"', 1)[1]) - {"delete"}


def test_a_deleted_servers_page_still_opens_as_read_only_history(server, tenant_a):
    actions.delete_server(actor=Actor(tenant_a.member), server=server)
    drive(server)
    assert server.status == Status.DELETED
    for suffix in TABS:
        response = tenant_a.client("member").get(page(tenant_a, server, suffix))
        assert response.status_code == 200, suffix
        html = response.content.decode()
        assert not enabled_forms(html) and "fetch-console-log" not in html
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert "Deleted" in html and "This page keeps its history" in html
    assert tenant_a.client("member").get(page(tenant_a, server, "resize/")).status_code == 404
    assert tenant_a.client("member").post(page(tenant_a, server, "do/start/")).status_code == 404


def test_a_transitional_server_shows_what_is_happening(server, tenant_a, sandbox):
    _, bigger = small_flavors(sandbox)
    actions.resize_server(actor=Actor(tenant_a.member), server=server, flavor=bigger)
    html = tenant_a.client("member").get(page(tenant_a, server)).content.decode()
    assert f"Changing the type of web-1 to {bigger.name}…" in html and "progress-bar-indeterminate" in html
