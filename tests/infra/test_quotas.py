"""Quotas: limits per project and region (own, else the region's default), enforced by the creating actions under a
lock on the project's quota row, counted as OpenStack counts (ERROR servers too), and pushed to the cloud project."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from infra import provisioning, quotas, tasks
from infra.actions import quotas as quota_actions
from infra.actions import servers as actions
from infra.models import CloudProject, ProjectQuota, Resource, Server
from infra.providers import driver_for
from infra.providers.base import Status
from infra.quotas import OverQuota
from tenants.audit import Actor
from tenants.models import AuditEvent
from tenants.policy import ActionError, NotFound
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image


@pytest.fixture
def sandbox(db):
    return sandbox_region()


@pytest.fixture
def active_a(sandbox, tenant_a):
    return activate(tenant_a.project, sandbox, Actor(tenant_a.admin))


def launch(tenant, region, name: str = "game-1", flavor=None) -> Server:
    small, _bigger = small_flavors(region)
    flavor = flavor or small
    return actions.create_server(
        actor=Actor(tenant.member),
        project=tenant.project,
        region=region,
        name=name,
        flavor=flavor,
        image=small_image(region, small),
    )


def set_limits(operator, project, region, **limits) -> None:
    quota_actions.set_project_quota(actor=Actor(operator, operator=True), project=project, region=region, limits=limits)


@pytest.mark.django_db(transaction=True)
def test_concurrent_launches_at_the_quota_edge_pass_exactly_the_allowed_number(tenant_a, operator, monkeypatch):
    # Real commits here: keep their tasks from the session's Celery worker (if one runs), which would drive the
    # servers on this database while the test's teardown empties it. What is tested is the action's lock alone.
    for task in (tasks.drive_server, tasks.drive_cloud_project, tasks.push_quotas):
        monkeypatch.setattr(task, "delay", lambda *args, **kwargs: None)
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    set_limits(operator, tenant_a.project, region, instances=3)
    launch(tenant_a, region, "already-1")  # one in use: two more may pass
    barrier = threading.Barrier(6)
    results: list[str] = []
    lock = threading.Lock()

    def try_launch(number: int) -> None:
        try:
            barrier.wait()
            launch(tenant_a, region, f"race-{number}")
            outcome = "created"
        except OverQuota:
            outcome = "refused"
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=try_launch, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["created"] * 2 + ["refused"] * 4
    assert Server.objects.filter(project=tenant_a.project, region=region).live().count() == 3


def test_launch_over_the_vcpu_limit_is_refused_with_the_exact_shortfall(sandbox, active_a, tenant_a, operator):
    small, _bigger = small_flavors(sandbox)
    set_limits(operator, tenant_a.project, sandbox, cores=small.vcpus * 2)
    launch(tenant_a, sandbox, "one")
    launch(tenant_a, sandbox, "two")
    with pytest.raises(OverQuota) as refused:
        launch(tenant_a, sandbox, "three")
    message = refused.value.message
    assert "vCPUs" in message
    assert f"{small.vcpus * 2} of {small.vcpus * 2}" in message
    assert Server.objects.filter(project=tenant_a.project).count() == 2


def test_error_servers_count_until_deleted(sandbox, active_a, tenant_a, operator):
    set_limits(operator, tenant_a.project, sandbox, instances=1)
    failed = launch(tenant_a, sandbox, "broken")
    provisioning.fail(failed, "no valid host")
    failed.refresh_from_db()
    assert failed.status == Status.ERROR
    with pytest.raises(OverQuota):
        launch(tenant_a, sandbox, "second")
    drive(actions.delete_server(actor=Actor(tenant_a.member), server=failed))
    assert launch(tenant_a, sandbox, "second").status == Status.PENDING


def test_quota_of_one_tenant_does_not_count_the_servers_of_another(sandbox, active_a, tenant_a, tenant_b, operator):
    activate(tenant_b.project, sandbox, Actor(tenant_b.admin))
    set_limits(operator, tenant_a.project, sandbox, instances=1)
    set_limits(operator, tenant_b.project, sandbox, instances=1)
    launch(tenant_b, sandbox, "b-1")
    assert launch(tenant_a, sandbox, "a-1").status == Status.PENDING
    assert quotas.usage(tenant_a.project, sandbox)["instances"] == 1


def test_resize_beyond_the_ram_limit_is_refused_and_changes_nothing(sandbox, active_a, tenant_a, operator):
    small, bigger = small_flavors(sandbox)
    server = drive(launch(tenant_a, sandbox))
    set_limits(operator, tenant_a.project, sandbox, ram_mb=small.ram_mb + (bigger.ram_mb - small.ram_mb) - 1)
    with pytest.raises(OverQuota):
        actions.resize_server(actor=Actor(tenant_a.member), server=server, flavor=bigger)
    server.refresh_from_db()
    assert server.status == Status.ACTIVE and server.flavor_id == small.pk


def test_region_defaults_apply_to_projects_without_their_own_limit(sandbox, active_a, tenant_a, operator):
    quota_actions.set_region_quota_defaults(
        actor=Actor(operator, operator=True), region=sandbox, limits={"instances": 1}
    )
    launch(tenant_a, sandbox, "only")
    with pytest.raises(OverQuota):
        launch(tenant_a, sandbox, "too-many")
    set_limits(operator, tenant_a.project, sandbox, instances=5)  # its own limit wins over the default
    assert launch(tenant_a, sandbox, "now-fine").status == Status.PENDING
    with pytest.raises(ActionError, match="2 are in use"):  # back to the default of 1: below what is in use
        set_limits(operator, tenant_a.project, sandbox, instances=None)
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 5


def test_operator_cannot_set_a_limit_below_what_is_in_use(sandbox, active_a, tenant_a, operator):
    launch(tenant_a, sandbox, "one")
    launch(tenant_a, sandbox, "two")
    with pytest.raises(ActionError, match="2 are in use"):
        set_limits(operator, tenant_a.project, sandbox, instances=1)
    assert quotas.limits(tenant_a.project, sandbox)["instances"] == 10


def test_only_operators_set_limits(sandbox, active_a, tenant_a):
    for user in (tenant_a.owner, tenant_a.admin, tenant_a.member):
        with pytest.raises(NotFound):
            quota_actions.set_project_quota(
                actor=Actor(user), project=tenant_a.project, region=sandbox, limits={"instances": 100}
            )
        with pytest.raises(NotFound):
            quota_actions.set_region_quota_defaults(actor=Actor(user), region=sandbox, limits={"instances": 100})
    assert not ProjectQuota.objects.filter(instances=100).exists()


def test_limit_changes_are_audited(sandbox, active_a, tenant_a, operator):
    set_limits(operator, tenant_a.project, sandbox, instances=20, cores=40)
    event = AuditEvent.objects.get(action="quota.update")
    assert event.project == tenant_a.project and event.operator
    assert event.before == {"region": sandbox.slug, "instances": 10, "cores": 20}
    assert event.after == {"region": sandbox.slug, "instances": 20, "cores": 40}


def test_invalid_limits_are_refused(sandbox, active_a, tenant_a, operator):
    for bad in (-2, "many", 10**12):
        with pytest.raises(ActionError):
            set_limits(operator, tenant_a.project, sandbox, instances=bad)
    with pytest.raises(ActionError):
        set_limits(operator, tenant_a.project, sandbox, bananas=3)


def test_limits_are_pushed_to_the_cloud_project(region, tenant_a, operator):
    cloud_project = activate(tenant_a.project, region, Actor(tenant_a.admin))
    assert provisioning.push_quotas(cloud_project.pk) == provisioning.DONE  # the push on activation
    set_limits(operator, tenant_a.project, region, instances=7, cores=9, ram_mb=9216)
    assert provisioning.push_quotas(cloud_project.pk) == provisioning.DONE
    pushed = driver_for(region).get_quotas(cloud_project.provider_id)
    assert (pushed.instances, pushed.cores, pushed.ram_mb) == (7, 9, 9216)
    assert pushed.key_pairs is None  # unlimited: every tenant's key pairs belong to the console's service user
    row = ProjectQuota.objects.get(project=tenant_a.project, region=region)
    assert row.pushed_at is not None and row.push_error == ""


def test_a_push_the_cloud_refuses_is_kept_for_operators(sandbox, active_a, tenant_a, operator):
    set_limits(operator, tenant_a.project, sandbox, instances=5)
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=sandbox)
    sandbox.settings = {**sandbox.settings, "faults": [{"op": "set_quotas", "error": "invalid", "times": 1}]}
    sandbox.save(update_fields=["settings"])
    assert provisioning.push_quotas(cloud_project.pk) == provisioning.DONE
    row = ProjectQuota.objects.get(project=tenant_a.project, region=sandbox)
    assert row.push_error and row.pushed_at is None


def test_usage_lines_show_used_and_limit(sandbox, active_a, tenant_a):
    small, _ = small_flavors(sandbox)
    launch(tenant_a, sandbox)
    lines = {line.resource: line for line in quotas.lines(tenant_a.project, sandbox)}
    assert lines[Resource.INSTANCES].used == 1 and lines[Resource.INSTANCES].limit == 10
    assert lines[Resource.CORES].used == small.vcpus
    assert lines[Resource.RAM_MB].used == small.ram_mb
    assert lines[Resource.INSTANCES].percent == 10


def test_a_lost_quota_push_is_found_again_until_it_is_done(sandbox, active_a, tenant_a, operator):
    from datetime import timedelta

    from django.utils import timezone

    from infra.reconcile import unpushed_quotas

    later = timezone.now() + timedelta(minutes=5)
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=sandbox)
    assert list(unpushed_quotas(later)) == [cloud_project.pk]  # activated, its first push not done yet
    provisioning.push_quotas(cloud_project.pk)
    assert list(unpushed_quotas(later)) == []
    set_limits(operator, tenant_a.project, sandbox, instances=12)  # its task lost: nothing pushed it
    assert list(unpushed_quotas(later)) == [cloud_project.pk]
    assert list(unpushed_quotas(timezone.now() - timedelta(minutes=5))) == []  # not before the task had its chance
    provisioning.push_quotas(cloud_project.pk)
    assert list(unpushed_quotas(later)) == []
    quota_actions.set_region_quota_defaults(actor=Actor(operator, operator=True), region=sandbox, limits={"cores": 30})
    assert list(unpushed_quotas(later)) == [cloud_project.pk]  # the region's defaults changed after the last push
