"""A studio's whole instance journey in the browser, once on the sandbox region and once on the local OpenStack: launch
from the wizard and see it Running without a reload, stop it, change its type and confirm, delete it. A Celery worker
does every cloud call; the live channel brings each change to the open page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from infra.models import Region, Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.conftest import Tenant
from tests.infra.conftest import OPENSTACK_MARKS, local_openstack_region
from tests.infra.engine import activate, sandbox_region, small_flavors, small_image

# Upper bounds for a change to reach the page (the worker drives the cloud, the live channel brings it); the local
# OpenStack builds a server in ~5-10 s and resizes in ~10-20 s on this machine.
WAIT_MS = {"sandbox": 30_000, "openstack": 120_000}


@pytest.fixture(params=["sandbox", pytest.param("openstack", marks=OPENSTACK_MARKS)])
def journey_region(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[Region]:
    if request.param == "sandbox":
        yield sandbox_region("sandbox-journey", speed=4)  # seconds-long steps, as a person sees them
    else:
        yield from local_openstack_region()


def mark_page(page: Page) -> None:
    """Mark this document: the mark is gone if the page reloads or navigates."""
    page.evaluate("document.documentElement.dataset.e2eUntouched = 'yes'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("document.documentElement.dataset.e2eUntouched") == "yes"


def press(button: Locator, until: Locator, *, timeout: float) -> None:
    """Click `button` until `until` shows. A part of the page that reloads itself (after a live change or a
    reconnect of the live channel) can swap the button out between the press and the release, and the click is lost;
    a person clicks again, and so does this."""
    for _attempt in range(4):
        button.click()
        try:
            expect(until).to_be_visible(timeout=timeout)
            return
        except AssertionError:
            continue
    expect(until).to_be_visible(timeout=timeout)


def confirm(page: Page, question: str) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(question)
    page.locator("#confirm-dialog-accept").click()


def test_launch_watch_stop_resize_and_delete_an_instance_from_the_browser(
    page: Page, login, tenant_a: Tenant, journey_region: Region, celery_worker_process, screenshot
) -> None:
    region = journey_region
    wait = WAIT_MS[region.provider]
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, bigger = small_flavors(region)
    image = small_image(region, small)
    login(tenant_a.member)

    # Launch one from the wizard: the server's page opens, and the status comes to Running without a reload.
    page.goto(tenant_a.url("main/servers/launch/"))
    expect(page.get_by_role("heading", name="Launch instances")).to_be_visible()
    page.locator(f"input[name=region][value='{region.pk}']").check(force=True)
    page.locator(f"input[name=image][value='{image.pk}']").check(force=True)
    page.locator(f"#flavor-{small.pk}").check(force=True)
    page.locator("input[name=name]").fill("journey")
    expect(page.get_by_test_id("launch-button")).to_be_enabled()
    page.get_by_test_id("launch-button").click()
    page.wait_for_url(re.compile(r"/servers/[0-9a-f-]{36}/$"))
    server = Server.objects.get(project=tenant_a.project, name="journey")
    assert (server.region_id, server.flavor_id, server.image_id) == (region.pk, small.pk, image.pk)
    mark_page(page)
    header = page.locator(f"#server-{server.pk}-header")
    status = header.locator(".console-server-status")
    expect(status).to_have_text("Running", timeout=wait)
    server.refresh_from_db()
    expect(page.get_by_text(server.addresses[0]["ip"]).first).to_be_visible()
    assert_not_reloaded(page)

    # Stop, after the confirmation: Stopped, live.
    press(header.locator("button[data-op=stop]"), page.locator("#confirm-dialog"), timeout=5_000)
    confirm(page, "Stop journey?")
    expect(status).to_have_text("Stopped", timeout=wait)
    mark_page(page)

    # Change its type: the page asks to confirm or revert once the cloud has resized it; confirm.
    header.locator("a[data-op=resize]").click()
    page.locator(f"tr[data-flavor='{bigger.name}'] input[type=radio]").check()
    page.get_by_role("button", name="Change type").click()
    page.wait_for_url(re.compile(rf"/servers/{server.pk}/$"))
    mark_page(page)
    banner = page.locator(f"#server-{server.pk}-header [data-banner=verify-resize]")
    expect(banner).to_be_visible(timeout=wait)
    press(
        banner.locator("button[data-op=confirm_resize]"),
        page.get_by_text("Confirming the new type of journey."),
        timeout=5_000,
    )
    expect(status).to_have_text(re.compile("Stopped|Running"), timeout=wait)
    expect(page.locator(f"#server-{server.pk}-header")).to_contain_text(bigger.name)
    server.refresh_from_db()
    assert server.flavor_id == bigger.pk and server.status in (Status.STOPPED, Status.ACTIVE)

    # Delete, after the confirmation: the list shows it going, and it is gone in the cloud.
    press(header.get_by_test_id("more-ops"), header.locator("button[data-op=delete]"), timeout=5_000)
    press(header.locator("button[data-op=delete]"), page.locator("#confirm-dialog"), timeout=5_000)
    confirm(page, "Delete journey?")
    page.wait_for_url(re.compile(r"/servers/(\?.*)?$"))
    mark_page(page)
    row = page.locator(f"#server-row-{server.pk}")
    expect(row.locator(".console-server-status")).to_have_text("Deleted", timeout=wait)
    assert_not_reloaded(page)
    server.refresh_from_db()
    assert server.status == Status.DELETED and server.deleted_at is not None
