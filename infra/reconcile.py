"""Cloud -> mirror, per region (beat): the catalog, each cloud project, and its servers.

The reconciler fixes drift (a server stopped or resized outside the console), marks servers deleted outside it,
adopts servers created outside it (CLI, Terraform) in the cloud projects console projects map to, and flags a cloud
project that vanished. Rows a task is driving (a pending op) are left to the task. A PostgreSQL advisory lock keeps
two reconcilers off the same region. Cloud projects no console project maps to are never looked at.

`redrive_stuck` (beat) sends again the rows whose task was lost: nothing stays BUILDING forever.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from console.core import live
from infra.models import CloudProject, Flavor, Image, ProjectQuota, Region, Server
from infra.providers import driver_for
from infra.providers.base import TRANSITIONAL, CloudDriver, CloudError, CloudServer, NotFound, Status
from infra.provisioning import addresses_json, flavor_for, observed_fields, sweep_keypairs
from tenants.audit import record

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x4E5A  # advisory-lock key space of the reconciler ("HZ")


@contextmanager
def region_lock(region: Region) -> Iterator[bool]:
    """A session-level advisory lock on the region; yields False when another reconciler holds it."""
    key = (LOCK_NAMESPACE << 32) | zlib.crc32(str(region.pk).encode())  # one bigint key
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def reconcile_region(region: Region) -> dict[str, int] | None:
    """Reconcile one region; None when another reconciler holds it. Returns counts of what changed."""
    with region_lock(region) as locked:
        if not locked:
            logger.info("region %s: another reconciler is at work", region.slug)
            return None
        driver = driver_for(region)
        counts = {"drifted": 0, "vanished": 0, "adopted": 0, "projects_vanished": 0}
        try:
            sync_catalog(region, driver)
        except CloudError as error:
            logger.warning("region %s: catalog not synced: %s", region.slug, error)
            return counts
        projects = CloudProject.objects.live().filter(region=region, status=CloudProject.Status.ACTIVE)
        for cp in projects.select_related("project__organization", "region"):
            try:
                for key, value in reconcile_project(cp, driver).items():
                    counts[key] += value
            except CloudError as error:
                logger.warning("region %s, project %s: not reconciled: %s", region.slug, cp.provider_id, error)
        _sweep_keypairs(region, driver)
        Region.objects.filter(pk=region.pk).update(synced_at=timezone.now())
        return counts


def _sweep_keypairs(region: Region, driver: CloudDriver) -> None:
    """Deleted key pairs a delete task could not remove from the region (it was down) go now."""
    try:
        swept = sweep_keypairs(region, driver)
    except CloudError as error:
        logger.warning("region %s: key pairs not swept: %s", region.slug, error)
        return
    if swept:
        logger.info("region %s: %s deleted key pairs removed from the cloud", region.slug, swept)


def sync_catalog(region: Region, driver: CloudDriver | None = None) -> None:
    """Mirror the region's flavors and images: new ones appear (hidden from no one, placed after the others), ones
    gone from the cloud are marked deleted and lose `is_default`. Only the cloud's fields are written: what operators
    curate (visible, label, position, is_default, os_label, version_label, logo) is never overwritten."""
    driver = driver or driver_for(region)
    now = timezone.now()
    flavors, images = driver.list_flavors(), driver.list_images()
    with transaction.atomic():
        next_position = _next_position(Flavor, region)
        for flavor in flavors:
            _, created = Flavor.objects.update_or_create(
                region=region,
                provider_id=flavor.id,
                defaults={
                    "name": flavor.name,
                    "vcpus": flavor.vcpus,
                    "ram_mb": flavor.ram_mb,
                    "disk_gb": flavor.disk_gb,
                    "synced_at": now,
                    "deleted_at": None,
                },
                create_defaults={
                    "name": flavor.name,
                    "vcpus": flavor.vcpus,
                    "ram_mb": flavor.ram_mb,
                    "disk_gb": flavor.disk_gb,
                    "synced_at": now,
                    "position": next_position,
                },
            )
            next_position += created
        Flavor.objects.filter(region=region, deleted_at__isnull=True).exclude(
            provider_id__in=[f.id for f in flavors]
        ).update(deleted_at=now, is_default=False)
        next_position = _next_position(Image, region)
        for image in images:
            cloud_fields = {
                "name": image.name,
                "status": image.status,
                "size_bytes": image.size_bytes,
                "min_disk_gb": image.min_disk_gb,
                "min_ram_mb": image.min_ram_mb,
                "os_distro": image.os_distro,
                "os_version": image.os_version,
                "synced_at": now,
            }
            _, created = Image.objects.update_or_create(
                region=region,
                provider_id=image.id,
                defaults={**cloud_fields, "deleted_at": None},
                create_defaults={**cloud_fields, "position": next_position},
            )
            next_position += created
        Image.objects.filter(region=region, deleted_at__isnull=True).exclude(
            provider_id__in=[i.id for i in images]
        ).update(deleted_at=now, is_default=False)


def _next_position(model: type[Flavor] | type[Image], region: Region) -> int:
    """The position after the region's last item: a new flavor or image goes to the end of the operators' order."""
    last = model.objects.filter(region=region).aggregate(last=Max("position"))["last"]
    return 1 if last is None else last + 1


def reconcile_project(cp: CloudProject, driver: CloudDriver) -> dict[str, int]:
    counts = {"drifted": 0, "vanished": 0, "adopted": 0, "projects_vanished": 0}
    try:
        driver.get_project(cp.provider_id)
    except NotFound:
        _project_vanished(cp)
        counts["projects_vanished"] = 1
        return counts
    cloud = driver.list_servers(cp.provider_id)
    by_id = {c.id: c for c in cloud}
    by_request = {c.request_id: c for c in cloud if c.request_id}
    matched: set[str] = set()
    quiet = timezone.now() - timedelta(seconds=getattr(settings, "INFRA_RECONCILE_QUIET", 30))
    rows = Server.objects.filter(cloud_project=cp).exclude(status=Status.DELETED).select_related("project", "flavor")
    for server in rows:
        found = by_id.get(server.provider_id) if server.provider_id else None
        found = found or by_request.get(str(server.request_id))
        if found is not None:
            matched.add(found.id)
        if server.pending.get("op") or server.updated_at > quiet:
            continue  # a task is driving it, or it just changed: leave it be
        if found is None:
            if server.provider_id:
                _vanished(server)
                counts["vanished"] += 1
            continue
        if _drift(server, found):
            counts["drifted"] += 1
    for found in cloud:
        if found.id not in matched and found.status != Status.DELETED:
            _adopt(cp, found)
            counts["adopted"] += 1
    CloudProject.objects.filter(pk=cp.pk).update(synced_at=timezone.now())
    return counts


def _drift(server: Server, found: CloudServer) -> bool:
    fields: dict[str, Any] = observed_fields(server, found)
    if found.name and found.name != server.name:
        fields["name"] = found.name[:63]
    if not server.provider_id:
        fields["provider_id"] = found.id  # made by a create whose worker died before it could say so
    if server.status == Status.ERROR and found.status != Status.ERROR and not server.provider_id:
        fields["error_message"] = ""
    changed = (
        found.status != server.status
        or fields.get("provider_id")
        or fields.get("name")
        or fields["addresses"] != server.addresses
        or fields["locked"] != server.locked
        or ("flavor" in fields and fields["flavor"].pk != server.flavor_id)
    )
    if not changed:
        Server.objects.filter(pk=server.pk).update(synced_at=fields["synced_at"])
        return False
    if found.status == Status.ERROR and found.fault:
        fields["error_message"] = found.fault[:1000]
    with transaction.atomic():
        if server.transition(found.status, allowed={server.status}, **fields):
            record(
                None,
                "server.sync",
                project=server.project,
                target=server,
                after={"status": found.status, "cloud_status": found.cloud_status},
            )
    return True


def _vanished(server: Server) -> None:
    with transaction.atomic():
        if server.mark_deleted(message=_("Deleted outside the console."), allowed={server.status}):
            record(None, "server.vanished", project=server.project, target=server, after={"status": "DELETED"})


def _adopt(cp: CloudProject, found: CloudServer) -> Server:
    """A server made outside the console in a mapped cloud project becomes a row like any other."""
    flavor = flavor_for(cp.region_id, found.flavor_id) or Flavor.objects.create(
        region=cp.region,
        provider_id=found.flavor_id or "unknown",
        name=found.flavor_id or "?",
        vcpus=0,
        ram_mb=0,
        disk_gb=0,
        visible=False,
    )
    image = Image.objects.filter(region_id=cp.region_id, provider_id=found.image_id).first() if found.image_id else None
    now = timezone.now()
    with transaction.atomic():
        server = Server.objects.create(
            project=cp.project,
            region=cp.region,
            cloud_project=cp,
            name=(found.name or found.id)[:63],
            provider_id=found.id,
            status=Status.PENDING,  # moved to the cloud's status below, through the guarded transition (metering)
            flavor=flavor,
            image=image,
            keypair_name=found.keypair_name or "",
            adopted=True,
            launched_at=found.created_at or now,
        )
        server.transition(
            found.status,
            cloud_status=found.cloud_status[:32],
            task_state=(found.task_state or "")[:32],
            addresses=addresses_json(found.addresses),
            locked=found.locked,
            synced_at=now,
            error_message=(found.fault or "")[:1000] if found.status == Status.ERROR else "",
        )
        record(
            None,
            "server.adopt",
            project=cp.project,
            target=server,
            after={"provider_id": found.id, "status": found.status},
        )
    return server


def _project_vanished(cp: CloudProject) -> None:
    """The cloud project is gone (deleted outside the console, or the cloud was rebuilt): flag it, and its servers
    are gone with it (their metering stops)."""
    now = timezone.now()
    message = _("The project no longer exists in %(region)s.") % {"region": cp.region}
    with transaction.atomic():
        CloudProject.objects.filter(pk=cp.pk).update(
            status=CloudProject.Status.VANISHED, error_message=message, synced_at=now, updated_at=now
        )
        for server in Server.objects.filter(cloud_project=cp).exclude(status=Status.DELETED).select_related("project"):
            server.mark_deleted(message=message)
        record(None, "project.region.vanished", project=cp.project, target=cp, after={"region": cp.region.slug})
        live.publish(cp.project, "cloud_project", cp.pk)


def redrive_stuck() -> int:
    """Enqueue `drive_server` again for rows with a pending op that nothing has touched for a while."""
    from infra import tasks

    cutoff = timezone.now() - timedelta(seconds=getattr(settings, "INFRA_REDRIVE_AFTER", 120))
    stale = Q(updated_at__lt=cutoff) & (Q(synced_at__isnull=True) | Q(synced_at__lt=cutoff))
    server_ids = list(
        Server.objects.filter(stale, status__in=TRANSITIONAL).exclude(pending={}).values_list("pk", flat=True)[:1000]
    )
    for pk in server_ids:
        tasks.drive_server.delay(str(pk))
    project_ids = list(
        CloudProject.objects.filter(
            updated_at__lt=cutoff, status__in=[CloudProject.Status.PENDING, CloudProject.Status.CREATING]
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in project_ids:
        tasks.drive_cloud_project.delay(str(pk))
    quota_ids = [str(pk) for pk in unpushed_quotas(cutoff)[:1000]]
    for pk in quota_ids:
        tasks.push_quotas.delay(pk)
    if server_ids or project_ids or quota_ids:
        logger.warning(
            "re-drove %s servers, %s cloud projects and %s quota pushes",
            len(server_ids),
            len(project_ids),
            len(quota_ids),
        )
    return len(server_ids) + len(project_ids) + len(quota_ids)


def unpushed_quotas(cutoff: datetime) -> QuerySet:
    """Ids of ready cloud projects whose limits changed (their own, or their region's defaults) before `cutoff` and
    were not pushed since, or never were: their push task was lost. A push the cloud refused is not retried here (it
    is shown to operators; their next change pushes again)."""
    same = {"project": OuterRef("project"), "region": OuterRef("region")}
    stale = ProjectQuota.objects.filter(**same, push_error="", updated_at__lt=cutoff).filter(
        Q(pushed_at__isnull=True)
        | Q(pushed_at__lt=F("updated_at"))
        | Q(pushed_at__lt=F("region__quota_defaults__updated_at"))
    )
    return (
        CloudProject.objects.live()
        .filter(status=CloudProject.Status.ACTIVE, updated_at__lt=cutoff)
        .exclude(provider_id="")
        .filter(~Exists(ProjectQuota.objects.filter(**same)) | Exists(stale))
        .values_list("pk", flat=True)
    )
