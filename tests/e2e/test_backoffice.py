"""An operator's journey through the back office: find an organisation, open it, suspend it, resume it; the
organisations list, an organisation and its activity in English and Korean."""

import re

from django.conf import settings
from playwright.sync_api import Page, expect

from tenants.actions import create_project, update_organization
from tenants.audit import Actor
from tenants.models import Membership, Organization, Project, Role
from tests.conftest import make_user

STUDIOS = ("Blue Whale Games", "Cloud Nine Interactive", "Moonrise Studio", "Pixel Forge", "Starlight Works")


def _more_organizations() -> None:
    """A few more studios, so the list looks like a console that has customers."""
    for number, name in enumerate(STUDIOS):
        slug = name.lower().replace(" ", "-")
        org = Organization.objects.create(name=name, slug=slug)
        owner = make_user(f"owner@{slug}.example.com", name=f"{name.split()[0]} Owner")
        Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
        for extra in range(number):
            user = make_user(f"dev{extra}@{slug}.example.com")
            Membership.objects.create(user=user, organization=org, role=Role.MEMBER)
        for project in range(number % 3 + 1):
            Project.objects.create(organization=org, name=f"Game {project + 1}", slug=f"game-{project + 1}")


def test_operator_finds_suspends_and_resumes_an_organization(
    page: Page, transactional_db, login, screenshot, base_url, operator, tenant_a, tenant_b
):
    _more_organizations()
    owner_b = Actor(user=tenant_b.owner, ip="203.0.113.20")
    update_organization(actor=owner_b, organization=tenant_b.organization, name="Studio B Games", slug="studio-b")
    create_project(actor=owner_b, organization=tenant_b.organization, name="Live Ops", slug="live-ops")
    login(operator)

    page.goto("/operators/")
    expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    expect(page.get_by_text("1\N{EN DASH}7 of 7 rows")).to_be_visible()
    screenshot("backoffice-organizations-en")

    # Search by a member's e-mail address.
    page.get_by_label("Search").fill("viewer@studio-b")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Studio B Games")

    rows.first.get_by_role("link", name="Studio B Games").click()
    expect(page.get_by_role("heading", name="Studio B Games")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Active")
    expect(page.get_by_role("cell", name="viewer@studio-b.example.com")).to_be_visible()
    expect(page.get_by_role("link", name="Open console (read-only)")).to_have_attribute("href", "/o/studio-b/")
    screenshot("backoffice-organization-en")

    # Suspend, with a reason, in the confirmation modal.
    page.get_by_role("button", name="Suspend").click()
    dialog = page.get_by_role("dialog", name="Suspend Studio B Games")
    expect(dialog).to_be_visible()
    screenshot("backoffice-suspend-modal-en")
    dialog.get_by_label("Reason").fill("Payment overdue for 60 days")
    dialog.get_by_role("button", name="Suspend organization").click()
    expect(page.get_by_test_id("status")).to_have_text("Suspended")
    expect(page.get_by_role("alert")).to_contain_text("is suspended")
    expect(page.get_by_text("Payment overdue for 60 days").first).to_be_visible()
    screenshot("backoffice-organization-suspended-en")
    tenant_b.organization.refresh_from_db()
    assert tenant_b.organization.is_suspended

    # Resume, after the page's confirmation dialog.
    page.get_by_role("button", name="Resume").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Resume").click()
    expect(page.get_by_test_id("status")).to_have_text("Active")
    tenant_b.organization.refresh_from_db()
    assert not tenant_b.organization.is_suspended

    # The organisation's activity, opened from the detail page (a logged, read-only visit).
    page.get_by_role("link", name="All activity").click()
    expect(page).to_have_url(re.compile("/o/studio-b/-/activity/"))
    expect(page.get_by_role("cell", name=re.compile("Organization suspended")).first).to_be_visible()
    page.locator("details.console-diff").last.locator("summary").click()  # the rename: before → after
    page.evaluate("window.scrollTo(0, 0)")  # the sticky sidebar follows the scroll in a full-page screenshot
    screenshot("activity-en")

    page.get_by_label("Action").select_option("organization.suspend")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.console-activity > tbody > tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    content = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert content.splitlines()[0].startswith("time,actor_email,operator,action")
    assert "Payment overdue for 60 days" in content
    assert "organization.resume" not in content

    # Every organisation's activity, for operators.
    page.goto("/operators/activity/")
    expect(page.get_by_role("heading", name="Activity of all organizations")).to_be_visible()
    expect(page.get_by_role("link", name="Studio B Games").first).to_be_visible()
    screenshot("backoffice-activity-en")

    # The same pages in Korean.
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto("/operators/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("backoffice-organizations-ko")
    page.goto(f"/operators/organizations/{tenant_b.organization.pk}/")
    screenshot("backoffice-organization-ko")
    page.goto("/o/studio-b/-/activity/")
    screenshot("activity-ko")


def test_owner_sees_the_activity_of_their_organization(page: Page, transactional_db, login, screenshot, tenant_a):
    owner = Actor(user=tenant_a.owner, ip="198.51.100.4")
    create_project(actor=owner, organization=tenant_a.organization, name="Season 2", slug="season-2")
    update_organization(actor=owner, organization=tenant_a.organization, name="Studio A Games", slug="studio-a")
    login(tenant_a.owner)
    page.goto("/o/studio-a/-/activity/")
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    expect(page.locator("table.console-activity > tbody > tr")).to_have_count(2)
    page.locator("details.console-diff").first.locator("summary").click()
    expect(page.locator(".console-diff-after").first).to_have_text("Studio A Games")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("activity-owner-en")
