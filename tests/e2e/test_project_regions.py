"""An admin's journey on a new project's Regions page: every open region with its health (one down, with the reason),
Activate on the sandbox region, the card going from queued / setting up to Active with the private network's range
and "Launch instances" without a reload (the worker drives the cloud project, the live channel swaps the card); a
member sees the states and that an admin can activate."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from infra.models import CloudProject
from infra.providers.base import Health
from tests.infra.engine import sandbox_region


def test_an_admin_activates_a_sandbox_region_and_sees_it_become_active_live(
    page: Page, transactional_db, login, screenshot, tenant_a, celery_worker_process
):
    # Each sandbox call takes 1.5 s here, so the setup lasts a few seconds: long enough to see it happen live.
    seoul = sandbox_region("sandbox-seoul", latency_ms=1500)
    busan = sandbox_region("sandbox-busan")
    busan.health, busan.health_message = Health.DOWN, "Maintenance of the compute hosts until 06:00 KST."
    busan.save(update_fields=["health", "health_message"])

    frames: list[str] = []  # what the live channel pushed: the card must come from there, not from a reload
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(str(frame))))
    login(tenant_a.admin)
    page.goto(f"/o/{tenant_a.slug}/main/regions/")
    expect(page.get_by_role("heading", name="Regions", exact=True)).to_be_visible()
    card = page.locator("#region-sandbox-seoul")
    down = page.locator("#region-sandbox-busan")
    expect(card).to_have_attribute("data-state", "not_set_up")
    expect(down.get_by_test_id("health")).to_contain_text("Maintenance of the compute hosts")
    expect(down.get_by_role("button", name="Activate")).to_be_disabled()
    expect(page.locator("[data-live-status] [data-state-text='live']")).to_be_visible()
    screenshot("project-regions-not-set-up-en")

    card.get_by_role("button", name="Activate Sandbox Seoul for this project").click()
    expect(page.get_by_text("Setting up Main in Sandbox Seoul.")).to_be_visible()
    assert card.get_attribute("data-state") in ("pending", "creating"), "the card shows the setup in progress"
    expect(page.locator("[data-live-status] [data-state-text='live']")).to_be_visible()
    page.evaluate("window.__noReload = true")
    screenshot("project-regions-setting-up-en")

    expect(card).to_have_attribute("data-state", "active", timeout=30000)
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=seoul)
    expect(card.get_by_test_id("cidr")).to_have_text(cloud_project.cidr)
    expect(card.get_by_role("link", name="Launch instances")).to_be_visible()
    assert page.evaluate("window.__noReload") is True  # the same page: no reload happened
    assert any('id="region-sandbox-seoul"' in frame and 'data-state="active"' in frame for frame in frames)
    screenshot("project-regions-en")

    card.get_by_role("link", name="Launch instances").click()
    expect(page).to_have_url(re.compile(rf"/o/{tenant_a.slug}/main/servers/launch/$"))


def test_a_member_sees_the_states_and_who_can_activate(page: Page, transactional_db, login, screenshot, tenant_a):
    sandbox_region("sandbox-seoul")
    login(tenant_a.member)
    page.goto(f"/o/{tenant_a.slug}/main/regions/")
    card = page.locator("#region-sandbox-seoul")
    expect(card.get_by_test_id("member-hint")).to_contain_text("An admin or owner of the organization can activate")
    expect(card.get_by_role("button")).to_have_count(0)
    screenshot("project-regions-member-en")
