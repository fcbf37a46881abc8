"""A studio's first hour: sign up, verify the e-mail, create an organisation and a project, invite a colleague,
who signs up from the invitation, accepts it and sees the project."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.harness.mailbox import Mailbox

PASSWORD = "a-long-and-unusual-passphrase-42"


def sign_up_and_verify(page: Page, mailbox: Mailbox, email: str) -> None:
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("form").get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(page.get_by_text(re.compile("verif", re.I)).first).to_be_visible()
    links = [link for link in mailbox.links_to(email) if "/accounts/confirm-email/" in link]
    assert len(links) == 1, links
    page.goto(links[0])
    page.locator("form").get_by_role("button", name=re.compile("Confirm", re.I)).click()
    if "/accounts/login/" in page.url:
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form").get_by_role("button", name=re.compile("Sign in", re.I)).click()
    expect(page.get_by_role("button", name=re.compile("Sign up", re.I))).to_have_count(0)


def test_founder_creates_org_and_project_and_colleague_joins_from_invitation(
    page: Page, browser: Browser, base_url: str, transactional_db: None, mailbox: Mailbox, screenshot
) -> None:
    founder, colleague = "founder@comet.example.com", "artist@comet.example.com"

    page.goto("/accounts/signup/")
    screenshot("journey-01-signup-en")
    sign_up_and_verify(page, mailbox, founder)

    page.goto("/")
    page.get_by_role("link", name="Create an organization").click()
    page.get_by_label("Name").fill("Comet Studio")
    screenshot("journey-02-create-organization-en")
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", name="Create a project")).to_be_visible()
    page.get_by_label("Name").fill("Comet Online")
    page.get_by_label("Description").fill("Live servers for Comet Online")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Comet Online")).to_be_visible()
    assert page.url.endswith("/o/comet-studio/comet-online/")

    page.goto("/o/comet-studio/-/members/")
    page.get_by_label("E-mail address").fill(colleague)
    page.get_by_label("Role", exact=True).select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {colleague}.")).to_be_visible()
    expect(page.locator("#invitations").get_by_text(colleague)).to_be_visible()
    screenshot("journey-03-members-with-invitation-en")

    invitation_links = [link for link in mailbox.links_to(colleague) if "/invitations/" in link]
    assert len(invitation_links) == 1

    other = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 860}, locale="en-US")
    second = other.new_page()
    second.goto(invitation_links[0])
    expect(second.get_by_role("heading", name="Join Comet Studio")).to_be_visible()
    screenshot_page(second, "journey-04-invitation-anonymous-en")
    second.get_by_role("link", name="Create an account").click()
    # The invitation link proved the address: the form is filled in and no second verification mail is needed.
    expect(second.locator("input[name=email]")).to_have_value(colleague)
    second.locator("input[name=password1]").fill(PASSWORD)
    second.locator("input[name=password2]").fill(PASSWORD)
    second.locator("form").get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(second.get_by_role("heading", name="Join Comet Studio")).to_be_visible()
    assert not [link for link in mailbox.links_to(colleague) if "/accounts/confirm-email/" in link]
    second.get_by_role("button", name="Accept invitation").click()
    expect(second.get_by_text("Welcome to Comet Studio.")).to_be_visible()
    second.get_by_role("link", name="Comet Online").first.click()
    expect(second.get_by_role("heading", name="Comet Online")).to_be_visible()
    screenshot_page(second, "journey-05-colleague-sees-project-en")
    other.close()

    page.goto("/o/comet-studio/-/members/")
    expect(page.get_by_text(colleague, exact=True)).to_be_visible()
    expect(page.locator("#invitations").get_by_text("No open invitations.")).to_be_visible()


def screenshot_page(page: Page, name: str) -> None:
    from tests.e2e.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
