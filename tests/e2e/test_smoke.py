"""A newcomer's first minutes: sign in with the demo login, look around in both languages, sign out."""

import re

from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import Page, expect

DEMO_OWNER = "owner@demo-studio.localhost"
DEMO_PASSWORD = "haneul-demo-2026"


def sign_in_with_form(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile("E-?mail|이메일")).fill(email)
    page.get_by_label(re.compile("Password|비밀번호")).fill(password)
    page.locator("form").get_by_role("button", name=re.compile("Sign In|로그인")).click()


def test_demo_owner_signs_in_and_sees_the_dashboard_in_both_languages(page: Page, transactional_db, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    page.goto("/accounts/login/")
    screenshot("login-en")
    sign_in_with_form(page, DEMO_OWNER, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="Demo Studio")).to_be_visible()
    screenshot("dashboard-en")

    page.get_by_role("link", name=re.compile("Starfall Online")).first.click()
    expect(page.get_by_role("heading", name="Starfall Online")).to_be_visible()
    screenshot("project-en")

    # The language switcher in the top bar.
    page.locator(".console-topbar").get_by_label("Language").click()
    page.locator(".console-topbar").get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="Starfall Online")).to_be_visible()
    expect(page.get_by_text("이 프로젝트에는 아직 인스턴스가 없습니다")).to_be_visible()
    screenshot("project-ko")
    page.goto("/")
    expect(page.get_by_role("heading", name="대시보드")).to_be_visible()
    screenshot("dashboard-ko")

    page.locator(".console-topbar").get_by_label("사용자 메뉴 열기").click()
    page.get_by_role("button", name="로그아웃").click()
    expect(page).to_have_url(re.compile("/accounts/login/|/$"))


def test_wrong_password_is_refused_with_a_clear_message(page: Page, transactional_db, screenshot):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    sign_in_with_form(page, DEMO_OWNER, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    screenshot("login-error-en")


def test_shell_has_no_console_errors_and_loads_its_assets(page: Page, transactional_db, login, tenant_a):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(tenant_a.owner)
    page.goto(f"/o/{tenant_a.organization.slug}/{tenant_a.project.slug}/")
    expect(page.locator("aside.navbar-vertical")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("getComputedStyle(document.querySelector('aside')).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert errors == []


def test_shell_works_on_a_phone(page: Page, transactional_db, login, tenant_a, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    login(tenant_a.owner)
    page.goto(f"/o/{tenant_a.organization.slug}/{tenant_a.project.slug}/")
    menu = page.get_by_role("link", name="Dashboard")
    expect(menu).to_be_hidden()
    page.get_by_label("Toggle navigation").click()
    expect(menu).to_be_visible()
    screenshot("project-phone-en")


def test_theme_follows_the_system_and_can_be_chosen(page: Page, transactional_db, login, tenant_a, screenshot):
    page.emulate_media(color_scheme="dark")
    login(tenant_a.owner)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    screenshot("dashboard-dark-en")
    page.locator(".console-topbar").get_by_label("Appearance").click()
    page.get_by_role("button", name="Light").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")


def test_unknown_address_shows_the_consoles_not_found_page_in_both_languages(page: Page, base_url, screenshot):
    page.goto("/no/such/page")
    expect(page.get_by_text("Page not found")).to_be_visible()
    screenshot("not-found-en")
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto("/no/such/page")
    expect(page.get_by_text("페이지를 찾을 수 없습니다")).to_be_visible()
    screenshot("not-found-ko")
    page.get_by_role("link", name="콘솔로 돌아가기").click()
    expect(page).to_have_url(re.compile("/accounts/login/"))
    screenshot("not-found-then-login-ko")


def test_keyboard_user_can_skip_to_the_content(page: Page, transactional_db, login, tenant_a):
    login(tenant_a.owner)
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
