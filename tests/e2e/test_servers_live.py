"""The server list follows the cloud live, and catches up after its connection dropped: a status change made while
the page was offline shows once the socket is back, without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from infra.actions import servers as actions
from infra.models import Server
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
