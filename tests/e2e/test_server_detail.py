"""A member's journey on a server's page, with a Celery worker driving the sandbox: the running server's overview,
stopping it after the confirmation and seeing it Stopped without a reload, fetching the console log and seeing it
appear, and the change-type page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from infra.actions import servers as actions
from tenants.audit import Actor
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image


def test_a_member_stops_a_server_and_reads_its_console_log_live(
    page: Page, transactional_db, login, screenshot, tenant_a, celery_worker_process
):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, bigger = small_flavors(region)
    server = drive(
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=region, name="game-1", flavor=small,
            image=small_image(region, small),
        )
    )  # fmt: skip
    login(tenant_a.member)
    page.goto(f"/o/{tenant_a.slug}/main/servers/{server.pk}/")
    expect(page.get_by_role("heading", name="game-1")).to_be_visible()
    header = page.locator(f"#server-{server.pk}-header")
    expect(header.locator(".console-server-status")).to_have_text("Running")
    expect(page.locator("[data-live-status] [data-state-text='live']")).to_be_visible()
    expect(page.get_by_text(server.addresses[0]["ip"]).first).to_be_visible()
    screenshot("server-detail-en")

    # Stop, after the confirmation: the badge turns Stopped without a reload (the worker drives it, the live
    # channel swaps the header).
    header.get_by_role("button", name="Stop").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Stop game-1?")
    page.locator("#confirm-dialog-accept").click()
    expect(page.get_by_text("Stopping game-1.")).to_be_visible()
    page.evaluate("window.__noReload = true")
    expect(page.locator(f"#server-{server.pk}-header .console-server-status")).to_have_text("Stopped", timeout=20000)
    expect(page.locator(f"#server-{server.pk}-header").get_by_role("button", name="Start")).to_be_enabled()
    assert page.evaluate("window.__noReload") is True  # the same page: no reload happened

    # The console log: asked for, fetched by the worker, pushed to the page.
    page.get_by_role("link", name="Console log").click()
    expect(page.get_by_text("No console log fetched yet")).to_be_visible()
    expect(page.locator("[data-live-status] [data-state-text='live']")).to_be_visible()
    page.get_by_label("Last").select_option("50")
    page.get_by_test_id("fetch-console-log").click()
    log = page.locator(f"#server-{server.pk}-console pre.console-log")
    expect(log).to_contain_text("game-1", timeout=20000)
    expect(page.get_by_text(re.compile(r"Fetched at .*: the last 50 lines"))).to_be_visible()
    screenshot("server-console-log-en")

    # The change-type page: the offered types, the current one marked.
    page.goto(f"/o/{tenant_a.slug}/main/servers/{server.pk}/resize/")
    expect(page.get_by_role("heading", name="Change the instance type")).to_be_visible()
    expect(page.locator(f"tr[data-flavor='{small.name}']")).to_contain_text("Current")
    page.locator(f"tr[data-flavor='{bigger.name}'] input[type=radio]").check()
    screenshot("server-resize-en")

    # Change type: the page returns to the server, whose banner asks to confirm or revert once the cloud resized it
    # (live, no reload); confirming keeps the new type.
    page.get_by_role("button", name="Change type").click()
    expect(page.get_by_text(f"Changing the type of game-1 to {bigger.name}.")).to_be_visible()
    banner = page.locator("[data-banner='verify-resize']")
    expect(banner).to_contain_text("Confirm the new type or revert", timeout=20000)
    screenshot("server-verify-resize-en")
    banner.get_by_role("button", name="Confirm type change").click()
    expect(banner).to_have_count(0, timeout=20000)
    expect(page.locator(f"#server-{server.pk}-overview [data-field='flavor']")).to_contain_text(bigger.name)
