"""A member launches instances with the wizard in the browser: the sections follow the choices (an image that needs a
bigger disk disables the small instance types), the names' preview and the user data check follow the typing, the
summary refuses a launch over quota with the exact shortfall, and a launch of three goes to the list."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from infra import keys
from infra.actions import keypairs as keypair_actions
from infra.models import Flavor, ProjectQuota, Region, Server
from infra.models.catalog import Health
from tenants.audit import Actor
from tests.infra.engine import activate, sandbox_region


def test_a_member_fills_the_wizard_sees_the_quota_check_and_launches_three(
    page: Page, transactional_db, login, screenshot, tenant_a
):
    region = sandbox_region()
    activate(tenant_a.project, region, Actor(tenant_a.admin))
    down = sandbox_region("sandbox-east")
    Region.objects.filter(pk=down.pk).update(health=Health.DOWN, health_message="The compute API does not answer.")
    keypair_actions.import_keypair(
        actor=Actor(tenant_a.member),
        project=tenant_a.project,
        name="minji-laptop",
        public_key=keys.generate(comment="minji@laptop")[0].openssh,
    )
    # (update_or_create: a running worker may have made the row already, pushing the quotas after activation)
    ProjectQuota.objects.update_or_create(project=tenant_a.project, region=region, defaults={"instances": 2})
    login(tenant_a.member)
    page.goto(f"/o/{tenant_a.slug}/main/servers/launch/")
    expect(page.get_by_role("heading", name="Launch instances")).to_be_visible()
    expect(page.get_by_text("The compute API does not answer.")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("Sandbox East"))).to_be_disabled()

    # An image that needs 40 GiB of disk: the small instance types are disabled with the reason.
    page.get_by_text("Windows Server 2022", exact=True).click()
    small = Flavor.objects.get(region=region, name="g1.small")
    expect(page.locator(f"#flavor-{small.pk}")).to_be_disabled()
    expect(page.get_by_text("The image needs a disk of at least 40 GiB.").first).to_be_visible()
    page.get_by_text("Debian 12", exact=True).click()
    expect(page.locator(f"#flavor-{small.pk}")).to_be_enabled()
    page.locator(f"#flavor-{small.pk}").check()

    # Three named from a pattern, with user data: the preview and the check follow the typing.
    page.get_by_role("spinbutton", name="Count").fill("3")
    page.locator("#id_name").fill("web-{n}")
    expect(page.locator("#name-preview")).to_contain_text("web-1, web-2, web-3")
    page.locator("#id_user_data").fill("#cloud-config\npackages: [nginx\n")
    expect(page.locator("#user-data-check")).to_contain_text("The #cloud-config is not valid YAML")
    page.locator("#id_user_data").fill("#cloud-config\npackages: [nginx]\n")
    expect(page.locator("#user-data-check")).to_contain_text("32 of 65,535 bytes")
    expect(page.locator("#user-data-check")).not_to_contain_text("not valid")

    # Over quota: the exact shortfall, a way to ask for more, and no Launch.
    shortfall = page.get_by_test_id("quota-shortfall")
    expect(shortfall).to_contain_text("Instances in Sandbox Test: this needs 3, 0 of 2 are in use, so it is 1 short.")
    expect(page.get_by_test_id("launch-button")).to_be_disabled()
    screenshot("server-launch-over-quota-en")

    # Within the quota: the summary lets it go.
    ProjectQuota.objects.filter(project=tenant_a.project, region=region).update(instances=10)
    page.get_by_role("spinbutton", name="Count").fill("2")
    expect(page.get_by_test_id("launch-button")).to_have_text(re.compile("Launch 2 instances"))
    page.get_by_role("spinbutton", name="Count").fill("3")
    expect(page.get_by_test_id("launch-button")).to_be_enabled()
    expect(page.get_by_test_id("launch-button")).to_have_text(re.compile("Launch 3 instances"))
    expect(page.get_by_test_id("summary-names")).to_contain_text("web-1, web-2, web-3")
    expect(page.get_by_text("Prices are not set up in this console yet")).to_be_visible()
    screenshot("server-launch-en")

    page.get_by_test_id("launch-button").click()
    page.wait_for_url(re.compile(r"/servers/$"))
    servers = Server.objects.filter(project=tenant_a.project).order_by("name")
    assert [s.name for s in servers] == ["web-1", "web-2", "web-3"]
    assert {s.flavor.name for s in servers} == {"g1.small"} and {s.image.name for s in servers} == {"Debian 12"}
    assert {s.keypair.name for s in servers} == {"minji-laptop"}
    assert servers[0].user_data == "#cloud-config\npackages: [nginx]\n"
