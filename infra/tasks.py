"""infra's Celery tasks: thin. Each loads its row by primary key and lets `infra.provisioning` do one step; a slow
cloud is polled by re-scheduling (`retry(countdown=…)`), never by sleeping. Tasks run with `acks_late` (a task whose
worker dies is delivered again) and are safe to run twice (provisioning claims rows by compare-and-set)."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from infra import health, provisioning

logger = logging.getLogger(__name__)


def _again(task: Task, step: provisioning.Step) -> None:
    if step.retry_in is not None:
        raise task.retry(countdown=step.retry_in, max_retries=None)


@shared_task(bind=True, name="infra.tasks.drive_server", acks_late=True, max_retries=None)
def drive_server(self: Task, server_id: str) -> None:
    """Drive a server to what its pending op asks for (create, an action, delete), polling until it settles."""
    _again(self, provisioning.drive_server(server_id))


@shared_task(bind=True, name="infra.tasks.push_server_attributes", acks_late=True, max_retries=None)
def push_server_attributes(self: Task, server_id: str) -> None:
    """Make the cloud's name and lock of a server what the console's row says."""
    _again(self, provisioning.push_server_attributes(server_id, attempt=self.request.retries))


@shared_task(bind=True, name="infra.tasks.drive_cloud_project", acks_late=True, max_retries=None)
def drive_cloud_project(self: Task, cloud_project_id: str) -> None:
    """Make (or link) a console project's project in a region, with its default network."""
    _again(self, provisioning.drive_cloud_project(cloud_project_id))


@shared_task(name="infra.tasks.redrive_stuck")
def redrive_stuck() -> int:
    """Beat: send again the rows whose task was lost (a broker outage at enqueue, a worker that died)."""
    from infra import reconcile

    return reconcile.redrive_stuck()


@shared_task(name="infra.tasks.reconcile_regions")
def reconcile_regions() -> None:
    """Beat: one reconcile task per enabled region (each takes its own lock)."""
    from infra.models import Region

    for region_id in Region.objects.filter(enabled=True).values_list("pk", flat=True):
        reconcile_region.delay(str(region_id))


@shared_task(name="infra.tasks.reconcile_region", acks_late=True)
def reconcile_region(region_id: str) -> dict[str, int] | None:
    from infra import reconcile
    from infra.models import Region

    region = Region.objects.filter(pk=region_id).first()
    if region is None:
        return None
    return reconcile.reconcile_region(region)


@shared_task(name="infra.tasks.check_regions", ignore_result=True)
def check_regions() -> dict[str, str]:
    """Beat: check every region open to tenants, all at once (each with its own time limit); returns slug -> health."""
    from infra.models import Region

    regions = list(Region.objects.filter(enabled=True).order_by("name"))
    slugs = {region.pk: region.slug for region in regions}
    results = health.check_regions(regions, timeout=health.CHECK_TIMEOUT)
    return {slugs[result.region_id]: str(result.report.health) for result in results}


@shared_task(name="infra.tasks.check_region", ignore_result=True)
def check_region(region_id: str) -> str | None:
    """Check one region now, enabled or not (an operator asked); None if it no longer exists."""
    from infra.models import Region

    region = Region.objects.filter(pk=region_id).first()
    if region is None:
        return None
    return str(health.check_region(region, timeout=health.CHECK_TIMEOUT).health)


@shared_task(bind=True, name="infra.tasks.push_quotas", acks_late=True, max_retries=None)
def push_quotas(self: Task, cloud_project_id: str) -> None:
    """Make a cloud project's limits what the console says (its project's quotas in that region)."""
    _again(self, provisioning.push_quotas(cloud_project_id, attempt=self.request.retries))


@shared_task(name="infra.tasks.push_region_quotas")
def push_region_quotas(region_id: str) -> int:
    """Push the limits of every usable cloud project in a region (its defaults changed); returns how many."""
    from infra.models import CloudProject

    ids = [
        str(pk)
        for pk in CloudProject.objects.live()
        .filter(region_id=region_id, status=CloudProject.Status.ACTIVE)
        .exclude(provider_id="")
        .values_list("pk", flat=True)
    ]
    for pk in ids:
        push_quotas.delay(pk)
    return len(ids)


@shared_task(bind=True, name="infra.tasks.delete_cloud_keypair", acks_late=True, max_retries=None)
def delete_cloud_keypair(self: Task, keypair_id: str) -> None:
    """Remove a deleted key pair from every region's cloud it reached (retrying a region that does not answer)."""
    _again(self, provisioning.delete_cloud_keypair(keypair_id, attempt=self.request.retries))


@shared_task(bind=True, name="infra.tasks.fetch_console_log", acks_late=True, max_retries=None)
def fetch_console_log(self: Task, server_id: str, lines: int = 200) -> None:
    """Fetch a server's console log for its page (kept in the cache, pushed on the live channel)."""
    from infra import console_log

    _again(self, console_log.fetch(server_id, lines, attempt=self.request.retries))
