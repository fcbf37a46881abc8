"""An operator curates a sandbox region's catalog — makes an instance type the default, moves it up, hides an
image — and a tenant's member sees the result on the project's images and instance types pages; the same pages in
Korean."""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import Page, expect

from infra.models import Flavor, Image, Region
from tenants.models import AuditEvent
from tests.infra.engine import sandbox_region


def test_operator_hides_an_image_and_the_tenant_no_longer_sees_it(
    page: Page, transactional_db, login, screenshot, base_url, operator, tenant_a
):
    region = sandbox_region("sandbox")
    Region.objects.filter(pk=region.pk).update(name="Sandbox")
    sandbox_region("seoul-1")
    Flavor.objects.filter(region=region, name="g1.small").update(label="General purpose")
    Flavor.objects.filter(region=region, name="c1.large").update(label="Compute optimised")
    Flavor.objects.filter(region=region, name="m1.large").update(label="Memory optimised")
    login(operator)

    # The operator's catalog: the first region's instance types.
    page.goto("/")
    page.get_by_role("link", name="Catalog").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
    expect(page.get_by_test_id("region-switcher")).to_contain_text("Sandbox")
    small = page.locator("table tbody tr").filter(has_text="g1.small")
    small.get_by_role("button", name="Make default").click()
    expect(page.get_by_role("alert").filter(has_text="g1.small is now the default of Sandbox")).to_be_visible()
    small = page.locator("table tbody tr").filter(has_text="g1.small")
    expect(small.get_by_test_id("default")).to_be_visible()
    # Move it up with the keyboard.
    small.get_by_role("button", name="Move g1.small up").focus()
    page.keyboard.press("Enter")
    expect(page.locator("table tbody tr").nth(1)).to_contain_text("g1.small")
    screenshot("catalog-operator-flavors-en")

    # Images: hide Debian 12.
    page.get_by_role("link", name="Images").first.click()
    expect(page.locator("table tbody tr").filter(has_text="Debian 12")).to_be_visible()
    page.locator("table tbody tr").filter(has_text="Debian 12").get_by_role("button", name="Hide").click()
    expect(page.get_by_role("alert").filter(has_text="Debian 12 is hidden from tenants")).to_be_visible()
    expect(page.locator("table tbody tr").filter(has_text="Debian 12").get_by_test_id("visible")).to_have_text("Hidden")
    screenshot("catalog-operator-images-en")
    assert not Image.objects.get(region=region, name="Debian 12").visible
    assert AuditEvent.objects.filter(action="image.hide", operator=True).count() == 1

    # Edit an image's labels.
    page.locator("table tbody tr").filter(has_text="Rocky Linux 9").get_by_role("link").last.click()
    page.get_by_label("Display name").fill("Rocky Linux")
    page.get_by_label("Version").fill("9.4 (Blue Onyx)")
    screenshot("catalog-operator-edit-image-en")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("table tbody tr").filter(has_text="Rocky Linux")).to_contain_text("9.4 (Blue Onyx)")

    # The tenant's member: Debian 12 is gone, the default instance type comes first among its neighbours.
    page.context.clear_cookies()
    login(tenant_a.member)
    page.goto(f"/o/{tenant_a.slug}/{tenant_a.project.slug}/")
    page.get_by_role("link", name="Images").click()
    expect(page.get_by_role("heading", name="Images and instance types")).to_be_visible()
    table = page.locator("table tbody")
    expect(table).to_contain_text("Ubuntu 24.04 LTS")
    expect(table).to_contain_text("Rocky Linux")
    expect(table).not_to_contain_text("Debian 12")
    screenshot("catalog-tenant-images-en")
    page.get_by_role("link", name="Instance types").click()
    expect(page.locator("table tbody tr").filter(has_text="g1.small").get_by_test_id("default")).to_be_visible()
    screenshot("catalog-tenant-flavors-en")
    # Another region, through the switcher.
    page.get_by_test_id("region-switcher").get_by_role("button").click()
    page.get_by_role("link", name="Seoul 1").click()
    expect(page.get_by_test_id("region-switcher")).to_contain_text("Seoul 1")
    expect(page.locator("table tbody tr").filter(has_text="g1.small").get_by_test_id("default")).to_have_count(0)

    # The same pages in Korean.
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto(f"/o/{tenant_a.slug}/{tenant_a.project.slug}/images/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("catalog-tenant-images-ko")
    page.context.clear_cookies()
    login(operator)
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto("/operators/catalog/sandbox/images/")
    screenshot("catalog-operator-images-ko")
