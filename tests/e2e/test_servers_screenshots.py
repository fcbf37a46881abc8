"""The servers' pages as a studio sees them, in English and in Korean: the launch wizard, the list with instances in
several states, and a running instance's page (screenshots kept as CI artifacts, and checked for the language)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from infra.actions import servers as actions
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import User
from tests.conftest import Tenant
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image

HEADINGS = {
    "en": {"launch": "Launch instances", "list": "Instances", "running": "Running"},
    "ko": {"launch": "인스턴스 생성", "list": "인스턴스", "running": "실행 중"},
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_wizard_list_and_detail_in_each_language(
    page: Page, login, screenshot, tenant_a: Tenant, transactional_db: None, language: str
) -> None:
    User.objects.filter(pk=tenant_a.member.pk).update(language=language)
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _bigger = small_flavors(region)
    image = small_image(region, small)
    member = Actor(tenant_a.member)
    servers = actions.create_servers(
        actor=member, project=tenant_a.project, region=region, name="game-{n}", flavor=small, image=image, count=4
    )
    running = drive(servers[0])
    drive(actions.stop_server(actor=member, server=drive(servers[1])))
    drive(servers[2])
    Server.objects.filter(pk=servers[2].pk).update(status=Status.ERROR, error_message="No valid host was found.")
    Server.objects.filter(pk=servers[3].pk).update(status=Status.BUILDING)
    labels = HEADINGS[language]
    login(tenant_a.member)

    page.goto(tenant_a.url("main/servers/launch/"))
    expect(page.get_by_role("heading", name=labels["launch"], exact=True)).to_be_visible()
    page.locator("input[name=name]").fill("lobby-{n}")
    page.locator("input[name=count]").fill("3")
    expect(page.get_by_test_id("summary-names")).to_contain_text("lobby-1, lobby-2, lobby-3")
    screenshot(f"servers-wizard-{language}")

    page.goto(tenant_a.url("main/servers/"))
    expect(page.get_by_role("heading", name=labels["list"], exact=True)).to_be_visible()
    expect(page.locator(f"#server-row-{running.pk} .console-server-status")).to_have_text(labels["running"])
    screenshot(f"servers-list-{language}")

    page.goto(tenant_a.url(f"main/servers/{running.pk}/"))
    expect(page.get_by_role("heading", name="game-1")).to_be_visible()
    expect(page.locator(f"#server-{running.pk}-header .console-server-status")).to_have_text(labels["running"])
    screenshot(f"servers-detail-{language}")

    # The other pages of an instance, and the project's regions.
    for suffix, name in (("console-log/", "console-log"), ("resize/", "resize"), ("network/", "network")):
        page.goto(tenant_a.url(f"main/servers/{running.pk}/{suffix}"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        screenshot(f"servers-{name}-{language}")
    page.goto(tenant_a.url("main/regions/"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    screenshot(f"project-regions-{language}")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_operators_instances_list_in_each_language(
    page: Page, login, screenshot, tenant_a: Tenant, operator: User, transactional_db: None, language: str
) -> None:
    User.objects.filter(pk=operator.pk).update(language=language)
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    small, _bigger = small_flavors(region)
    drive(
        actions.create_server(
            actor=Actor(tenant_a.member), project=tenant_a.project, region=region, name="lobby-1", flavor=small,
            image=small_image(region, small),
        )
    )  # fmt: skip
    login(operator)
    page.goto("/operators/servers/")
    expect(page.get_by_role("link", name="lobby-1")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    screenshot(f"operator-servers-{language}")
