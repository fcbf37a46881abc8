"""Metering: one UsageEvent per idempotency key, written in the caller's transaction (so never for a change that
rolled back), and exactly one per guarded server transition even when two workers race."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction

from billing import metering
from billing.models import UsageEvent
from infra.models import Server
from infra.providers.base import Status


def record(tenant, key: str):
    return metering.record(
        organization_id=tenant.organization.pk,
        project_id=tenant.project.pk,
        meter="compute.instance",
        action="start",
        resource_type="server",
        resource_id=uuid.uuid4(),
        idempotency_key=key,
        dimensions={"flavor": "g1.small"},
    )


def test_the_same_idempotency_key_is_recorded_once(tenant_a):
    assert record(tenant_a, "k-1") is not None
    assert record(tenant_a, "k-1") is None
    assert UsageEvent.objects.filter(idempotency_key="k-1").count() == 1


def test_usage_of_a_rolled_back_change_is_not_recorded(tenant_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(tenant_a, "k-2")
        raise RuntimeError("the state change failed")
    assert not UsageEvent.objects.filter(idempotency_key="k-2").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_transition_record_one_start(tenant_a):
    from tenants.audit import Actor
    from tests.infra.engine import activate, sandbox_region, small_flavors, small_image

    region = sandbox_region()
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _ = small_flavors(region)
    server = Server.objects.create(
        project=tenant_a.project,
        region=region,
        cloud_project=cloud_project,
        name="race",
        flavor=small,
        image=small_image(region, small),
        status=Status.BUILDING,
    )
    barrier = threading.Barrier(4)
    wins = []

    def worker() -> None:
        try:
            row = Server.objects.get(pk=server.pk)
            barrier.wait()
            wins.append(row.transition(Status.ACTIVE, allowed={Status.BUILDING}))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, False, False, True]
    assert list(UsageEvent.objects.filter(resource_id=server.pk).values_list("action", flat=True)) == ["start"]
