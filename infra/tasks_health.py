"""Celery tasks of region health: the beat job that checks every enabled region each minute, and one region's
check on demand (an operator's "Check now"). They take primary keys, as every task does, and call `infra.health`."""

from __future__ import annotations

from celery import shared_task

from infra import health
from infra.models import Region


@shared_task(name="infra.tasks_health.check_regions", ignore_result=True)
def check_regions() -> dict[str, str]:
    """Check every region open to tenants, all at once (each with its own time limit); returns slug -> health."""
    regions = list(Region.objects.filter(enabled=True).order_by("name"))
    slugs = {region.pk: region.slug for region in regions}
    results = health.check_regions(regions, timeout=health.CHECK_TIMEOUT)
    return {slugs[result.region_id]: str(result.report.health) for result in results}


@shared_task(name="infra.tasks_health.check_region", ignore_result=True)
def check_region(region_id: str) -> str | None:
    """Check one region now, enabled or not (an operator asked); None if it no longer exists."""
    region = Region.objects.filter(pk=region_id).first()
    if region is None:
        return None
    return str(health.check_region(region, timeout=health.CHECK_TIMEOUT).health)
