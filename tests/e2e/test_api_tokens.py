"""A developer creates an API token in the console, copies it, calls the API with it, then revokes it; the API
docs page works under the console's Content-Security-Policy with locally served assets."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

from playwright.sync_api import Page, expect

from tenants.models import Membership, Organization, Project, Role
from tests.conftest import make_user


def call_api(base_url: str, path: str, secret: str) -> tuple[int, dict]:
    request = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_developer_creates_uses_and_revokes_a_token(
    page: Page, base_url: str, transactional_db: None, login, screenshot
) -> None:
    organization = Organization.objects.create(name="Pixel Forge", slug="pixel-forge")
    Project.objects.create(organization=organization, name="Skyward", slug="skyward")
    developer = make_user("dev@pixel-forge.example.com", name="Dana Developer")
    Membership.objects.create(user=developer, organization=organization, role=Role.ADMIN)
    login(developer)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)

    page.goto("/o/pixel-forge/-/api-tokens/")
    expect(page.get_by_text("No API tokens yet")).to_be_visible()
    screenshot("api-tokens-01-empty-en")

    page.get_by_label("Name").fill("Deploy script")
    page.get_by_label("Role ceiling").select_option("member")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy it now: you will not be able to see it again.")).to_be_visible()
    secret = page.locator("#new-token-secret").input_value()
    assert re.fullmatch(r"hnl_[0-9a-f]{8}_[\w-]{43}", secret)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot("api-tokens-02-created-en")

    status, body = call_api(base_url, "/api/v1/me/", secret)
    assert status == 200 and body["organizations"][0]["role"] == "member"

    page.goto("/o/pixel-forge/-/api-tokens/")
    expect(page.locator("#new-token-secret")).to_have_count(0)
    expect(page.get_by_role("cell", name=re.compile("Deploy script"))).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    screenshot("api-tokens-03-revoke-confirm-en")
    page.locator("#confirm-dialog-accept").click()
    expect(page.get_by_text("revoked: it no longer works")).to_be_visible()
    screenshot("api-tokens-04-revoked-en")
    status, body = call_api(base_url, "/api/v1/me/", secret)
    assert (status, body["code"]) == (401, "token_revoked")

    developer.language = "ko"
    developer.save(update_fields=["language"])
    page.goto("/o/pixel-forge/-/api-tokens/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("api-tokens-05-list-ko")


def test_the_api_docs_page_renders_under_the_csp(page: Page, base_url: str, transactional_db: None, screenshot):
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto("/api/docs/")
    expect(page.get_by_text("Haneul API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/organizations/{organization_id}/projects/").first).to_be_visible()
    screenshot("api-docs-en")
    assert not [text for text in refused if "script" in text], refused
