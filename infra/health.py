"""Region health: ask each region's driver whether its cloud answers, and keep the answer on the Region row.

Operators read the result on the regions page and the launch wizard greys out a region that is DOWN, so the check
must be cheap and must never hang: every probe runs in its own thread with a time limit. A region that does not
answer in time is DOWN ("no answer within N s"), whatever its driver would have said later, and one slow or broken
region never delays the others. Only Celery tasks (`infra.tasks`) call this: pages never call a cloud.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.models import Region
from infra.providers import driver_for
from infra.providers.base import Health, HealthReport

logger = logging.getLogger(__name__)

# Seconds one region's probe may take. The beat task runs every minute: all regions are probed at once, so the
# whole run takes at most about this long, however many regions are slow.
CHECK_TIMEOUT = 15.0
MAX_PARALLEL = 16
MESSAGE_LENGTH = Region._meta.get_field("health_message").max_length


@dataclass(frozen=True)
class CheckResult:
    region_id: object
    report: HealthReport
    changed: bool  # the health differs from what the row said before


def _probe(region: Region) -> HealthReport:
    """The driver's own verdict, in a worker thread. A driver that raises (against the contract) or cannot even be
    built (an unknown provider, settings it cannot read) makes the region DOWN with the reason, never an error."""
    try:
        return driver_for(region).check_health()
    except Exception as error:
        logger.exception("health check of region %s raised", region.slug)
        return HealthReport(
            Health.DOWN, _("The health check failed: %(error)s") % {"error": str(error) or type(error).__name__}
        )
    finally:
        connections.close_all()  # this thread's own connections (the sandbox reads its tables)


def probe_regions(regions: Iterable[Region], *, timeout: float = CHECK_TIMEOUT) -> dict[object, HealthReport]:
    """Probe every region at once; a region whose driver has not answered after `timeout` seconds is DOWN."""
    regions = list(regions)
    if not regions:
        return {}
    reports: dict[object, HealthReport] = {}
    pool = ThreadPoolExecutor(max_workers=min(len(regions), MAX_PARALLEL), thread_name_prefix="region-health")
    try:
        started = time.monotonic()
        futures: dict[object, Future[HealthReport]] = {region.pk: pool.submit(_probe, region) for region in regions}
        for region_id, future in futures.items():
            remaining = max(0.0, timeout - (time.monotonic() - started))
            try:
                reports[region_id] = future.result(timeout=remaining)
            except FutureTimeout:
                future.cancel()
                reports[region_id] = HealthReport(
                    Health.DOWN, _("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}
                )
    finally:
        # Do not wait for a probe that hangs: its thread ends when the driver's own timeout fires.
        pool.shutdown(wait=False, cancel_futures=True)
    return reports


def save_report(region: Region, report: HealthReport) -> bool:
    """Store the report on the row (an update of the health columns only: an operator may be changing the region's
    settings at the same moment) and log a change of health. Returns whether the health changed."""
    before = Region.objects.filter(pk=region.pk).values_list("health", flat=True).first()
    if before is None:
        return False  # deleted meanwhile
    now = timezone.now()
    fields = {
        "health": report.health,
        "health_message": str(report.message)[:MESSAGE_LENGTH],
        "health_latency_ms": report.latency_ms,
        "health_checked_at": now,
    }
    Region.objects.filter(pk=region.pk).update(**fields)
    for name, value in fields.items():
        setattr(region, name, value)
    changed = before != report.health
    if changed:
        level = logging.WARNING if report.health in (Health.DOWN, Health.DEGRADED) else logging.INFO
        logger.log(
            level, "region %s health %s -> %s: %s", region.slug, before, report.health, report.message or "no details"
        )
    return changed


def check_region(region: Region, *, timeout: float = CHECK_TIMEOUT) -> HealthReport:
    """Probe one region and save what it answered."""
    report = probe_regions([region], timeout=timeout)[region.pk]
    save_report(region, report)
    return report


def check_regions(regions: Iterable[Region], *, timeout: float = CHECK_TIMEOUT) -> list[CheckResult]:
    """Probe the regions in parallel and save each one's answer; one that fails to save does not stop the rest."""
    regions = list(regions)
    reports = probe_regions(regions, timeout=timeout)
    results = []
    for region in regions:
        try:
            changed = save_report(region, reports[region.pk])
        except Exception:
            logger.exception("saving the health of region %s failed", region.slug)
            continue
        results.append(CheckResult(region.pk, reports[region.pk], changed))
    return results
