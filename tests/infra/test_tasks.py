"""The tasks with a real Celery worker on the test broker: an action's commit sends the work, the worker drives it to
the end by re-scheduling itself; a create whose enqueue failed (the broker was down) is recovered by the re-drive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings as settings_module

from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.harness.processes import ROOT, ManagedProcess, child_environment
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_status(server: Server, status: Status, timeout: float = 60) -> Server:
    deadline = time.monotonic() + timeout
    while True:
        server.refresh_from_db()
        if server.status == status:
            return server
        assert time.monotonic() < deadline, f"{server.name} is {server.status} after {timeout} s, not {status}"
        time.sleep(0.2)


def test_the_worker_drives_a_created_server_to_running_and_a_deleted_one_away(celery_worker_process, tenant_a):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _ = small_flavors(region)
    server = actions.create_server(
        actor=Actor(tenant_a.member), project=tenant_a.project, region=region, name="by-worker", flavor=small,
        image=small_image(region, small),
    )  # fmt: skip
    server = wait_for_status(server, Status.ACTIVE)
    assert server.provider_id and not server.pending
    actions.delete_server(actor=Actor(tenant_a.member), server=server)
    assert wait_for_status(server, Status.DELETED).deleted_at


def test_a_create_enqueued_while_the_broker_was_down_is_recovered_by_the_redrive(
    celery_worker_process, tenant_a, settings
):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _ = small_flavors(region)
    image = small_image(region, small)
    # Another process (a web server) whose broker does not answer (nothing listens on port 9): the action commits,
    # its enqueue fails after commit and is logged; the request does not fail.
    script = (
        "from infra.actions import servers; from infra.models import *; from tenants.models import *;"
        "from tenants.audit import Actor;"
        f"p = Project.objects.get(pk='{tenant_a.project.pk}'); r = Region.objects.get(pk='{region.pk}');"
        f"s = servers.create_server(actor=Actor(User.objects.get(pk={tenant_a.member.pk})), project=p, region=r,"
        f" name='while-broker-down', flavor=Flavor.objects.get(pk='{small.pk}'),"
        f" image=Image.objects.get(pk='{image.pk}'));"
        "print(s.pk)"
    )
    env = child_environment({"HANEUL_CELERY_BROKER_URL": "redis://127.0.0.1:9/0"})
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    server = Server.objects.get(pk=done.stdout.strip().splitlines()[-1])
    time.sleep(1)
    server.refresh_from_db()
    assert server.status == Status.PENDING  # nothing reached a worker

    from infra import reconcile

    settings.INFRA_REDRIVE_AFTER = 0
    assert reconcile.redrive_stuck() >= 1
    assert wait_for_status(server, Status.ACTIVE).provider_id


def start_worker(name: str, queue: str) -> ManagedProcess:
    """A worker of its own queue whose unacknowledged tasks come back after 3 s, and whose claims expire after 3 s
    (the production values are an hour and two minutes)."""
    env = child_environment(
        {
            "HANEUL_CELERY_VISIBILITY_TIMEOUT": "3",
            "HANEUL_CELERY_RESTORE_INTERVAL": "1",
            "HANEUL_INFRA_CLAIM_LEASE": "3",
        }
    )
    worker = ManagedProcess(
        name,
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", f"--queues={queue}"],
        env,
    )  # fmt: skip
    worker.wait_until(lambda: " ready." in worker.log_path.read_text(errors="replace"), 30, "ready")
    return worker


def test_a_worker_killed_after_the_cloud_made_the_server_is_replaced_and_the_server_adopted(tenant_a):
    """SIGKILL in the middle of the cloud call (the cloud has made the server; the row does not know its id yet):
    the task comes back (acks_late), the next worker takes over the stale claim and adopts the server by its
    request id. One server in the cloud, none lost."""
    from infra import tasks
    from infra.providers import driver_for
    from tests.infra.engine import set_region_settings

    region = sandbox_region()
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _ = small_flavors(region)
    set_region_settings(
        region, faults=[{"op": "create_server", "error": "unavailable", "after": True, "hang_ms": 120000}]
    )
    # The row as the create action leaves it (made here so that no other worker of the default queue sees it).
    server = Server.objects.create(
        project=tenant_a.project, region=region, cloud_project=cloud_project, name="survivor", flavor=small,
        image=small_image(region, small), status=Status.PENDING, pending={"op": "create"},
    )  # fmt: skip
    queue = f"{settings_module.CELERY_TASK_DEFAULT_QUEUE}.kill"
    driver = driver_for(region)

    def made_in_cloud() -> list:
        return [s for s in driver.list_servers(cloud_project.provider_id) if s.request_id == str(server.request_id)]

    first = start_worker("celery-killed", queue)
    try:
        tasks.drive_server.apply_async(args=[str(server.pk)], queue=queue)
        first.wait_until(lambda: len(made_in_cloud()) == 1, 30, "the cloud made the server")
        server.refresh_from_db()
        assert server.status == Status.CREATING and not server.provider_id and server.claim_token
    finally:
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        first.stop()
    second = start_worker("celery-replacement", queue)
    try:
        server = wait_for_status(server, Status.ACTIVE, timeout=60)
    finally:
        second.stop()
    assert len(made_in_cloud()) == 1
    assert server.provider_id == made_in_cloud()[0].id
