"""Region health: a check saves what the driver answers (UP, DEGRADED, DOWN during a sandbox outage) on the Region
row and logs a change; the beat task checks every enabled region at once and survives a region whose driver cannot
be built and one that does not answer in time; a real worker runs it.

The probes run in threads with their own database connections, so these tests commit (transactional_db)."""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings
from django.utils import timezone

from infra import health, tasks
from infra.models import Region
from infra.providers.base import Health

pytestmark = pytest.mark.django_db(transaction=True)


def sandbox(slug: str = "sandbox", **settings_: object) -> Region:
    return Region.objects.create(slug=slug, name=slug.title(), provider="sandbox", settings=dict(settings_))


def test_a_check_saves_up_with_its_latency(caplog):
    region = sandbox()
    before = timezone.now()
    report = health.check_region(region)
    assert report.health == Health.UP
    region.refresh_from_db()
    assert (region.health, region.health_message) == (Health.UP, "")
    assert region.health_latency_ms is not None and region.health_checked_at >= before


def test_an_outage_is_down_with_the_reason_and_the_change_is_logged(caplog):
    region = sandbox()
    health.check_region(region)
    Region.objects.filter(pk=region.pk).update(settings={"outage": True})
    with caplog.at_level(logging.INFO, logger="infra.health"):
        report = health.check_region(region)
    region.refresh_from_db()
    assert region.health == report.health == Health.DOWN
    assert region.health_message and "answer" in region.health_message
    assert region.is_available is False
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "region sandbox health up -> down" in caplog.records[0].getMessage()

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="infra.health"):
        health.check_region(region)  # still down: nothing new to log
    assert caplog.records == []

    Region.objects.filter(pk=region.pk).update(settings={})
    with caplog.at_level(logging.INFO, logger="infra.health"):
        health.check_region(region)
    region.refresh_from_db()
    assert region.health == Health.UP and region.health_message == ""
    assert "down -> up" in caplog.records[0].getMessage()


def test_an_error_rate_is_degraded():
    region = sandbox(error_rate=0.3)
    assert health.check_region(region).health == Health.DEGRADED
    region.refresh_from_db()
    assert region.health == Health.DEGRADED and "30%" in region.health_message


def test_saving_a_report_touches_only_the_health_columns():
    """An operator may change the region's settings while a check runs: the check must not write them back."""
    region = sandbox(speed=2.0)
    stale = Region.objects.get(pk=region.pk)
    Region.objects.filter(pk=region.pk).update(settings={"speed": 9.0, "outage": True}, enabled=False)
    health.save_report(stale, health.HealthReport(Health.UP, "", 5))
    region.refresh_from_db()
    assert region.settings == {"speed": 9.0, "outage": True} and not region.enabled
    assert (region.health, region.health_latency_ms) == (Health.UP, 5)


def test_the_beat_task_checks_every_enabled_region_and_survives_broken_and_slow_ones(monkeypatch):
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 1.0)
    sandbox("up")
    sandbox("down", outage=True)
    sandbox("slow", latency_ms=4000)  # answers after the time limit
    Region.objects.create(slug="broken", name="Broken", provider="no-such-provider")  # no driver at all
    closed = sandbox("closed")
    Region.objects.filter(pk=closed.pk).update(enabled=False)

    started = time.monotonic()
    result = tasks.check_regions()
    elapsed = time.monotonic() - started

    assert result == {"broken": "down", "down": "down", "slow": "down", "up": "up"}
    assert elapsed < 3.5, f"a slow region held the others up: {elapsed:.1f} s"
    rows = {region.slug: region for region in Region.objects.all()}
    assert rows["up"].health == Health.UP
    assert "no-such-provider" in rows["broken"].health_message
    assert rows["slow"].health_message == "No answer within 1 s."
    assert rows["closed"].health == Health.UNKNOWN and rows["closed"].health_checked_at is None
    assert all(rows[slug].health_checked_at for slug in ("up", "down", "slow", "broken"))


def test_the_on_demand_task_checks_one_region_even_a_closed_one():
    region = sandbox(outage=True)
    Region.objects.filter(pk=region.pk).update(enabled=False)
    assert tasks.check_region(str(region.pk)) == "down"
    region.refresh_from_db()
    assert region.health == Health.DOWN
    assert tasks.check_region("00000000-0000-0000-0000-000000000000") is None


def test_beat_runs_the_check_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["check-regions"]
    assert entry["task"] == "infra.tasks.check_regions"
    assert entry["schedule"] == 60.0
    assert entry["options"]["expires"] < 60


def test_a_worker_runs_the_beat_task(celery_worker_process):
    """The worker registers the task (infra's AppConfig imports the module) and checks the regions."""
    region = sandbox(outage=True)
    tasks.check_regions.delay()
    deadline = time.monotonic() + 30
    while Region.objects.get(pk=region.pk).health_checked_at is None:
        assert time.monotonic() < deadline, "the worker did not check the region"
        time.sleep(0.2)
    assert Region.objects.get(pk=region.pk).health == Health.DOWN
