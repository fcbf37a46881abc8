"""Helpers of the engine tests: regions under test, activating a project in one, and driving rows the way the
tasks do (one provisioning step at a time, waiting `retry_in` between steps — shortened on the sandbox)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from infra import provisioning
from infra.actions import projects as project_actions
from infra.models import CloudProject, Flavor, Image, Region, Server
from infra.providers.base import Status
from infra.reconcile import sync_catalog
from tenants.audit import Actor
from tenants.models import Project

SANDBOX_SETTINGS = {"speed": 1000}  # no request dedupe in the sandbox (its default, as nova): the console alone


def sandbox_region(slug: str = "sandbox-test", **settings: Any) -> Region:
    region = Region.objects.create(
        slug=slug, name=slug.replace("-", " ").title(), provider="sandbox", settings={**SANDBOX_SETTINGS, **settings}
    )
    sync_catalog(region)
    return region


def set_region_settings(region: Region, **settings: Any) -> Region:
    """Change a region's settings live (failure injection), as an operator would."""
    region.settings = {**region.settings, **settings}
    Region.objects.filter(pk=region.pk).update(settings=region.settings)
    return region


def run_steps(step: Callable[[], provisioning.Step], *, timeout: float, max_wait: float) -> int:
    """Call `step` until it says DONE, sleeping its `retry_in` (at most `max_wait`); returns the number of steps."""
    deadline = time.monotonic() + timeout
    steps = 0
    while True:
        steps += 1
        result = step()
        if result.retry_in is None:
            return steps
        if time.monotonic() > deadline:
            raise AssertionError(f"still not settled after {timeout} s ({steps} steps)")
        time.sleep(min(result.retry_in, max_wait))


def wait_seconds(region: Region) -> tuple[float, float]:
    """(timeout, longest sleep between steps) for a region: the sandbox at high speed settles in milliseconds."""
    if region.provider == "sandbox":
        return 30.0, 0.05
    return 180.0, 1.0


def drive(server: Server) -> Server:
    timeout, max_wait = wait_seconds(server.region)
    run_steps(lambda: provisioning.drive_server(server.pk), timeout=timeout, max_wait=max_wait)
    server.refresh_from_db()
    return server


def drive_project(cloud_project: CloudProject) -> CloudProject:
    timeout, max_wait = wait_seconds(cloud_project.region)
    run_steps(lambda: provisioning.drive_cloud_project(cloud_project.pk), timeout=timeout, max_wait=max_wait)
    cloud_project.refresh_from_db()
    return cloud_project


def activate(project: Project, region: Region, actor: Actor) -> CloudProject:
    cloud_project = drive_project(project_actions.activate_region(actor=actor, project=project, region=region))
    assert cloud_project.status == CloudProject.Status.ACTIVE, cloud_project.error_message
    return cloud_project


def small_flavors(region: Region) -> tuple[Flavor, Flavor]:
    """The two smallest flavors of the region with a disk (the second to resize to)."""
    flavors = list(Flavor.objects.filter(region=region, deleted_at__isnull=True, visible=True, disk_gb__gt=0))
    flavors.sort(key=lambda f: (f.vcpus, f.ram_mb, f.disk_gb, f.name))
    return flavors[0], next(f for f in flavors[1:] if f.disk_gb >= flavors[0].disk_gb)


def small_image(region: Region, flavor: Flavor) -> Image:
    images = Image.objects.filter(
        region=region, deleted_at__isnull=True, visible=True, status="active", min_disk_gb__lte=flavor.disk_gb
    ).order_by("size_bytes", "name")
    return images.first()


def statuses(server: Server) -> Status:
    server.refresh_from_db()
    return Status(server.status)
