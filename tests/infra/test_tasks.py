"""The tasks with a real Celery worker on the test broker: an action's commit sends the work, the worker drives it to
the end by re-scheduling itself; a create whose enqueue failed (the broker was down) is recovered by the re-drive."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.harness.processes import ROOT, child_environment
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
