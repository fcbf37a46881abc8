"""The harness captures mail the server subprocess sends, so journeys can follow links from e-mails."""

import re

from playwright.sync_api import Page, expect


def test_password_reset_mail_is_captured_and_its_link_works(page: Page, transactional_db, mailbox, user, screenshot):
    page.goto("/accounts/password/reset/")
    page.get_by_label(re.compile("E-?mail")).fill(user.email)
    page.locator("form").get_by_role("button", name=re.compile("Reset")).click()
    expect(page.get_by_role("heading", name=re.compile("Password Reset"))).to_be_visible()

    links = [link for link in mailbox.links_to(user.email) if "/password/reset/key/" in link]
    assert len(links) == 1
    page.goto(links[0])
    expect(page.get_by_role("heading", name=re.compile("Change Password"))).to_be_visible()
    screenshot("password-reset-from-mail-en")
