"""The server list follows the cloud live, and catches up after its connection dropped: a status change made while
the page was offline shows once the socket is back, without a reload. A row the channel sent works as it is: its
menu's operations post with the page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Browser, Page, expect

from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tests.conftest import Tenant
from tests.e2e.test_live_activity import (
    RECONNECT_TIMEOUT,
    RestartableServer,
    assert_not_reloaded,
    expect_live,
    in_thread,
    mark_page,
    restartable_server,  # noqa: F401 (a fixture)
    second_browser,
    studio,  # noqa: F401 (a fixture)
)
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image


def launch_one(tenant: Tenant) -> Server:
    region = sandbox_region()
    activate(tenant.project, region, Actor(tenant.admin))
    small, _bigger = small_flavors(region)
    return drive(
        actions.create_server(
            actor=Actor(tenant.member), project=tenant.project, region=region, name="arena-1", flavor=small,
            image=small_image(region, small),
        )
    )  # fmt: skip


def test_the_list_catches_up_with_a_change_made_while_its_socket_was_down(
    browser: Browser,
    studio: Tenant,  # noqa: F811
    restartable_server: RestartableServer,  # noqa: F811
) -> None:
    server: list[Server] = []
    in_thread(lambda: server.append(launch_one(studio)))
    watcher = second_browser(browser, restartable_server.url, studio.member)
    watcher.goto(studio.url("main/servers/"))
    status = watcher.locator(f"#server-row-{server[0].pk} .console-server-status")
    expect(status).to_have_text("Running")
    expect_live(watcher)
    mark_page(watcher)

    restartable_server.stop()
    expect(watcher.locator("[data-live-status]")).to_have_attribute("data-state", re.compile("reconnecting|connecting"))
    in_thread(lambda: drive(actions.stop_server(actor=Actor(studio.member), server=server[0])))  # missed event
    restartable_server.start()
    expect_live(watcher, timeout=RECONNECT_TIMEOUT)

    expect(status).to_have_text("Stopped")
    expect(watcher.locator("#server-counts [data-count=stopped] .server-count-n")).to_have_text("1")
    assert_not_reloaded(watcher)
    watcher.context.close()


def test_an_operation_runs_from_a_row_menu_the_channel_sent_without_a_token(
    page: Page,
    studio: Tenant,  # noqa: F811
    login: Callable[[object], None],
) -> None:
    """A row the live channel swaps in is rendered once for everyone of a role and language, so its forms carry no
    CSRF token; console.js puts the page's in when one is submitted. Nothing reloads to fetch a token."""
    server: list[Server] = []
    in_thread(lambda: server.append(launch_one(studio)))
    pk = server[0].pk
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    login(studio.member)
    page.goto(studio.url("main/servers/?sort=name"))
    expect_live(page)
    row = page.locator(f"#server-row-{pk}")
    expect(row.locator(".console-server-status")).to_have_text("Running")

    in_thread(lambda: drive(actions.stop_server(actor=Actor(studio.admin), server=server[0])))  # someone else
    expect(row.locator(".console-server-status")).to_have_text("Stopped")
    start = row.locator('form:has(button[data-op="start"])')
    expect(start).to_have_count(1)  # the menu came with the row: no request for it
    assert start.locator('input[name="csrfmiddlewaretoken"]').count() == 0
    assert not [url for url in requested if "?row=" in url or "/header/" in url], requested

    row.get_by_role("button", name="Actions for arena-1").click()
    row.locator('button[data-op="start"]').click()
    expect(page.get_by_text("1 instance is starting.")).to_be_visible()
    assert page.url.endswith(studio.url("main/servers/?sort=name"))  # back to the list as it was shown
    assert Server.objects.get(pk=pk).status in (Status.STARTING, Status.ACTIVE)
