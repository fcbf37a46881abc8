"""The live channel in the browser: one member watches a dashboard while another changes something in a second
browser; the change appears on the first page without a reload, in the watcher's language. And the page comes back
live by itself after the server drops its connection."""

from __future__ import annotations

import re
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tenants import actions
from tenants.audit import Actor
from tenants.models import Role
from tests.conftest import Tenant
from tests.harness.processes import ManagedProcess, child_environment, free_port

LABELS = {
    "en": {"project_created": "Project created", "project_changed": "Project changed", "recent": "Recent activity"},
    "ko": {"project_created": "프로젝트 생성", "project_changed": "프로젝트 변경", "recent": "최근 활동"},
}
RECONNECT_TIMEOUT = 30_000  # ms: the ws extension retries with a random backoff (an upper bound, not a measurement)


def sign_in(context: BrowserContext, base_url: str, user: object) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def second_browser(browser: Browser, base_url: str, user: object) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 860}, locale="en-US")
    sign_in(context, base_url, user)
    return context.new_page()


def expect_live(page: Page, timeout: float = 10_000) -> None:
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=timeout)


def mark_page(page: Page) -> None:
    """Mark this document: the mark is gone if the page reloads or navigates."""
    page.evaluate("document.documentElement.dataset.e2eUntouched = 'yes'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("document.documentElement.dataset.e2eUntouched") == "yes"


@pytest.fixture
def studio(transactional_db: None) -> Tenant:
    return Tenant("live-studio")


def in_thread(work: Callable[[], None]) -> None:
    """Run actions off this thread: Playwright's event loop runs here, and an action's after-commit publish
    (`async_to_sync`) may not run in a thread with a running loop."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()  # this thread's own connection, or the test database cannot be dropped

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def some_history(tenant: Tenant) -> None:
    """A few past changes, so that the feed has entries before the live one arrives."""

    def work() -> None:
        owner = Actor(user=tenant.owner)
        actions.create_project(actor=Actor(user=tenant.admin), organization=tenant.organization, name="Nebula Arena")
        actions.invite_member(
            actor=owner,
            organization=tenant.organization,
            email="artist@live-studio.example.com",
            role=Role.MEMBER,
            base_url="http://127.0.0.1/",
        )
        actions.change_role(
            actor=owner,
            organization=tenant.organization,
            membership_id=tenant.membership("viewer").pk,
            role=Role.MEMBER,
        )

    in_thread(work)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_owner_sees_a_new_project_appear_live_in_their_language(
    page: Page, browser: Browser, base_url: str, studio: Tenant, login, screenshot: Callable, language: str
) -> None:
    studio.owner.language = language
    studio.owner.save(update_fields=["language"])
    some_history(studio)
    login(studio.owner)
    page.goto(studio.url())
    expect(page.get_by_role("heading", name=LABELS[language]["recent"])).to_be_visible()
    expect_live(page)
    mark_page(page)

    admin = second_browser(browser, base_url, studio.admin)
    admin.goto(studio.url("-/projects/new/"))
    admin.get_by_label("Name").fill("Aurora Online")
    admin.get_by_role("button", name="Create project").click()
    expect(admin.get_by_role("heading", name="Aurora Online")).to_be_visible()

    newest = page.locator("#live-feed .console-feed-item").first
    expect(newest).to_contain_text(LABELS[language]["project_created"])
    expect(newest).to_contain_text("Aurora Online")
    expect(newest).to_contain_text("Admin of live-studio")
    row = page.locator("#org-projects .list-group-item", has_text="Aurora Online")
    expect(row).to_be_visible()
    expect(row.locator('a[href$="/aurora-online/settings/"]')).to_be_visible()  # the owner may change it
    expect(page.locator("#org-project-count")).to_have_text("3")
    assert_not_reloaded(page)
    screenshot(f"live-organization-dashboard-{language}")
    admin.context.close()


def test_viewer_sees_the_new_project_without_buttons(
    page: Page, browser: Browser, base_url: str, studio: Tenant, login
) -> None:
    login(studio.viewer)
    page.goto(studio.url())
    expect_live(page)
    mark_page(page)
    admin = second_browser(browser, base_url, studio.admin)
    admin.goto(studio.url("-/projects/new/"))
    admin.get_by_label("Name").fill("Borealis")
    admin.get_by_role("button", name="Create project").click()
    expect(admin.get_by_role("heading", name="Borealis")).to_be_visible()

    row = page.locator("#org-projects .list-group-item", has_text="Borealis")
    expect(row).to_be_visible()
    expect(page.locator("#org-projects .btn")).to_have_count(0)
    expect(page.locator("#live-feed .console-feed-item").first).to_contain_text("Borealis")
    assert_not_reloaded(page)
    admin.context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_project_dashboard_shows_a_change_live(
    page: Page, browser: Browser, base_url: str, studio: Tenant, login, screenshot: Callable, language: str
) -> None:
    studio.member.language = language
    studio.member.save(update_fields=["language"])
    in_thread(
        lambda: actions.update_project(
            actor=Actor(user=studio.owner), project=studio.project, name="Main", slug="main", description="PvP arena"
        )
    )
    login(studio.member)
    page.goto(studio.url("main/"))
    expect_live(page)
    mark_page(page)

    admin = second_browser(browser, base_url, studio.admin)
    admin.goto(studio.url("main/settings/"))
    admin.get_by_label("Description").fill("Live servers for the main game")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Settings saved.")).to_be_visible()

    newest = page.locator("#live-feed .console-feed-item").first
    expect(newest).to_contain_text(LABELS[language]["project_changed"])
    expect(newest).to_contain_text("Main")
    assert_not_reloaded(page)
    screenshot(f"live-project-dashboard-{language}")
    admin.context.close()


def test_removed_member_page_stops_updating(page: Page, browser: Browser, base_url: str, studio: Tenant, login) -> None:
    login(studio.member)
    page.goto(studio.url())
    expect_live(page)
    owner = second_browser(browser, base_url, studio.owner)
    owner.goto(studio.url("-/members/"))
    owner.locator("tr", has_text=studio.member.email).get_by_role("button", name="Remove").click()
    owner.locator("dialog#confirm-dialog").get_by_role("button", name="Remove").click()
    expect(owner.get_by_text("Member removed.")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "offline")
    owner.context.close()


# Reconnecting ---------------------------------------------------------------------------------------------------------


class RestartableServer:
    """A daphne of this test's own on a fixed port, so that it can be stopped and started again at one address."""

    def __init__(self) -> None:
        self.env = child_environment()
        self.port = free_port()
        self.process: ManagedProcess | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "console.asgi:application"]
        process = ManagedProcess("daphne-restartable", args, self.env)
        process.wait_until(self.healthy, timeout=30, what="answering /healthz")
        self.process = process

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def restartable_server(transactional_db: None) -> Iterator[RestartableServer]:
    server = RestartableServer()
    server.start()
    yield server
    server.stop()


def test_page_reconnects_after_the_server_restarts_and_events_arrive_again(
    browser: Browser, studio: Tenant, restartable_server: RestartableServer
) -> None:
    base = restartable_server.url
    watcher = second_browser(browser, base, studio.owner)
    watcher.goto(studio.url())
    expect_live(watcher)
    mark_page(watcher)

    restartable_server.stop()
    expect(watcher.locator("[data-live-status]")).to_have_attribute("data-state", re.compile("reconnecting|connecting"))
    restartable_server.start()
    expect_live(watcher, timeout=RECONNECT_TIMEOUT)

    admin = second_browser(browser, base, studio.admin)
    admin.goto(studio.url("-/projects/new/"))
    admin.get_by_label("Name").fill("After The Restart")
    admin.get_by_role("button", name="Create project").click()
    expect(admin.get_by_role("heading", name="After The Restart")).to_be_visible()
    expect(watcher.locator("#live-feed .console-feed-item").first).to_contain_text("After The Restart")
    expect(watcher.locator("#org-projects")).to_contain_text("After The Restart")
    assert_not_reloaded(watcher)
    watcher.context.close()
    admin.context.close()
