"""Faults the engine survives: transient errors, permanent errors, a task delivered twice at once, a worker that
died after the cloud made the server, a cloud that acted and then timed out, an exhausted retry budget, a refused
action, a failed build, a delete during a create. On the sandbox by failure injection; on OpenStack where a real
fault can be provoked (an unreachable endpoint, an invalid request, real concurrency)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from infra import provisioning
from infra.actions import servers as actions
from infra.models import Server
from infra.providers import driver_for
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.policy import ActionError
from tests.infra.engine import (
    activate,
    drive,
    sandbox_region,
    set_region_settings,
    small_flavors,
    small_image,
    statuses,
)


def new_server(tenant, region, name: str = "game-1", **extra) -> Server:
    small, _bigger = small_flavors(region)
    return actions.create_server(
        actor=Actor(tenant.member),
        project=tenant.project,
        region=region,
        name=name,
        flavor=small,
        image=small_image(region, small),
        **extra,
    )


def cloud_servers(server: Server) -> list:
    """The cloud's servers made for this row's request (0 or 1, if the engine is right)."""
    driver = driver_for(server.region)
    return [s for s in driver.list_servers(server.cloud_project.provider_id) if s.request_id == str(server.request_id)]


@pytest.fixture
def sandbox(db):
    return sandbox_region()


def test_transient_error_then_success_makes_one_server_on_the_sandbox(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    set_region_settings(sandbox, faults=[{"op": "create_server", "error": "unavailable", "times": 2}])
    server = new_server(tenant_a, sandbox)
    first = provisioning.drive_server(server.pk)
    server.refresh_from_db()
    assert first.retry_in is not None and server.status == Status.CREATING
    assert server.pending["failures"] == 1 and server.pending["last_error"]
    server = drive(server)
    assert server.status == Status.ACTIVE
    assert len(cloud_servers(server)) == 1


@pytest.mark.openstack
def test_transient_error_then_success_makes_one_server_on_openstack(openstack_region, tenant_a, tmp_path: Path):
    region = openstack_region
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    good = dict(region.settings)
    # A clouds.yaml whose keystone does not answer (nothing listens on port 9): a real connection error.
    unreachable = tmp_path / "clouds.yaml"
    unreachable.write_text(
        "clouds:\n  down:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: x\n      password: x\n"
        "      project_name: x\n      user_domain_id: default\n      project_domain_id: default\n"
        "    identity_api_version: 3\n    api_timeout: 3\n"
    )
    set_region_settings(region, cloud="down", clouds_file=str(unreachable))
    server = new_server(tenant_a, region)
    server.region.refresh_from_db()
    step = provisioning.drive_server(server.pk)
    server.refresh_from_db()
    assert step.retry_in is not None and server.status == Status.CREATING and server.pending["failures"] == 1
    set_region_settings(region, **good)
    server = drive(server)
    assert server.status == Status.ACTIVE, server.error_message
    assert len(cloud_servers(server)) == 1
    drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))


def test_permanent_error_puts_the_server_in_error_with_the_clouds_message(region, tenant_a):
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    if region.provider == "sandbox":
        set_region_settings(region, faults=[{"op": "create_server", "error": "invalid", "times": 1}])
        server = drive(new_server(tenant_a, region))
    else:  # a key pair the cloud does not have: nova answers 400
        server = new_server(tenant_a, region)
        Server.objects.filter(pk=server.pk).update(keypair_name="no-such-key-pair")
        server = drive(server)
    assert server.status == Status.ERROR
    assert server.error_message.startswith("Could not create the instance: ")
    assert len(server.error_message) > len("Could not create the instance: ")
    assert not server.provider_id and not server.pending
    assert cloud_servers(server) == []


@pytest.mark.django_db(transaction=True)
def test_the_create_task_delivered_twice_at_once_makes_one_server(region, tenant_a):
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    if region.provider == "sandbox":
        set_region_settings(region, latency_ms=300)  # both copies are inside the cloud call at the same time
    server = new_server(tenant_a, region)
    barrier = threading.Barrier(2)
    steps: list[provisioning.Step] = []

    def deliver() -> None:
        try:
            barrier.wait()
            steps.append(provisioning.drive_server(server.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(steps) == 2
    set_region_settings(region, latency_ms=0)
    server = drive(server)
    assert server.status == Status.ACTIVE
    assert len(cloud_servers(server)) == 1
    drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))


def test_a_retry_adopts_the_server_a_dead_worker_made_by_its_request_id(region, tenant_a, settings):
    """The worker claimed the row and the cloud made the server, then the worker died before saving its id."""
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    server = new_server(tenant_a, region)
    assert provisioning._claim(server) is not None  # the dead worker's claim
    server.refresh_from_db()
    made = driver_for(region).create_server(server.cloud_project.provider_id, provisioning._spec(server))
    # Redelivered (acks_late) while the claim is still fresh: it waits, and creates nothing.
    assert provisioning.drive_server(server.pk).retry_in is not None
    assert len(cloud_servers(server)) == 1
    settings.INFRA_CLAIM_LEASE = 0  # the claim has expired: the retry takes over
    server = drive(server)
    assert server.status == Status.ACTIVE
    assert server.provider_id == made.id
    assert len(cloud_servers(server)) == 1
    drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))


def test_a_cloud_that_acted_then_timed_out_is_not_asked_twice(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    set_region_settings(sandbox, faults=[{"op": "create_server", "error": "unavailable", "after": True, "times": 1}])
    server = drive(new_server(tenant_a, sandbox))
    assert server.status == Status.ACTIVE
    assert len(cloud_servers(server)) == 1


def test_a_region_that_never_answers_ends_in_error_after_the_retry_budget(sandbox, tenant_a, settings):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    settings.INFRA_MAX_ATTEMPTS = 3
    settings.INFRA_RETRY_BASE = 0.01
    set_region_settings(sandbox, outage=True)
    server = drive(new_server(tenant_a, sandbox))
    assert server.status == Status.ERROR
    assert "did not answer after 3 attempts" in server.error_message
    set_region_settings(sandbox, outage=False)
    assert cloud_servers(server) == []


def test_a_refused_action_leaves_the_server_as_the_cloud_has_it(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    server = drive(new_server(tenant_a, sandbox))
    set_region_settings(sandbox, faults=[{"op": "server_action", "error": "conflict", "times": 1}])
    server = drive(actions.stop_server(actor=Actor(tenant_a.member), server=server))
    assert server.status == Status.ACTIVE
    assert server.error_message.startswith("Could not stop: ")
    assert not server.pending


def test_a_build_that_fails_in_the_cloud_ends_in_error_with_its_fault(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    set_region_settings(sandbox, faults=[{"op": "create_server", "error": "build_error", "times": 1}])
    server = drive(new_server(tenant_a, sandbox))
    assert server.status == Status.ERROR
    assert server.provider_id  # the cloud has it, in ERROR: it can be deleted from the console
    server = drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))
    assert server.status == Status.DELETED
    assert cloud_servers(server) == []


def test_a_hard_reboot_brings_a_server_in_error_back_to_running(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    set_region_settings(sandbox, faults=[{"op": "create_server", "error": "build_error", "times": 1}])
    server = drive(new_server(tenant_a, sandbox))
    assert server.status == Status.ERROR
    with pytest.raises(ActionError, match="while it is error"):
        actions.reboot_server(actor=Actor(tenant_a.member), server=server)  # a soft reboot needs a running one
    server = drive(actions.reboot_server(actor=Actor(tenant_a.member), server=server, hard=True))
    assert server.status == Status.ACTIVE


def test_a_server_in_error_that_the_cloud_never_made_cannot_be_rebooted(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    server = new_server(tenant_a, sandbox)
    Server.objects.filter(pk=server.pk).update(status=Status.ERROR, error_message="Quota exceeded in the cloud.")
    server.refresh_from_db()
    with pytest.raises(ActionError, match="never made in the cloud"):
        actions.reboot_server(actor=Actor(tenant_a.member), server=server, hard=True)
    assert statuses(server) == Status.ERROR


def test_a_delete_during_a_create_deletes_what_the_cloud_made(region, tenant_a):
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    server = new_server(tenant_a, region)
    provisioning.drive_server(server.pk)  # the create is sent; the server is building
    server.refresh_from_db()
    assert server.status == Status.BUILDING
    server = drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))
    assert server.status == Status.DELETED
    assert cloud_servers(server) == []


def test_a_delete_before_the_create_was_sent_creates_nothing(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    server = new_server(tenant_a, sandbox)
    server = drive(actions.delete_server(actor=Actor(tenant_a.member), server=server))
    assert server.status == Status.DELETED
    assert cloud_servers(server) == []
