"""Fixtures of infra's tests. `cloud` runs a test once per driver: the sandbox, and (marked `openstack`) the local
OpenStack from `make openstack`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.clouds import CloudUnderTest
from tests.integration.openstack.cloud import MARKS as OPENSTACK_MARKS


@pytest.fixture(params=["sandbox", pytest.param("openstack", marks=OPENSTACK_MARKS)])
def cloud(request: pytest.FixtureRequest, db: None) -> Iterator[CloudUnderTest]:
    """A driver and a ready cloud project, once per provider."""
    if request.param == "sandbox":
        from tests.infra.sandbox_cloud import sandbox_cloud

        yield from sandbox_cloud()
    else:
        yield request.getfixturevalue("openstack_cloud")


@pytest.fixture(scope="session")
def openstack_cloud_project() -> Iterator[object]:
    """One fresh cloud project on the local OpenStack for the whole run (tests.infra.openstack_cloud sweeps it)."""
    from tests.infra.openstack_cloud import session_project

    yield from session_project()


@pytest.fixture
def openstack_cloud(openstack_cloud_project: object, db: None) -> CloudUnderTest:
    from tests.infra.openstack_cloud import cloud_for

    return cloud_for(openstack_cloud_project)


def openstack_region_settings() -> dict[str, str]:
    """A region's settings for the local OpenStack (or the cloud HANEUL_OPENSTACK_CLOUDS/_CLOUD point at)."""
    from tests.integration.openstack.cloud import CLOUD, CLOUDS_YAML

    return {"cloud": CLOUD, "clouds_file": str(CLOUDS_YAML), "default_cidr": "198.51.100.0/24"}


@pytest.fixture(params=["sandbox", pytest.param("openstack", marks=OPENSTACK_MARKS)])
def region(request: pytest.FixtureRequest, db: None) -> Iterator[object]:
    """A region of each provider for the engine tests (actions -> provisioning -> driver). On OpenStack, every cloud
    project the test made is swept and deleted afterwards."""
    from tests.infra.engine import sandbox_region

    if request.param == "sandbox":
        yield sandbox_region()
    else:
        yield from local_openstack_region()


@pytest.fixture
def openstack_region(db: None) -> Iterator[object]:
    """The local OpenStack's region alone, for tests that provoke a fault only a real cloud can show."""
    yield from local_openstack_region()


def local_openstack_region() -> Iterator[object]:
    """A Region on the local OpenStack with its catalog mirrored; the cloud projects a test made are swept after."""
    from infra.models import CloudProject, Region
    from infra.reconcile import sync_catalog

    region = Region.objects.create(
        slug="local-openstack", name="Local OpenStack", provider="openstack", settings=openstack_region_settings()
    )
    sync_catalog(region)
    try:
        yield region
    finally:
        made = CloudProject.objects.filter(region=region, linked=False).exclude(provider_id="")
        sweep_openstack_projects(list(made.values_list("provider_id", flat=True)))


def sweep_openstack_projects(project_ids: list[str]) -> None:
    """Delete the projects (and all they hold) the console made on the local OpenStack during a test."""
    from tests.integration.openstack.cloud import admin_connection
    from tests.integration.openstack.conftest import sweep

    if not project_ids:
        return
    admin = admin_connection()
    problems = []
    for project_id in project_ids:
        _left, failures = sweep(admin, project_id)
        problems += failures
        admin.identity.delete_project(project_id, ignore_missing=True)
    assert not problems, f"could not sweep the test's cloud projects: {problems}"
