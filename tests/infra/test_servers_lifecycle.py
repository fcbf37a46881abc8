"""A server's whole lifecycle, driven from the actions the console and API call, on each provider's region: the
actions change rows, provisioning (as the tasks run it) talks to the cloud, usage and audit follow."""

from __future__ import annotations

import pytest

from billing.models import UsageEvent
from infra.actions import servers as actions
from infra.models import CloudProject, Server
from infra.providers import driver_for
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent
from tenants.policy import Conflict
from tests.infra.engine import activate, drive, small_flavors, small_image


def usage(server: Server) -> list[tuple[str, str]]:
    return [(e.action, e.dimensions["flavor"]) for e in UsageEvent.objects.filter(resource_id=server.pk).order_by("id")]


def test_activating_a_project_makes_its_cloud_project_with_a_default_network(region, tenant_a):
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    assert cloud_project.provider_id
    assert cloud_project.network_id and cloud_project.subnet_id and cloud_project.router_id
    driver = driver_for(region)
    assert driver.get_project(cloud_project.provider_id).id == cloud_project.provider_id
    actions_logged = set(AuditEvent.objects.filter(project=tenant_a.project).values_list("action", flat=True))
    assert {"project.region.activate", "project.region.ready"} <= actions_logged


def test_a_server_runs_its_whole_lifecycle_from_the_actions(region, tenant_a):
    member = Actor(tenant_a.member)
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, bigger = small_flavors(region)
    image = small_image(region, small)
    driver = driver_for(region)

    server = actions.create_server(
        actor=member, project=tenant_a.project, region=region, name="web-1", flavor=small, image=image
    )
    assert server.status == Status.PENDING
    server = drive(server)
    assert server.status == Status.ACTIVE, server.error_message
    assert server.provider_id and server.launched_at
    assert any(a["kind"] == "fixed" for a in server.addresses)
    cloud = driver.get_server(cloud_project.provider_id, server.provider_id)
    assert cloud.request_id == str(server.request_id)
    assert usage(server) == [("start", small.name)]

    server = drive(actions.stop_server(actor=member, server=server))
    assert server.status == Status.STOPPED
    assert usage(server)[-1] == ("stop", small.name)

    server = drive(actions.start_server(actor=member, server=server))
    assert server.status == Status.ACTIVE

    server = drive(actions.reboot_server(actor=member, server=server, hard=True))
    assert server.status == Status.ACTIVE

    server = drive(actions.resize_server(actor=member, server=server, flavor=bigger))
    assert server.status == Status.VERIFY_RESIZE
    assert server.flavor_id == bigger.pk
    assert usage(server)[-2:] == [("stop", small.name), ("start", bigger.name)]
    server = drive(actions.confirm_resize(actor=member, server=server))
    assert (server.status, server.flavor_id) == (Status.ACTIVE, bigger.pk)

    server = drive(actions.resize_server(actor=member, server=server, flavor=small))
    assert server.status == Status.VERIFY_RESIZE
    server = drive(actions.revert_resize(actor=member, server=server))
    assert (server.status, server.flavor_id) == (Status.ACTIVE, bigger.pk)
    assert driver.get_server(cloud_project.provider_id, server.provider_id).flavor_id == bigger.provider_id

    server = drive(actions.rebuild_server(actor=member, server=server, image=image))
    assert server.status == Status.ACTIVE

    actions.rename_server(actor=member, server=server, name="web-renamed")
    from infra import provisioning

    assert provisioning.push_server_attributes(server.pk).retry_in is None
    assert driver.get_server(cloud_project.provider_id, server.provider_id).name == "web-renamed"

    actions.lock_server(actor=member, server=server)
    provisioning.push_server_attributes(server.pk)
    assert driver.get_server(cloud_project.provider_id, server.provider_id).locked
    server.refresh_from_db()
    with pytest.raises(Conflict, match="locked"):
        actions.stop_server(actor=member, server=server)
    with pytest.raises(Conflict, match="locked"):
        actions.delete_server(actor=member, server=server)
    actions.unlock_server(actor=member, server=server)
    provisioning.push_server_attributes(server.pk)
    assert not driver.get_server(cloud_project.provider_id, server.provider_id).locked

    server.refresh_from_db()
    server = drive(actions.delete_server(actor=member, server=server))
    assert server.status == Status.DELETED and server.deleted_at
    assert driver.find_server(cloud_project.provider_id, request_id=str(server.request_id)) is None
    assert usage(server)[-1] == ("stop", bigger.name)
    logged = list(AuditEvent.objects.filter(target_id=str(server.pk)).values_list("action", flat=True))
    for action in (
        "server.create",
        "server.stop",
        "server.start",
        "server.reboot",
        "server.resize",
        "server.resize.confirm",
        "server.resize.revert",
        "server.rebuild",
        "server.rename",
        "server.lock",
        "server.unlock",
        "server.delete",
    ):
        assert action in logged, action
    assert CloudProject.objects.get(pk=cloud_project.pk).status == CloudProject.Status.ACTIVE


def test_actions_refuse_what_the_status_does_not_allow(tenant_a):
    """A rule of the console's own (no cloud call): proven on the sandbox only."""
    from tests.infra.engine import sandbox_region

    region = sandbox_region()
    member = Actor(tenant_a.member)
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _bigger = small_flavors(region)
    server = drive(
        actions.create_server(
            actor=member,
            project=tenant_a.project,
            region=region,
            name="api-1",
            flavor=small,
            image=small_image(region, small),
        )
    )
    with pytest.raises(Conflict, match="start"):
        actions.start_server(actor=member, server=server)
    with pytest.raises(Conflict):
        actions.confirm_resize(actor=member, server=server)
    before = server.version
    server.refresh_from_db()
    assert (server.status, server.version) == (Status.ACTIVE, before)
    drive(actions.delete_server(actor=member, server=server))
