"""Organisation pages in the browser: destructive actions ask first, operators see a read-only banner, and every
page is photographed in English and Korean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from tenants.models import Invitation, Membership, Project
from tests.conftest import Tenant


@pytest.fixture
def studio(transactional_db: None) -> Tenant:
    tenant = Tenant("nova-games")
    Project.objects.create(organization=tenant.organization, name="Nova Arena", slug="arena", description="PvP")
    Invitation.objects.create(
        organization=tenant.organization,
        email="designer@nova.example.com",
        role="member",
        token_hash="e2e-token-hash",
        invited_by=tenant.owner,
        sent_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    return tenant


def test_removing_a_member_asks_first_and_cancel_changes_nothing(page: Page, studio: Tenant, login) -> None:
    login(studio.owner)
    page.goto(studio.url("-/members/"))
    viewer = studio.membership("viewer")
    row = page.locator("tr", has_text="viewer@nova-games.example.com")
    row.get_by_role("button", name="Remove").click()
    dialog = page.locator("dialog#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Remove viewer@nova-games.example.com?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Membership.objects.filter(pk=viewer.pk).exists()

    row.get_by_role("button", name="Remove").click()
    page.keyboard.press("Escape")  # the keyboard closes it too
    expect(dialog).to_be_hidden()
    assert Membership.objects.filter(pk=viewer.pk).exists()

    row.get_by_role("button", name="Remove").click()
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Member removed.")).to_be_visible()
    assert not Membership.objects.filter(pk=viewer.pk).exists()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_organization_pages_look_right(page: Page, studio: Tenant, login, base_url, screenshot, language) -> None:
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])
    login(studio.owner)
    for name, path in [
        ("org-overview", ""),
        ("org-members", "-/members/"),
        ("org-settings", "-/settings/"),
        ("project-create", "-/projects/new/"),
        ("project-settings", "arena/settings/"),
    ]:
        response = page.goto(studio.url(path))
        assert response.status == 200, path
        expect(page.locator("html")).to_have_attribute("lang", language)
        screenshot(f"{name}-{language}")
    page.goto(studio.url("-/members/"))
    page.locator("tr", has_text="member@nova-games.example.com").locator("form[data-confirm]").last.locator(
        "button"
    ).click()
    expect(page.locator("dialog#confirm-dialog")).to_be_visible()
    screenshot(f"confirm-dialog-{language}")
    page.goto("/orgs/new/")
    screenshot(f"org-create-{language}")


def test_operator_visit_shows_the_banner(page: Page, studio: Tenant, operator, login, screenshot) -> None:
    login(operator)
    page.goto(studio.url())
    expect(page.get_by_text("as an operator: read-only")).to_be_visible()
    expect(page.get_by_role("link", name="New project")).to_have_count(0)
    screenshot("operator-visit-en")
