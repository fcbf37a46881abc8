"""The bell in the browser: a notification made while the owner watches the organisation's dashboard appears in the
bell without a reload; the dropdown opens from the keyboard, opening an item leads where it says and marks it read;
the notifications page lists them and "Mark all as read" empties the count. Screenshots in English and Korean."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tenants import notify
from tenants.models import Notification, User
from tests.conftest import Tenant
from tests.e2e.test_live_activity import in_thread

LIVE_TIMEOUT = 10_000  # ms: an upper bound for the socket, not a measurement


@pytest.fixture
def studio(transactional_db: None) -> Tenant:
    return Tenant("bell-studio")


@pytest.fixture
def note_templates(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Templates for the notifications this test makes (in the test process: the server only shows the rows)."""
    folder = tmp_path / "templates" / "notes"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("{{ title }}")
    (folder / "body.txt").write_text("{{ body }}")
    engines = [dict(engine) for engine in settings.TEMPLATES]
    engines[0]["DIRS"] = [*engines[0]["DIRS"], folder.parent]
    settings.TEMPLATES = engines


def tell(user: User, title: str, body: str, url: str, tenant: Tenant) -> None:
    """Notify off this thread (Playwright's loop runs here; the after-commit live publish may not)."""
    in_thread(
        lambda: notify.notify(
            user,
            kind="quota_request.answered",
            subject_template="notes/subject.txt",
            body_template="notes/body.txt",
            context={"title": title, "body": body},
            organization=tenant.organization,
            url=url,
            email=False,  # the e-mail is proven in tests/tenants/test_notifications.py
        )
    )


def bell(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#notifications-menu")


def test_bell_updates_live_opens_from_the_keyboard_and_leads_to_the_page(
    page: Page, base_url: str, login, screenshot, studio: Tenant, note_templates
) -> None:  # type: ignore[no-untyped-def]
    owner = studio.owner
    tell(owner, "Welcome to Haneul", "Your organization is ready.", studio.url(), studio)
    Notification.objects.update(read_at=Notification.objects.get().created_at)
    login(owner)
    page.goto(studio.url())
    expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT)
    expect(bell(page).locator(".badge-notification")).to_have_count(0)

    members = studio.url("-/members/")
    tell(owner, "Quota increase approved", "Instances: 10 → 20 in Main.", members, studio)
    tell(owner, "Quota increase rejected", "Volumes: the region is full this month.", studio.url(), studio)
    tell(owner, "Invitation accepted", "member@bell-studio.example.com joined Bell Studio.", members, studio)
    expect(bell(page).locator(".badge-notification")).to_have_text("3", timeout=LIVE_TIMEOUT)

    toggle = bell(page).locator("[data-bs-toggle=dropdown]")
    expect(toggle).to_have_attribute("aria-label", "Notifications: 3 unread")
    menu = bell(page).locator(".dropdown-menu")
    for _attempt in range(3):  # a live swap of the bell (a late event on a loaded machine) may land between the two
        toggle.focus()
        page.keyboard.press("Enter")
        try:
            expect(menu).to_be_visible(timeout=2000)
            break
        except AssertionError:
            continue
    expect(menu).to_be_visible()
    expect(menu.locator(".console-bell-item")).to_have_count(4)
    expect(menu.locator(".console-bell-item.is-unread")).to_have_count(3)
    screenshot("notifications-bell-dropdown-en")

    menu.get_by_text("Quota increase approved").click()
    page.wait_for_url(f"**{members}")
    expect(bell(page).locator(".badge-notification")).to_have_text("2")

    page.goto("/notifications/")
    expect(page.locator("#notifications .console-notification")).to_have_count(4)
    expect(page.locator("#notifications .console-notification.is-unread")).to_have_count(2)
    screenshot("notifications-page-en")

    page.get_by_role("link", name="Unread").click()
    expect(page.locator("#notifications .console-notification")).to_have_count(2)

    page.locator(".page-header").get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("All notifications are marked as read.")).to_be_visible()
    expect(bell(page).locator(".badge-notification")).to_have_count(0)


def test_bell_and_page_in_korean(page: Page, base_url: str, login, screenshot, studio: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    owner = studio.owner
    User.objects.filter(pk=owner.pk).update(language="ko", time_zone="Asia/Seoul")
    tell(owner, "할당량 증설 요청 승인", "인스턴스: 10 → 20 (Main)", studio.url("-/members/"), studio)
    tell(owner, "할당량 증설 요청 거절", "볼륨: 이번 달에는 리전의 용량이 부족합니다.", studio.url(), studio)
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    login(User.objects.get(pk=owner.pk))
    page.goto("/notifications/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#notifications .console-notification")).to_have_count(2)
    screenshot("notifications-page-ko")
    bell(page).locator("[data-bs-toggle=dropdown]").click()
    expect(bell(page).locator(".dropdown-menu")).to_be_visible()
    screenshot("notifications-bell-dropdown-ko")


def test_small_screens_have_the_bell_too(page: Page, login, screenshot, studio: Tenant, note_templates) -> None:  # type: ignore[no-untyped-def]
    tell(studio.owner, "Quota increase approved", "Instances: 10 → 20 in Main.", studio.url(), studio)
    page.set_viewport_size({"width": 390, "height": 800})
    login(studio.owner)
    page.goto(studio.url())
    mobile = page.locator("#notifications-menu-mobile")
    expect(page.locator("#notifications-menu")).to_be_hidden()
    expect(mobile.locator(".badge-notification")).to_have_text("1")
    mobile.locator("[data-bs-toggle=dropdown]").click()
    expect(mobile.get_by_text("Quota increase approved")).to_be_visible()
    screenshot("notifications-bell-dropdown-small-screen")
