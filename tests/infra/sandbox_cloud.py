"""The sandbox as a cloud under test: a fresh sandbox region (in the test database) with a ready cloud project."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from django.db.models import F

from infra.models import Region
from infra.providers import driver_for
from infra.providers.base import ProjectSpec
from infra.providers.sandbox.models import SandboxServer
from tests.infra.clouds import CloudUnderTest
from tests.integration.openstack.cloud import TENANT_CIDR

SPEED = 200.0  # a 4 s build takes 20 ms: fast tests that still see every transitional status
FLAVOR = "g1.small"
BIGGER_FLAVOR = "g1.medium"
IMAGE = "Ubuntu 24.04 LTS"


def make_region(**settings: Any) -> Region:
    """A sandbox region of its own (its own catalog and projects), at test speed unless told otherwise."""
    suffix = uuid.uuid4().hex[:8]
    return Region.objects.create(
        slug=f"sandbox-{suffix}",
        name=f"Sandbox {suffix}",
        provider="sandbox",
        settings={"speed": SPEED, **settings},
    )


def sandbox_cloud(**settings: Any) -> Iterator[CloudUnderTest]:
    """Yield a `CloudUnderTest` on a new sandbox region: a project made by ensure_project, its default network
    (the same range the OpenStack tests use), a small and a bigger flavor and an Ubuntu image. The rows go with the
    test's transaction."""
    region = make_region(**settings)
    driver = driver_for(region)
    project = driver.ensure_project(ProjectSpec(name=f"hn-test-{uuid.uuid4().hex[:12]}", description="contract"))
    network = driver.ensure_default_network(project.id, cidr=TENANT_CIDR)
    flavors = {flavor.name: flavor.id for flavor in driver.list_flavors()}
    images = {image.name: image.id for image in driver.list_images()}
    yield CloudUnderTest(
        name="sandbox",
        region=region,
        driver=driver,
        project_id=project.id,
        network_id=network.network_id,
        flavor_id=flavors[FLAVOR],
        bigger_flavor_id=flavors[BIGGER_FLAVOR],
        image_id=images[IMAGE],
        timeout=30.0,
    )


def rewind(server_id: str, seconds: float) -> None:
    """Move a sandbox server's clock: as if its current transition (and its last boot) had started `seconds`
    earlier. Sandbox tests use it instead of sleeping."""
    delta = dt.timedelta(seconds=seconds)
    SandboxServer.objects.filter(pk=server_id, task_started_at__isnull=False).update(
        task_started_at=F("task_started_at") - delta
    )
    SandboxServer.objects.filter(pk=server_id, launched_at__isnull=False).update(launched_at=F("launched_at") - delta)
