"""The servers API, changing: launches (one, several with a name pattern, `Idempotency-Key` replays and 422s, field
errors and quota refusals that create nothing), renames, deletes (in ERROR too; twice is a conflict), every lifecycle
action driven on the sandbox between steps, and the suspension rule (stop and delete only)."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from infra import keys
from infra.actions import keypairs as keypair_actions
from infra.actions import quotas as quota_actions
from infra.actions import servers as server_actions
from infra.models import Flavor, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import AuditEvent, IdempotencyRecord, Organization
from tests.infra.engine import activate, drive, sandbox_region, set_region_settings, small_flavors, small_image
from tests.infra.test_servers_api import launch, running, url
from tests.tenants.api.conftest import token_client


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def active_a(sandbox, tenant_a):
    return activate(tenant_a.project, sandbox, Actor(tenant_a.admin))


def launch_body(where, **extra) -> dict:
    small, _ = small_flavors(where)
    return {
        "name": "web-1",
        "region": where.slug,
        "flavor": str(small.pk),
        "image": str(small_image(where, small).pk),
        **extra,
    }


def act(client, tenant, server, action: str, **extra):
    return client.post(url(tenant.project, server, actions_of=True), {"action": action, **extra}, format="json")


def settle(server_id: str) -> Server:
    return drive(Server.objects.get(pk=server_id))


def suspend(tenant) -> None:
    Organization.objects.filter(pk=tenant.organization.pk).update(
        suspended_at=timezone.now(), suspension_reason="Unpaid invoice"
    )


# --- launching -----------------------------------------------------------------------------------------------------


def test_launching_one_answers_202_with_it_pending_and_it_builds(active_a, sandbox, tenant_a):
    response = token_client(tenant_a, "member").post(url(tenant_a.project), launch_body(sandbox), format="json")
    assert response.status_code == 202, response.json()
    (created,) = response.json()["servers"]
    assert (created["name"], created["status"], created["pending_op"]) == ("web-1", "PENDING", "create")
    assert created["created_by"] == tenant_a.member.email
    assert response["Location"] == f"/api/v1/projects/{tenant_a.project.pk}/servers/{created['id']}/"
    server = settle(created["id"])
    assert server.status == Status.ACTIVE and server.provider_id
    assert AuditEvent.objects.filter(action="server.create", target_id=str(server.pk), via="api").exists()


def test_launching_three_names_them_from_the_pattern_or_numbers_them(active_a, sandbox, tenant_a):
    client = token_client(tenant_a, "member")
    patterned = client.post(url(tenant_a.project), launch_body(sandbox, name="db-{n}-kr", count=3), format="json")
    assert patterned.status_code == 202, patterned.json()
    assert [s["name"] for s in patterned.json()["servers"]] == ["db-1-kr", "db-2-kr", "db-3-kr"]
    assert "Location" not in patterned
    numbered = client.post(url(tenant_a.project), launch_body(sandbox, name="game", count=3), format="json")
    assert [s["name"] for s in numbered.json()["servers"]] == ["game-1", "game-2", "game-3"]
    assert Server.objects.filter(project=tenant_a.project).count() == 6


def test_a_launch_with_user_data_and_my_own_key_pair(active_a, sandbox, tenant_a):
    keypair = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="laptop", public_key=keys.generate()[0].openssh
    )
    body = launch_body(
        sandbox,
        keypair=str(keypair.pk),
        user_data="#cloud-config\r\npackages: [nginx]\r\n",
        networks=[active_a.network_id],
        security_groups=["default"],
    )
    response = token_client(tenant_a, "member").post(url(tenant_a.project), body, format="json")
    assert response.status_code == 202, response.json()
    (created,) = response.json()["servers"]
    assert created["keypair"] == {"id": str(keypair.pk), "name": "laptop"}
    server = Server.objects.get(pk=created["id"])
    assert server.user_data == "#cloud-config\npackages: [nginx]\n"
    assert (server.network_ids, server.security_groups) == ([active_a.network_id], ["default"])
    assert settle(created["id"]).status == Status.ACTIVE


def test_the_same_idempotency_key_replays_the_launch_and_another_body_is_a_422(active_a, sandbox, tenant_a):
    client = token_client(tenant_a, "member")
    body = launch_body(sandbox, name="once-{n}", count=2)
    first = client.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="launch-1")
    again = client.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="launch-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Server.objects.filter(project=tenant_a.project).count() == 2

    other = client.post(url(tenant_a.project), {**body, "count": 3}, format="json", HTTP_IDEMPOTENCY_KEY="launch-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert Server.objects.filter(project=tenant_a.project).count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "no spaces allowed"}, "name"),
        ({"name": "{n}x"}, "name"),  # one server's name is taken as it is: braces are not host-name characters
        ({"name": ""}, "name"),
        ({"count": 21}, "count"),
        ({"count": 0}, "count"),
        ({"region": "nowhere"}, "region"),
        ({"flavor": str(uuid.uuid4())}, "flavor"),
        ({"image": "not-a-uuid"}, "image"),
        ({"keypair": str(uuid.uuid4())}, "keypair"),
        ({"user_data": "hello"}, "user_data"),
        ({"user_data": "#cloud-config\n- a list\n"}, "user_data"),
        ({"user_data": "#!/bin/sh\n" + "x" * 70_000}, "user_data"),
        ({"networks": ["some-other-network"]}, "networks"),
        ({"security_groups": ["wide-open"]}, "security_groups"),
    ],
)
def test_an_invalid_launch_is_a_400_naming_the_field_and_creates_nothing(active_a, sandbox, tenant_a, change, field):
    response = token_client(tenant_a, "member").post(
        url(tenant_a.project), launch_body(sandbox, **change), format="json", HTTP_IDEMPOTENCY_KEY="bad"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and field in response.json()["fields"], response.json()
    assert not Server.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # the key is free again for the corrected request


def test_another_regions_flavor_and_another_members_key_pair_are_refused(active_a, sandbox, tenant_a):
    other_region = sandbox_region("sandbox-two")
    foreign_flavor = Flavor.objects.filter(region=other_region).first()
    theirs = keypair_actions.import_keypair(
        actor=Actor(tenant_a.admin), project=tenant_a.project, name="admins", public_key=keys.generate()[0].openssh
    )
    response = token_client(tenant_a, "member").post(
        url(tenant_a.project),
        launch_body(sandbox, flavor=str(foreign_flavor.pk), keypair=str(theirs.pk)),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"flavor", "keypair"}
    # an owner, who sees every member's key pairs, still launches with their own only
    response = token_client(tenant_a, "owner").post(
        url(tenant_a.project), launch_body(sandbox, keypair=str(theirs.pk)), format="json"
    )
    assert response.status_code == 400 and set(response.json()["fields"]) == {"keypair"}
    assert not Server.objects.exists()


def test_a_region_the_project_has_not_activated_is_refused_with_the_reason(sandbox, tenant_a):
    response = token_client(tenant_a, "member").post(url(tenant_a.project), launch_body(sandbox), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "refused")
    assert "activate the region" in response.json()["message"]
    assert not Server.objects.exists()


def test_over_quota_is_a_409_with_the_exact_shortfall_and_creates_nothing(active_a, sandbox, tenant_a, operator):
    quota_actions.set_project_quota(
        actor=Actor(operator, operator=True), project=tenant_a.project, region=sandbox, limits={"instances": 3}
    )
    launch(tenant_a, sandbox, "old")
    response = token_client(tenant_a, "member").post(
        url(tenant_a.project), launch_body(sandbox, name="new", count=4), format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "quota_exceeded")
    assert "this needs 4, 1 of 3 are in use, so it is 2 short" in response.json()["message"]
    assert Server.objects.count() == 1


# --- rename, delete --------------------------------------------------------------------------------------------------


def test_rename_changes_the_name_and_refuses_an_invalid_one(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox, "old-name")
    client = token_client(tenant_a, "member")
    response = client.patch(url(tenant_a.project, server), {"name": "new-name"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "new-name"
    bad = client.patch(url(tenant_a.project, server), {"name": "not a host name"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["fields"]
    assert Server.objects.get(pk=server.pk).name == "new-name"


def test_a_server_in_error_can_be_deleted_and_a_second_delete_meanwhile_is_a_conflict(active_a, sandbox, tenant_a):
    set_region_settings(sandbox, faults=[{"op": "create_server", "error": "build_error", "times": 1}])
    (server,) = launch(tenant_a, sandbox, "broken")
    server = drive(server)
    assert server.status == Status.ERROR
    client = token_client(tenant_a, "member")
    body = client.get(url(tenant_a.project, server)).json()
    assert body["status"] == "ERROR" and body["error_message"]

    response = client.delete(url(tenant_a.project, server))
    assert response.status_code == 202, response.json()
    assert (response.json()["status"], response.json()["pending_op"]) == ("DELETING", "delete")
    again = client.delete(url(tenant_a.project, server))
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert settle(str(server.pk)).status == Status.DELETED
    assert client.delete(url(tenant_a.project, server)).status_code == 404  # gone: nothing left to delete


# --- actions -------------------------------------------------------------------------------------------------------


def test_every_lifecycle_action_runs_through_the_api(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox, "busy")
    small, bigger = small_flavors(sandbox)
    client = token_client(tenant_a, "member")

    def step(action: str, transitional: str, settled: str, **extra) -> dict:
        response = act(client, tenant_a, server, action, **extra)
        assert response.status_code == 202, response.json()
        assert response.json()["status"] == transitional, (action, response.json())
        assert settle(str(server.pk)).status == settled, action
        return client.get(url(tenant_a.project, server)).json()

    step("stop", "STOPPING", "STOPPED")
    step("start", "STARTING", "ACTIVE")
    step("reboot", "REBOOTING", "ACTIVE", hard=True)
    assert Server.objects.get(pk=server.pk).pending == {}
    step("resize", "RESIZING", "VERIFY_RESIZE", flavor=str(bigger.pk))
    body = step("confirm_resize", "RESIZING", "ACTIVE")
    assert body["flavor"]["id"] == str(bigger.pk)
    step("rebuild", "REBUILDING", "ACTIVE", image=str(small_image(sandbox, small).pk))

    locked = act(client, tenant_a, server, "lock")
    assert locked.status_code == 202 and locked.json()["locked"] is True
    refused = act(client, tenant_a, server, "stop")
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict") and "locked" in refused.json()["message"]
    unlocked = act(client, tenant_a, server, "unlock")
    assert unlocked.status_code == 202 and unlocked.json()["locked"] is False
    audited = set(AuditEvent.objects.filter(target_id=str(server.pk), via="api").values_list("action", flat=True))
    assert {"server.stop", "server.start", "server.reboot", "server.resize", "server.resize.confirm"} <= audited
    assert {"server.rebuild", "server.lock", "server.unlock"} <= audited


def test_revert_resize_goes_back_to_the_former_type(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox, "trial")
    small, bigger = small_flavors(sandbox)
    client = token_client(tenant_a, "member")
    assert act(client, tenant_a, server, "resize", flavor=str(bigger.pk)).status_code == 202
    assert settle(str(server.pk)).status == Status.VERIFY_RESIZE
    response = act(client, tenant_a, server, "revert_resize")
    assert (response.status_code, response.json()["status"]) == (202, "REVERTING")
    server = settle(str(server.pk))
    assert (server.status, server.flavor_id) == (Status.ACTIVE, small.pk)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "resize"}, "flavor"),
        ({"action": "rebuild"}, "image"),
        ({"action": "resize", "flavor": str(uuid.uuid4())}, "flavor"),
        ({"action": "rebuild", "image": str(uuid.uuid4())}, "image"),
        ({"action": "shelve"}, "action"),
    ],
)
def test_an_invalid_action_is_a_400_naming_the_field(active_a, sandbox, tenant_a, body, field):
    server = running(tenant_a, sandbox)
    response = token_client(tenant_a, "member").post(
        url(tenant_a.project, server, actions_of=True), body, format="json"
    )
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert Server.objects.get(pk=server.pk).status == Status.ACTIVE


def test_an_action_its_status_does_not_allow_is_a_conflict(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox)
    response = act(token_client(tenant_a, "member"), tenant_a, server, "start")
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert "running" in response.json()["message"]


def test_a_retried_stop_with_its_key_replays_instead_of_conflicting(active_a, sandbox, tenant_a):
    server = running(tenant_a, sandbox)
    client = token_client(tenant_a, "member")
    path = url(tenant_a.project, server, actions_of=True)
    first = client.post(path, {"action": "stop"}, format="json", HTTP_IDEMPOTENCY_KEY="stop-1")
    again = client.post(path, {"action": "stop"}, format="json", HTTP_IDEMPOTENCY_KEY="stop-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again["Idempotent-Replayed"] == "true" and again.json()["status"] == "STOPPING"
    other_key = client.post(path, {"action": "stop"}, format="json", HTTP_IDEMPOTENCY_KEY="stop-2")
    assert (other_key.status_code, other_key.json()["code"]) == (409, "conflict")
    assert AuditEvent.objects.filter(target_id=str(server.pk), action="server.stop").count() == 1


# --- suspended organisations ---------------------------------------------------------------------------------------


def test_a_suspended_organisation_stops_and_deletes_but_cannot_launch_start_or_change(active_a, sandbox, tenant_a):
    running_one = running(tenant_a, sandbox, "running")
    stopped = drive(server_actions.stop_server(actor=Actor(tenant_a.member), server=running(tenant_a, sandbox, "off")))
    assert stopped.status == Status.STOPPED
    _small, bigger = small_flavors(sandbox)
    suspend(tenant_a)
    client = token_client(tenant_a, "member")

    refused = [
        client.post(url(tenant_a.project), launch_body(sandbox, name="more"), format="json"),
        act(client, tenant_a, stopped, "start"),
        act(client, tenant_a, running_one, "resize", flavor=str(bigger.pk)),
        act(client, tenant_a, running_one, "rebuild", image=str(running_one.image_id)),
        act(client, tenant_a, running_one, "reboot"),
        client.patch(url(tenant_a.project, running_one), {"name": "renamed"}, format="json"),
    ]
    for response in refused:
        assert (response.status_code, response.json()["code"]) == (409, "organization_suspended"), response.json()
        assert tenant_a.organization.name in response.json()["message"]
    assert Server.objects.count() == 2
    assert Server.objects.get(pk=stopped.pk).status == Status.STOPPED

    stop = act(client, tenant_a, running_one, "stop")
    assert (stop.status_code, stop.json()["status"]) == (202, "STOPPING")
    delete = client.delete(url(tenant_a.project, stopped))
    assert (delete.status_code, delete.json()["status"]) == (202, "DELETING")
    assert client.get(url(tenant_a.project)).status_code == 200  # and it still reads everything


# --- the schema ----------------------------------------------------------------------------------------------------


def test_the_servers_endpoints_are_in_the_openapi_schema(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("servers/", "servers/{server_id}/", "servers/{server_id}/actions/"):
        assert f"/api/v1/projects/{{project_id}}/{path}:" in text
    assert "ServerCreateRequest" in text and "ServerActionRequest" in text and "VERIFY_RESIZE" in text
