"""Key pairs in the clouds, on each provider's region: a server launched with one gets it under its namespaced name
`hn-<uuid>` (two tenants' key pairs with the same name never collide under the console's service user), deleting
the key pair removes it from the cloud while its servers keep running, and the reconciler sweeps what a region that
was down kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra import keys, provisioning
from infra.actions import keypairs as keypair_actions
from infra.actions import servers as server_actions
from infra.models import CloudProject, Keypair, Region, Server
from infra.providers import driver_for
from infra.providers.base import Status
from infra.reconcile import reconcile_region
from tenants.audit import Actor
from tests.conftest import Tenant
from tests.infra.engine import (
    activate,
    drive,
    run_steps,
    sandbox_region,
    set_region_settings,
    small_flavors,
    small_image,
)


def cloud_keypairs(region: Region, project_id: str) -> dict[str, str]:
    """The region's cloud key pairs (the service user's): name -> public key."""
    return {k.name: k.public_key.strip() for k in driver_for(region).list_keypairs(project_id)}


def launch(tenant: Tenant, region: Region, keypair: Keypair, name: str) -> Server:
    flavor, _bigger = small_flavors(region)
    server = server_actions.create_server(
        actor=Actor(tenant.member),
        project=tenant.project,
        region=region,
        name=name,
        flavor=flavor,
        image=small_image(region, flavor),
        keypair=keypair,
    )
    return drive(server)


def delete_in_clouds(keypair: Keypair) -> None:
    """What the task does after the delete commits, one step at a time (each retry counts an attempt)."""
    attempts = iter(range(1000))
    run_steps(lambda: provisioning.delete_cloud_keypair(keypair.pk, attempt=next(attempts)), timeout=60, max_wait=0.05)


@pytest.fixture
def made_keypairs(region: Region) -> Iterator[list[Keypair]]:
    """Key pairs a test made: removed from the region's cloud afterwards (they belong to the service user, which the
    cloud-project sweep does not look at)."""
    made: list[Keypair] = []
    yield made
    for keypair in made:
        keypair.refresh_from_db()
        for region_id in keypair.cloud_regions:
            cp = (
                CloudProject.objects.filter(project=keypair.project, region_id=region_id)
                .exclude(provider_id="")
                .first()
            )
            if cp is not None:
                driver_for(cp.region).delete_keypair(cp.provider_id, keypair.cloud_name)


def test_a_server_gets_its_key_pair_in_the_cloud_under_its_namespaced_name_without_collisions(
    region, tenant_a, tenant_b, made_keypairs, django_capture_on_commit_callbacks
):
    projects = {t.slug: activate(t.project, region, Actor(t.admin)) for t in (tenant_a, tenant_b)}
    # Both tenants name their key pair "laptop": in the cloud they are hn-<uuid>, so they never meet.
    mine, theirs = (
        keypair_actions.import_keypair(
            actor=Actor(t.member), project=t.project, name="laptop", public_key=keys.generate()[0].openssh
        )
        for t in (tenant_a, tenant_b)
    )
    made_keypairs += [mine, theirs]
    server_a = launch(tenant_a, region, mine, "with-key-a")
    server_b = launch(tenant_b, region, theirs, "with-key-b")
    for server, keypair in ((server_a, mine), (server_b, theirs)):
        assert server.status == Status.ACTIVE, server.error_message
        assert server.keypair_name == keypair.cloud_name == f"hn-{keypair.pk}"
        cp = projects[server.project.organization.slug]
        assert driver_for(region).get_server(cp.provider_id, server.provider_id).keypair_name == keypair.cloud_name
        keypair.refresh_from_db()
        assert keypair.cloud_regions == [str(region.pk)]
    in_cloud = cloud_keypairs(region, projects["studio-a"].provider_id)
    assert mine.public_key.split()[1] in in_cloud[mine.cloud_name]
    assert theirs.public_key.split()[1] in in_cloud[theirs.cloud_name]
    assert "laptop" not in in_cloud

    # A second server with the same key pair finds it already there (a conflict that is fine).
    again = launch(tenant_a, region, mine, "with-key-a2")
    assert again.status == Status.ACTIVE, again.error_message

    # Deleting the key pair removes it from the cloud after commit; the servers launched with it keep running.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        keypair_actions.delete_keypair(actor=Actor(tenant_a.member), keypair=mine)
    assert callbacks, "the removal is sent after commit"
    delete_in_clouds(mine)
    mine.refresh_from_db()
    assert mine.cloud_regions == []
    in_cloud = cloud_keypairs(region, projects["studio-a"].provider_id)
    assert mine.cloud_name not in in_cloud and theirs.cloud_name in in_cloud
    server_a.refresh_from_db()
    assert server_a.status == Status.ACTIVE and server_a.keypair_name == mine.cloud_name


def test_a_region_down_during_the_delete_keeps_the_work_for_the_reconcilers_sweep(tenant_a, settings):
    settings.INFRA_MAX_ATTEMPTS = 2
    settings.INFRA_RETRY_BASE = 0.01
    region = sandbox_region()
    cp = activate(tenant_a.project, region, Actor(tenant_a.admin))
    keypair = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="k", public_key=keys.generate()[0].openssh
    )
    server = launch(tenant_a, region, keypair, "uses-key")
    assert server.status == Status.ACTIVE, server.error_message

    keypair_actions.delete_keypair(actor=Actor(tenant_a.member), keypair=keypair)
    set_region_settings(region, outage=True)
    delete_in_clouds(keypair)  # retried, then given up
    keypair.refresh_from_db()
    assert keypair.cloud_regions == [str(region.pk)]

    set_region_settings(region, outage=False)
    assert keypair.cloud_name in cloud_keypairs(region, cp.provider_id)
    reconcile_region(region)
    assert keypair.cloud_name not in cloud_keypairs(region, cp.provider_id)
    keypair.refresh_from_db()
    assert keypair.cloud_regions == []


def test_the_sweep_leaves_live_key_pairs_and_names_it_does_not_know(tenant_a):
    region = sandbox_region()
    cp = activate(tenant_a.project, region, Actor(tenant_a.admin))
    driver = driver_for(region)
    live = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="live", public_key=keys.generate()[0].openssh
    )
    unknown = f"hn-{uuid.uuid4()}"  # e.g. another console's, sharing the service user
    for name in (live.cloud_name, unknown, "not-ours"):
        driver.create_keypair(cp.provider_id, name, keys.generate()[0].openssh)
    assert provisioning.sweep_keypairs(region, driver) == 0
    assert {live.cloud_name, unknown, "not-ours"} <= set(cloud_keypairs(region, cp.provider_id))


def test_a_transient_error_creating_the_cloud_key_pair_retries_the_servers_create(tenant_a):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    set_region_settings(region, faults=[{"op": "create_keypair", "error": "unavailable", "times": 2}])
    keypair = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="k", public_key=keys.generate()[0].openssh
    )
    server = launch(tenant_a, region, keypair, "retried")
    assert server.status == Status.ACTIVE, server.error_message


def test_the_task_sent_after_the_delete_removes_the_key_pair_from_the_cloud(
    tenant_a, django_capture_on_commit_callbacks
):
    from infra import tasks

    region = sandbox_region()
    cp = activate(tenant_a.project, region, Actor(tenant_a.admin))
    keypair = keypair_actions.import_keypair(
        actor=Actor(tenant_a.member), project=tenant_a.project, name="k", public_key=keys.generate()[0].openssh
    )
    assert launch(tenant_a, region, keypair, "uses-key").status == Status.ACTIVE
    assert keypair.cloud_name in cloud_keypairs(region, cp.provider_id)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        keypair_actions.delete_keypair(actor=Actor(tenant_a.member), keypair=keypair)
    assert any("delete_keypair" in callback.__qualname__ for callback in callbacks)  # sent after commit
    tasks.delete_cloud_keypair.apply(args=[str(keypair.pk)]).get()
    assert keypair.cloud_name not in cloud_keypairs(region, cp.provider_id)
