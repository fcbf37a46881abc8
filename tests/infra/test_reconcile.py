"""The reconciler: drift, servers deleted or created outside the console (with the `openstack` CLI on OpenStack,
the driver itself on the sandbox), vanished linked projects, the lock, and the re-drive of lost tasks."""

from __future__ import annotations

import os
import subprocess
import uuid
from glob import glob
from pathlib import Path

import pytest

from billing.models import UsageEvent
from infra import reconcile
from infra.actions import projects as project_actions
from infra.actions import servers as server_actions
from infra.models import CloudProject, Server
from infra.providers import driver_for
from infra.providers.base import ServerAction, ServerSpec, Status
from tenants.audit import Actor
from tenants.models import AuditEvent
from tests.infra.engine import activate, drive, drive_project, sandbox_region, small_flavors, small_image
from tests.infra.test_provisioning_faults import new_server


class OutOfBand:
    """What a studio does beside the console: the `openstack` CLI on OpenStack, the driver itself on the sandbox."""

    def __init__(self, region) -> None:
        self.region = region
        self.driver = driver_for(region)

    def cli(self, *args: str, project_id: str | None = None) -> str:
        from tests.integration.openstack.cloud import CLOUD, CLOUDS_YAML

        binary = (
            os.environ.get("HANEUL_OPENSTACK_CLI")
            or sorted(glob(str(Path.home() / ".cache/haneul/openstack-venv-*/bin/openstack")), key=os.path.getmtime)[-1]
        )
        scope = ["--os-project-id", project_id, "--os-project-name", ""] if project_id else []
        env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(CLOUDS_YAML)}
        done = subprocess.run(
            [binary, "--os-cloud", CLOUD, *scope, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def create_server(self, cp: CloudProject, name: str) -> str:
        small, _ = small_flavors(self.region)
        image = small_image(self.region, small)
        if self.region.provider == "openstack":
            return self.cli(
                "server", "create", "--flavor", small.provider_id, "--image", image.provider_id,
                "--network", cp.network_id, "--wait", name, "-f", "value", "-c", "id", project_id=cp.provider_id,
            )  # fmt: skip
        spec = ServerSpec(
            name=name,
            flavor_id=small.provider_id,
            image_id=image.provider_id,
            request_id=str(uuid.uuid4()),
            network_ids=(cp.network_id,),
        )
        return self.driver.create_server(cp.provider_id, spec).id

    def delete_server(self, cp: CloudProject, server_id: str) -> None:
        if self.region.provider == "openstack":
            self.cli("server", "delete", "--wait", server_id, project_id=cp.provider_id)
        else:
            self.driver.delete_server(cp.provider_id, server_id)

    def stop_server(self, cp: CloudProject, server_id: str) -> None:
        if self.region.provider == "openstack":
            self.cli("server", "stop", server_id, project_id=cp.provider_id)
        else:
            self.driver.server_action(cp.provider_id, server_id, ServerAction("stop"))

    def make_project(self, name: str) -> str:
        if self.region.provider == "openstack":
            return self.cli("project", "create", name, "-f", "value", "-c", "id")
        from infra.providers.base import ProjectSpec

        return self.driver.ensure_project(ProjectSpec(name=name)).id

    def delete_project(self, project_id: str) -> None:
        if self.region.provider == "openstack":
            self.cli("project", "delete", project_id)
        else:
            from infra.providers.sandbox.models import SandboxProject

            SandboxProject.objects.filter(region_id=self.region.pk, id=project_id).delete()


def settle(region, predicate, what: str, timeout: float = 180) -> None:
    """Reconcile until `predicate()` holds (a cloud takes a moment to report a change)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        reconcile.reconcile_region(region)
        if predicate():
            return
        assert time.monotonic() < deadline, f"the reconciler never saw {what}"
        time.sleep(0.05 if region.provider == "sandbox" else 1.0)


def test_servers_made_and_deleted_outside_the_console_appear_and_go(region, tenant_a, settings):
    settings.INFRA_RECONCILE_QUIET = 0
    cp = activate(tenant_a.project, region, Actor(tenant_a.admin))
    oob = OutOfBand(region)
    provider_id = oob.create_server(cp, "made-by-cli")

    settle(region, lambda: Server.objects.filter(provider_id=provider_id).exists(), "the new server")
    server = Server.objects.get(provider_id=provider_id)
    assert (server.project, server.name, server.adopted) == (tenant_a.project, "made-by-cli", True)
    settle(region, lambda: Server.objects.get(pk=server.pk).status == Status.ACTIVE, "it running")
    assert AuditEvent.objects.filter(action="server.adopt", target_id=str(server.pk)).exists()
    assert UsageEvent.objects.filter(resource_id=server.pk, action="start").count() == 1

    oob.stop_server(cp, provider_id)
    settle(region, lambda: Server.objects.get(pk=server.pk).status == Status.STOPPED, "it stopped")

    oob.delete_server(cp, provider_id)
    settle(region, lambda: Server.objects.get(pk=server.pk).status == Status.DELETED, "it deleted")
    server.refresh_from_db()
    assert server.deleted_at and "outside the console" in server.error_message
    assert AuditEvent.objects.filter(action="server.vanished", target_id=str(server.pk)).exists()


def test_a_server_the_console_made_is_matched_not_adopted_twice(tenant_a, settings):
    """Matching is the console's logic (the request tag read back is proven on both drivers by the contract suite)."""
    settings.INFRA_RECONCILE_QUIET = 0
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    server = drive(new_server(tenant_a, region))
    reconcile.reconcile_region(region)
    assert Server.objects.filter(project=tenant_a.project).count() == 1
    server.refresh_from_db()
    assert server.status == Status.ACTIVE and not server.adopted
    drive(server_actions.delete_server(actor=Actor(tenant_a.member), server=server))


def test_a_linked_project_that_vanished_is_flagged_and_pages_still_open(region, tenant_a, operator, settings):
    settings.INFRA_RECONCILE_QUIET = 0
    oob = OutOfBand(region)
    provider_id = oob.make_project(f"studio-legacy-{uuid.uuid4().hex[:6]}")
    cp = drive_project(
        project_actions.link_cloud_project(
            actor=Actor(operator, operator=True), project=tenant_a.project, region=region, provider_id=provider_id
        )
    )
    assert cp.status == CloudProject.Status.ACTIVE, cp.error_message
    oob.delete_project(provider_id)
    reconcile.reconcile_region(region)
    cp.refresh_from_db()
    assert cp.status == CloudProject.Status.VANISHED
    assert "no longer exists" in cp.error_message
    assert AuditEvent.objects.filter(action="project.region.vanished", project=tenant_a.project).exists()
    client = tenant_a.client("owner")
    assert client.get(tenant_a.url("main/")).status_code == 200
    assert client.get(tenant_a.url()).status_code == 200


def test_linking_an_unknown_cloud_project_ends_in_error_saying_so(tenant_a, operator):
    region = sandbox_region()
    cp = drive_project(
        project_actions.link_cloud_project(
            actor=Actor(operator, operator=True), project=tenant_a.project, region=region, provider_id="no-such-id"
        )
    )
    assert cp.status == CloudProject.Status.ERROR
    assert "no-such-id" in cp.error_message


def test_a_cloud_project_belongs_to_one_console_project_only(tenant_a, tenant_b, operator):
    from tenants.policy import Conflict

    region = sandbox_region()
    cp = activate(tenant_a.project, region, Actor(tenant_a.admin))
    with pytest.raises(Conflict, match="already belongs"):
        project_actions.link_cloud_project(
            actor=Actor(operator, operator=True), project=tenant_b.project, region=region, provider_id=cp.provider_id
        )
    assert not CloudProject.objects.filter(project=tenant_b.project).exists()


def test_cloud_projects_no_console_project_maps_to_are_ignored(tenant_a):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    oob = OutOfBand(region)
    stray = oob.make_project("someone-elses")
    small, _ = small_flavors(region)
    oob.driver.create_server(
        stray,
        ServerSpec(
            name="not-ours",
            flavor_id=small.provider_id,
            image_id=small_image(region, small).provider_id,
            request_id=str(uuid.uuid4()),
        ),
    )
    reconcile.reconcile_region(region)
    assert not Server.objects.filter(name="not-ours").exists()


def test_two_reconcilers_never_work_on_one_region_at_once(tenant_a):
    region = sandbox_region()
    with reconcile.region_lock(region) as first:
        assert first
        # another session (connection) tries while the first holds the lock
        import threading

        from django.db import connection

        seen = []

        def other() -> None:
            try:
                seen.append(reconcile.reconcile_region(region))
            finally:
                connection.close()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == [None]
    assert reconcile.reconcile_region(region) is not None


def test_the_catalog_follows_the_cloud(tenant_a):
    region = sandbox_region()
    flavors = list(region.flavors.filter(deleted_at__isnull=True).values_list("provider_id", flat=True))
    assert flavors and region.images.filter(deleted_at__isnull=True).exists()
    region.flavors.filter(provider_id=flavors[0]).update(provider_id="gone")  # a flavor the cloud no longer has
    reconcile.sync_catalog(region)
    assert region.flavors.get(provider_id="gone").deleted_at is not None
    assert set(region.flavors.filter(deleted_at__isnull=True).values_list("provider_id", flat=True)) == set(flavors)


def test_rows_whose_task_was_lost_are_driven_again(tenant_a, settings):
    """The broker was down when the create was enqueued: the row stayed PENDING; the re-drive sends it again."""
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    server = new_server(tenant_a, region)  # on_commit never ran (the test's transaction): as if the enqueue failed
    settings.INFRA_REDRIVE_AFTER = 3600
    assert reconcile.redrive_stuck() == 0  # not stuck yet
    settings.INFRA_REDRIVE_AFTER = 0
    assert reconcile.redrive_stuck() == 2  # the server, and its project's quotas (their push was lost the same way)
    server = drive(server)  # what the re-enqueued task does
    assert server.status == Status.ACTIVE
