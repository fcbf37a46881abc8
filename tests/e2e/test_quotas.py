"""A studio's journey with quotas: the project's usage bars, asking for more from the Quotas page, an operator
deciding in the queue (a rejection needs a reason; an approval raises the limit), and the requester seeing the
decision; the operators' limits pages; the same pages in Korean."""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import Page, expect

from infra import quotas
from infra.actions import servers as server_actions
from infra.models import QuotaRequest
from tenants.audit import Actor
from tenants.models import Notification
from tests.infra.engine import activate, drive, sandbox_region, small_flavors, small_image


def _project_with_servers(tenant) -> object:
    region = sandbox_region("sandbox")
    activate(tenant.project, region, Actor(tenant.admin))
    small, _ = small_flavors(region)
    for number in range(3):
        drive(
            server_actions.create_server(
                actor=Actor(tenant.member),
                project=tenant.project,
                region=region,
                name=f"game-{number}",
                flavor=small,
                image=small_image(region, small),
            )
        )
    return region


def test_member_asks_for_more_and_an_operator_decides(
    page: Page, transactional_db, login, screenshot, base_url, operator, tenant_a, tenant_b
):
    region = _project_with_servers(tenant_a)
    org, project = tenant_a.organization.slug, tenant_a.project.slug
    login(tenant_a.member)

    # The project's overview shows its usage against its limits; the Quotas page has every resource.
    page.goto(f"/o/{org}/{project}/")
    card = page.locator("#quotas")
    expect(card.locator('[data-resource="instances"]')).to_contain_text("3")
    expect(card.locator('[data-resource="instances"]')).to_contain_text("/ 10")
    screenshot("project-overview-quotas-en")
    card.get_by_role("link", name="All quotas").click()
    expect(page.get_by_role("heading", name="Quotas", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Floating IPs")).to_be_visible()
    screenshot("quotas-en")

    # Ask for more instances: the form comes prefilled from the bar's link.
    page.locator('[data-resource="instances"]').get_by_role("link", name="Ask for more").click()
    form = page.locator("#ask")
    expect(form.get_by_label("Resource")).to_have_value("instances")
    form.get_by_label("New limit").fill("5")
    form.get_by_label("Why you need it").fill("Season two opens on 12 December with twice the players.")
    form.get_by_role("button", name="Send request").click()
    expect(page.get_by_text("Ask for more than the current limit (10).")).to_be_visible()
    form.get_by_label("New limit").fill("25")
    form.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert").filter(has_text="Your request for Instances in Sandbox is sent")).to_be_visible()
    requests = page.locator("#requests")
    expect(requests.locator("tbody tr")).to_have_count(1)
    expect(requests).to_contain_text("Pending")
    screenshot("quotas-requested-en")

    # An operator finds it in the queue; a rejection without a reason is refused; the approval raises the limit.
    login(operator)
    page.goto("/")
    page.get_by_role("link", name="Quota requests").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("10 → 25")
    screenshot("operator-quota-requests-en")
    rows.first.get_by_role("link", name=tenant_a.project.name).click()
    expect(page.get_by_text("Season two opens on 12 December")).to_be_visible()
    screenshot("operator-quota-request-en")
    page.locator("form").filter(has=page.get_by_role("button", name="Reject")).get_by_role(
        "button", name="Reject"
    ).click()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    page.get_by_label("Note to the requester").fill("Approved for the season launch.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert").filter(has_text="Approved")).to_be_visible()
    expect(page.get_by_text("No requests here")).to_be_visible()
    assert quotas.limits(tenant_a.project, region)["instances"] == 25
    assert QuotaRequest.objects.get().status == QuotaRequest.Status.APPROVED
    assert Notification.objects.filter(user=tenant_a.member, kind="quota_request.approved").count() == 1

    # The requester sees the decision and the new limit.
    login(tenant_a.member)
    page.goto(f"/o/{org}/{project}/quotas/")
    expect(page.locator("#requests")).to_contain_text("Approved")
    expect(page.locator('[data-resource="instances"]')).to_contain_text("/ 25")

    # The operators' limits pages.
    login(operator)
    page.goto(f"/operators/projects/{tenant_a.project.pk}/quotas/")
    expect(page.locator(f"#id_{region.slug}-instances")).to_have_value("25")
    screenshot("operator-project-quotas-en")
    page.goto(f"/operators/regions/{region.slug}/quotas/")
    page.locator("#id_cores").fill("32")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="Default quotas of")).to_be_visible()
    screenshot("operator-region-quotas-en")
    assert quotas.region_defaults(region).cores == 32

    # The same pages in Korean (a pending request to show).
    server_request = QuotaRequest.objects.create(
        project=tenant_a.project,
        region=region,
        resource="cores",
        current_limit=32,
        requested_limit=64,
        reason="월드 보스 이벤트 준비",
        requested_by=tenant_a.member,
    )
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto("/operators/quota-requests/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("operator-quota-requests-ko")
    page.goto(f"/operators/quota-requests/{server_request.pk}/")
    screenshot("operator-quota-request-ko")
    page.goto(f"/operators/projects/{tenant_a.project.pk}/quotas/")
    screenshot("operator-project-quotas-ko")
    page.goto(f"/operators/regions/{region.slug}/quotas/")
    screenshot("operator-region-quotas-ko")
    login(tenant_a.member)
    page.goto(f"/o/{org}/{project}/quotas/")
    screenshot("quotas-ko")
    page.goto(f"/o/{org}/{project}/")
    screenshot("project-overview-quotas-ko")


def test_a_viewer_sees_the_quotas_without_asking(page: Page, transactional_db, login, screenshot, tenant_a):
    _project_with_servers(tenant_a)
    login(tenant_a.viewer)
    page.goto(f"/o/{tenant_a.organization.slug}/{tenant_a.project.slug}/quotas/")
    expect(page.locator('[data-resource="instances"]')).to_contain_text("3")
    expect(page.get_by_role("button", name="Send request")).to_have_count(0)
    expect(page.get_by_role("link", name="Ask for more")).to_have_count(0)
    screenshot("quotas-viewer-en")
