"""A member's server list in the browser, with a Celery worker driving a sandbox region: the counts and rows, a bulk
stop asked once (naming the instances) and the rows changing live without a reload, a change made elsewhere (another
tab) updating the row in place, a launch elsewhere raising the "new instances" notice; the operators' all-tenants
list. Screenshots: server-list-en, server-list-confirm-en, operator-servers-en."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.e2e.test_live_activity import in_thread
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image

TIMEOUT = 30_000


def _wait_status(servers: list[Server], status: Status, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(Server.objects.get(pk=s.pk).status == status for s in servers):
            return
        time.sleep(0.2)
    raise AssertionError(f"not all {status}: {[Server.objects.get(pk=s.pk).status for s in servers]}")


def test_a_member_stops_instances_in_bulk_and_watches_rows_change_live(
    page: Page, transactional_db, login, screenshot, tenant_a, tenant_b, operator, celery_worker_process
):
    region = sandbox_region("sandbox-e2e", speed=20)
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    activate(tenant_b.project, region, Actor(tenant_b.admin))
    small, _bigger = small_flavors(region)
    image = small_image(region, small)
    web = actions.create_servers(
        actor=Actor(tenant_a.member),
        project=tenant_a.project,
        region=region,
        name="web-{n}",
        count=3,
        flavor=small,
        image=image,
    )
    theirs = actions.create_servers(
        actor=Actor(tenant_b.member), project=tenant_b.project, region=region, name="theirs", flavor=small, image=image
    )
    _wait_status(web + theirs, Status.ACTIVE)

    login(tenant_a.member)
    page.goto(f"/o/{tenant_a.slug}/main/servers/")
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    expect(page.locator('[data-count="running"] .server-count-n')).to_have_text("3")
    expect(page.get_by_text("theirs")).to_have_count(0)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    screenshot("server-list-en")

    # Select two rows, Stop: one confirmation naming them, then the rows change live.
    page.get_by_label("Select web-1").check()
    page.get_by_label("Select web-2").check()
    page.locator('[data-bulk-op="stop"]').click()
    expect(page.get_by_role("heading", name="Stop 2 instances: web-1, web-2?")).to_be_visible()
    screenshot("server-list-confirm-en")
    page.locator('[data-bulk-confirm="stop"]').click()
    expect(page.get_by_text("2 instances are stopping.")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=TIMEOUT)
    page.evaluate("window.__sameDocument = true")
    for server in web[:2]:
        expect(page.locator(f"#server-row-{server.pk}")).to_have_attribute("data-status", "STOPPED", timeout=TIMEOUT)
    expect(page.locator('[data-count="stopped"] .server-count-n')).to_have_text("2")
    expect(page.locator(f"#server-row-{web[2].pk}")).to_have_attribute("data-status", "ACTIVE")
    assert page.evaluate("window.__sameDocument") is True

    # Another tab starts web-1: its row (a <tr> swapped out of band) changes in place, its menu with it.
    in_thread(lambda: actions.start_server(actor=Actor(tenant_a.admin), server=Server.objects.get(pk=web[0].pk)))
    row = page.locator(f"#server-row-{web[0].pk}")
    expect(row).to_have_attribute("data-status", "ACTIVE", timeout=TIMEOUT)
    expect(row.locator("button[data-bs-toggle=dropdown]")).to_be_enabled(timeout=TIMEOUT)
    row.locator("button[data-bs-toggle=dropdown]").click()
    expect(row.locator('button[data-op="stop"]')).to_be_visible()
    page.keyboard.press("Escape")

    # A launch elsewhere: the page does not show the new row, it offers to refresh.
    in_thread(
        lambda: actions.create_servers(
            actor=Actor(tenant_a.admin), project=tenant_a.project, region=region, name="api", flavor=small, image=image
        )
    )
    expect(page.get_by_role("link", name="New instances — refresh")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator('[data-count="total"] .server-count-n')).to_have_text("4")
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_role("link", name="New instances — refresh").click()
    expect(page.get_by_role("link", name="api", exact=True)).to_be_visible()

    # The operators' list of every tenant.
    page.context.clear_cookies()
    login(operator)
    page.goto("/operators/servers/")
    expect(page.get_by_role("link", name="theirs")).to_be_visible()
    expect(page.get_by_role("link", name="web-3")).to_be_visible()
    screenshot("operator-servers-en")
    page.get_by_label("Tenant").fill("studio-b")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="web-3")).to_have_count(0)
    expect(page.get_by_role("link", name="theirs")).to_be_visible()
