"""An operator's journey through the regions pages: the list with health, a sandbox region's page, Check now, an
outage switched on by failure injection (the health card turns Down by itself), closing the region; the same pages
in Korean. A real Celery worker runs the checks, as in production."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from infra import health
from infra.models import CloudProject, Flavor, Image, Region, Server
from infra.providers.base import Health, Status
from tenants.models import AuditEvent, Project

CHECK_SECONDS = 30  # the worker's check, then the card's next poll (every 5 s)


def _regions(tenant_a, tenant_b) -> Region:
    """A sandbox region used by a few projects, an OpenStack region that is down, and one closed for maintenance."""
    sandbox = Region.objects.create(slug="sandbox", name="Sandbox", provider="sandbox", settings={"speed": 10.0})
    Region.objects.create(
        slug="seoul-1",
        name="Seoul 1",
        provider="openstack",
        settings={"cloud": "haneul-seoul-1", "clouds_file": "/etc/haneul/clouds.yaml", "public_network": "ext-net"},
        health=Health.DOWN,
        health_message="Unable to establish connection to https://keystone.seoul-1.example.com:5000/v3",
        health_checked_at=timezone.now() - timedelta(seconds=40),
    )
    Region.objects.create(
        slug="busan-1",
        name="Busan 1",
        provider="openstack",
        enabled=False,
        settings={"cloud": "haneul-busan-1"},
        health=Health.UP,
        health_latency_ms=184,
        health_checked_at=timezone.now() - timedelta(seconds=25),
    )
    health.check_region(sandbox)
    flavor = Flavor.objects.create(region=sandbox, provider_id="f1", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
    image = Image.objects.create(region=sandbox, provider_id="i1", name="Ubuntu 24.04", status="active")
    projects = [
        tenant_a.project,
        tenant_b.project,
        Project.objects.create(organization=tenant_b.organization, name="Live Ops", slug="live-ops"),
    ]
    for number, project in enumerate(projects):
        cp = CloudProject.objects.create(
            project=project,
            region=sandbox,
            provider_id=f"8f0c2d6e5b7a4c1d9e3f{number:012d}",
            status=CloudProject.Status.ACTIVE,
            linked=number == 2,
        )
        for index in range(number + 1):
            Server.objects.create(
                project=project,
                region=sandbox,
                cloud_project=cp,
                name=f"game-{index}",
                provider_id=f"srv-{number}-{index}",
                status=Status.ACTIVE,
                flavor=flavor,
                image=image,
            )
    return sandbox


def _wait_for_check_after(region: Region, moment) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + CHECK_SECONDS
    while True:
        region.refresh_from_db()
        if region.health_checked_at and region.health_checked_at > moment:
            return
        assert time.monotonic() < deadline, "the worker did not check the region"
        time.sleep(0.2)


def test_operator_checks_a_region_and_switches_an_outage_on(
    page: Page, transactional_db, login, screenshot, base_url, operator, tenant_a, tenant_b, celery_worker_process
):
    sandbox = _regions(tenant_a, tenant_b)
    login(operator)

    # The list: every region with its health, response time, counts and whether it takes new resources.
    page.goto("/")
    page.get_by_role("link", name="Regions").click()
    expect(page.get_by_role("heading", name="Regions")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Busan 1")
    expect(rows.nth(0)).to_contain_text("Closed")
    expect(rows.nth(2)).to_contain_text("Unable to establish connection")
    sandbox_row = rows.filter(has_text="Sandbox")
    expect(sandbox_row.locator("[data-health]")).to_have_text("Up")
    expect(sandbox_row.locator("td").nth(4)).to_have_text("3")  # cloud projects
    expect(sandbox_row.locator("td").nth(5)).to_have_text("6")  # instances
    screenshot("regions-list-en")

    # Sorted by health, worst first.
    page.get_by_role("link", name="Health").click()
    expect(rows.nth(0)).to_contain_text("Seoul 1")

    # A sandbox region's page, reached with the keyboard.
    link = page.get_by_role("link", name="Sandbox", exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sandbox", exact=True)).to_be_visible()
    card = page.locator("#region-health")
    expect(card.get_by_test_id("health")).to_have_text("Up")
    expect(page.get_by_test_id("settings")).to_contain_text("Speed")
    expect(page.get_by_role("cell", name="Live Ops")).to_be_visible()
    expect(page.get_by_role("cell", name="Linked existing project")).to_be_visible()
    screenshot("region-detail-en")

    # Check now: the worker checks it and the card says so without a reload.
    before = timezone.now()
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_role("alert").filter(has_text="Checking Sandbox")).to_be_visible()
    _wait_for_check_after(sandbox, before)
    expect(card).to_contain_text(re.compile(r"checked (now|\d+\s+seconds? ago)"), timeout=CHECK_SECONDS * 1000)

    # Failure injection: an outage. The region is checked again and its card turns Down by itself.
    form = page.locator("#failure-injection")
    form.get_by_label("Outage: the region does not answer at all").check()
    form.get_by_label("Added latency (ms)").fill("150")
    form.get_by_role("button", name="Save failure injection").click()
    expect(page.get_by_role("alert").filter(has_text="Failure injection of Sandbox saved")).to_be_visible()
    expect(card.get_by_test_id("health")).to_have_text("Down", timeout=CHECK_SECONDS * 1000)
    expect(card.get_by_test_id("health-message")).to_contain_text("does not answer")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("region-detail-outage-en")
    sandbox.refresh_from_db()
    assert sandbox.settings["outage"] is True and sandbox.settings["latency_ms"] == 150
    assert AuditEvent.objects.filter(action="region.failure_injection", operator=True).count() == 1

    # Close it to new resources, after the confirmation dialog.
    page.get_by_role("button", name="Close to new resources").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Close Sandbox to new resources?")
    screenshot("region-close-confirm-en")
    dialog.get_by_role("button", name="Close region").click()
    expect(page.get_by_text("Closed to new resources", exact=True)).to_be_visible()
    expect(card.get_by_test_id("enabled")).to_have_text("Closed")
    sandbox.refresh_from_db()
    assert not sandbox.enabled

    # The same pages in Korean.
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto("/operators/regions/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("regions-list-ko")
    page.goto("/operators/regions/sandbox/")
    screenshot("region-detail-ko")


def test_the_regions_list_says_how_to_add_one_when_there_is_none(
    page: Page, transactional_db, login, operator, screenshot
):
    login(operator)
    page.goto("/operators/regions/")
    expect(page.get_by_text("No regions yet")).to_be_visible()
    screenshot("regions-empty-en")
