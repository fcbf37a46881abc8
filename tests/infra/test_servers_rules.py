"""Who may do what to servers and cloud projects: two tenants (another tenant's server is simply not found), roles,
the suspension rule, and input checks — each refusal changes nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from infra.actions import projects as project_actions
from infra.actions import servers as actions
from infra.models import CloudProject, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent, Organization
from tenants.policy import ActionError, NotAllowed, NotFound, Suspended
from tests.infra.engine import activate, drive, sandbox_region, set_region_settings, small_flavors, small_image


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def server_a(sandbox, tenant_a) -> Server:
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(sandbox)
    return drive(
        actions.create_server(
            actor=Actor(tenant_a.member),
            project=tenant_a.project,
            region=sandbox,
            name="a-1",
            flavor=small,
            image=small_image(sandbox, small),
        )
    )


def every_action(server: Server, sandbox) -> dict:
    small, bigger = small_flavors(sandbox)
    image = small_image(sandbox, small)
    return {
        "start": lambda actor: actions.start_server(actor=actor, server=server),
        "stop": lambda actor: actions.stop_server(actor=actor, server=server),
        "reboot": lambda actor: actions.reboot_server(actor=actor, server=server),
        "resize": lambda actor: actions.resize_server(actor=actor, server=server, flavor=bigger),
        "confirm": lambda actor: actions.confirm_resize(actor=actor, server=server),
        "revert": lambda actor: actions.revert_resize(actor=actor, server=server),
        "rebuild": lambda actor: actions.rebuild_server(actor=actor, server=server, image=image),
        "rename": lambda actor: actions.rename_server(actor=actor, server=server, name="stolen"),
        "lock": lambda actor: actions.lock_server(actor=actor, server=server),
        "unlock": lambda actor: actions.unlock_server(actor=actor, server=server),
        "delete": lambda actor: actions.delete_server(actor=actor, server=server),
    }


def test_member_cannot_touch_a_server_of_another_tenant(server_a, sandbox, tenant_b):
    before = Server.objects.filter(pk=server_a.pk).values().get()
    for name, act in every_action(server_a, sandbox).items():
        with pytest.raises(NotFound):
            act(Actor(tenant_b.owner))
        assert Server.objects.filter(pk=server_a.pk).values().get() == before, name
    assert not AuditEvent.objects.filter(actor=tenant_b.owner).exists()


def test_server_and_cloud_project_queries_keep_to_the_users_tenants(server_a, tenant_a, tenant_b, sandbox):
    activate(tenant_b.project, sandbox, Actor(tenant_b.admin))
    assert list(Server.objects.for_user(tenant_b.member)) == []
    assert list(Server.objects.for_user(tenant_a.viewer)) == [server_a]
    assert list(Server.objects.in_project(tenant_b.project)) == []
    assert set(CloudProject.objects.for_user(tenant_b.member).values_list("project", flat=True)) == {
        tenant_b.project.pk
    }


def test_viewer_cannot_create_or_operate_servers(server_a, sandbox, tenant_a):
    small, _ = small_flavors(sandbox)
    with pytest.raises(NotAllowed):
        actions.create_server(
            actor=Actor(tenant_a.viewer),
            project=tenant_a.project,
            region=sandbox,
            name="v-1",
            flavor=small,
            image=small_image(sandbox, small),
        )
    for name, act in every_action(server_a, sandbox).items():
        with pytest.raises(NotAllowed):
            act(Actor(tenant_a.viewer))
        assert Server.objects.get(pk=server_a.pk).status == Status.ACTIVE, name
    assert Server.objects.filter(project=tenant_a.project).count() == 1


def test_only_admins_activate_a_region_and_only_operators_link_a_cloud_project(sandbox, tenant_a, tenant_b):
    with pytest.raises(NotAllowed):
        project_actions.activate_region(actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox)
    with pytest.raises(NotFound):
        project_actions.activate_region(actor=Actor(tenant_b.owner), project=tenant_a.project, region=sandbox)
    with pytest.raises(NotFound):  # linking someone's cloud project by id would hand it over: operators only
        project_actions.link_cloud_project(
            actor=Actor(tenant_a.owner), project=tenant_a.project, region=sandbox, provider_id="x"
        )
    assert not CloudProject.objects.exists()


def test_suspended_organisation_can_stop_and_delete_but_not_create_start_or_resize(server_a, sandbox, tenant_a):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(suspended_at=timezone.now(), suspension_reason="x")
    for organization in (server_a.project.organization, tenant_a.project.organization):
        organization.refresh_from_db()
    small, bigger = small_flavors(sandbox)
    member = Actor(tenant_a.member)
    with pytest.raises(Suspended):
        actions.create_server(
            actor=member, project=tenant_a.project, region=sandbox, name="s-2", flavor=small,
            image=small_image(sandbox, small),
        )  # fmt: skip
    with pytest.raises(Suspended):
        actions.resize_server(actor=member, server=server_a, flavor=bigger)
    with pytest.raises(Suspended):
        actions.reboot_server(actor=member, server=server_a)
    server = drive(actions.stop_server(actor=member, server=server_a))
    assert server.status == Status.STOPPED
    with pytest.raises(Suspended):
        actions.start_server(actor=member, server=server)
    assert drive(actions.delete_server(actor=member, server=server)).status == Status.DELETED


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 64, "한글"])
def test_bad_names_are_refused_and_nothing_is_created(sandbox, tenant_a, name):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(sandbox)
    with pytest.raises(ActionError, match="letters, digits"):
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox, name=name, flavor=small,
            image=small_image(sandbox, small),
        )  # fmt: skip
    assert not Server.objects.exists()


def test_a_project_not_set_up_in_the_region_cannot_launch_there(sandbox, tenant_a):
    small, _ = small_flavors(sandbox)
    with pytest.raises(ActionError, match="activate the region"):
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox, name="x1", flavor=small,
            image=small_image(sandbox, small),
        )  # fmt: skip
    assert not Server.objects.exists()


def test_a_flavor_or_image_of_another_region_is_refused(sandbox, tenant_a):
    other = sandbox_region("sandbox-two")
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(other)
    with pytest.raises(ActionError, match="not offered"):
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox, name="x1", flavor=small,
            image=small_image(sandbox, small_flavors(sandbox)[0]),
        )  # fmt: skip
    assert not Server.objects.exists()


def test_user_data_over_64_kib_is_refused(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(sandbox)
    with pytest.raises(ActionError, match="64 KiB"):
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox, name="x1", flavor=small,
            image=small_image(sandbox, small), user_data="#cloud-config\n" + "a" * 65536,
        )  # fmt: skip
    assert not Server.objects.exists()


def test_a_region_that_is_down_takes_no_new_servers(sandbox, tenant_a):
    from infra.health import check_region

    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    set_region_settings(sandbox, outage=True)
    check_region(sandbox)
    sandbox.refresh_from_db()
    small, _ = small_flavors(sandbox)
    with pytest.raises(ActionError, match="does not take new instances"):
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=sandbox, name="x1", flavor=small,
            image=small_image(sandbox, small),
        )  # fmt: skip
    assert not Server.objects.exists()


def test_a_project_with_servers_cannot_be_deleted(server_a, tenant_a):
    from tenants import actions as tenant_actions
    from tenants.policy import Conflict

    with pytest.raises(Conflict, match="1 instances"):
        tenant_actions.delete_project(actor=Actor(tenant_a.owner), project=tenant_a.project)


def test_every_action_infra_audits_has_a_label():
    """The activity pages name what happened in words ("Instance started"), never the code ("server.start")."""
    import pathlib
    import re

    from tenants.audit_labels import ACTION_LABELS

    audited = re.compile(r'(?:record\(\s*[\w.]+,\s*|action=)"([a-z_]+\.[a-z_.]+)"')
    root = pathlib.Path(__file__).resolve().parents[2] / "infra"
    recorded = {action for path in root.rglob("*.py") for action in audited.findall(path.read_text())}
    assert {"server.start", "project.region.ready", "quota_request.approve"} <= recorded
    assert sorted(action for action in recorded if action not in ACTION_LABELS) == []


def test_every_operation_the_cloud_finishes_has_a_label():
    """`server.<op>.done` (recorded by provisioning for each op it waits for) is named in words too."""
    from infra.provisioning import DONE_WHEN
    from tenants.audit_labels import ACTION_LABELS

    assert sorted(f"server.{op}.done" for op in DONE_WHEN if f"server.{op}.done" not in ACTION_LABELS) == []


def test_the_activity_shows_a_servers_status_by_its_label_not_its_code(server_a, tenant_a):
    actions.stop_server(actor=Actor(tenant_a.member), server=server_a)
    html = tenant_a.client("owner").get(tenant_a.url("-/activity/")).content.decode()
    assert "Instance stopped" in html and "Stopping" in html
    assert ">STOPPING<" not in html
