"""Account security in the browser: set up an authenticator app from its page, sign out, sign in with a code;
the profile, two-factor, recovery codes and sessions pages in both languages."""

from __future__ import annotations

import re
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def totp_code(secret: str, *, step: int = 0) -> str:
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


def sign_in_with_form(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("E-?mail|이메일")).fill(email)
    page.get_by_label(re.compile("Password|비밀번호")).fill(password)
    page.locator("form").get_by_role("button", name=re.compile("Sign In|로그인")).click()


def use_language(page: Page, base_url: str, language: str) -> None:
    """Switch the browser's language (the cookie the language menu sets) and reload the page."""
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_enrol_totp_then_sign_in_with_a_code(page: Page, base_url, transactional_db, user, screenshot):
    sign_in_with_form(page, user.email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The user menu leads to the account settings; the profile page in both languages.
    page.locator(".console-topbar").get_by_label("Open user menu").click()
    page.locator(".console-topbar").get_by_role("link", name="Account settings").click()
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("")
    screenshot("account-profile-en")
    use_language(page, base_url, "ko")
    screenshot("account-profile-ko")
    use_language(page, base_url, "en")

    # Two-factor page → set up → confirm the password → the QR code and secret.
    page.locator(".account-tabs").get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    screenshot("account-mfa-off-en")
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page).to_have_url(re.compile("/accounts/reauthenticate/"))
    page.get_by_label(re.compile("Password")).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    screenshot("account-totp-activate-en")
    use_language(page, base_url, "ko")
    # (a new secret on every visit: read it from the page that is submitted)
    screenshot("account-totp-activate-ko")
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.locator("#id_code").fill(totp_code(secret))
    page.locator("form.totp-setup").get_by_role("button").last.click()

    # Recovery codes are shown right after.
    expect(page).to_have_url(re.compile("/accounts/2fa/recovery-codes/$"))
    expect(page.locator("#recovery_codes li")).to_have_count(mfa_settings.RECOVERY_CODE_COUNT)
    screenshot("account-recovery-codes-ko")
    use_language(page, base_url, "en")
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    screenshot("account-recovery-codes-en")

    page.locator(".account-tabs").get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("Authentication using an authenticator app is active.")).to_be_visible()
    screenshot("account-mfa-on-en")

    page.locator(".account-tabs").get_by_role("link", name="Sessions").click()
    expect(page.get_by_text("This browser")).to_be_visible()
    screenshot("account-sessions-en")
    use_language(page, base_url, "ko")
    screenshot("account-sessions-ko")
    use_language(page, base_url, "en")

    # Sign out; signing in again asks for a code after the password.
    page.locator(".console-topbar").get_by_label("Open user menu").click()
    page.locator(".console-topbar").get_by_role("button", name="Sign out", exact=True).click()
    sign_in_with_form(page, user.email)
    expect(page).to_have_url(re.compile("/accounts/2fa/authenticate/"))
    expect(page.get_by_role("heading", name="Two-Factor Authentication")).to_be_visible()
    screenshot("account-login-code-en")
    page.get_by_label(re.compile("Code", re.IGNORECASE)).fill(totp_code(secret, step=1))
    page.locator("form").get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
