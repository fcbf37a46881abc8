"""The launch wizard's page: what it offers (regions with their reasons, images, instance types the image can use, the
user's own key pairs, the project's network), its htmx parts (a region's sections, an image's instance types, the
summary with the names and the quota check, the user data check), who may open it, and a launch of one and of three."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from infra import keys
from infra.actions import keypairs as keypair_actions
from infra.models import CloudProject, Flavor, Image, Keypair, ProjectQuota, Region, Server
from infra.models.catalog import Health
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.models import Organization
from tests.infra.engine import activate, sandbox_region

HTMX = {"HTTP_HX_REQUEST": "true"}


def page(tenant, suffix: str = "") -> str:
    return f"/o/{tenant.slug}/main/servers/launch/{suffix}"


@pytest.fixture
def sandbox(db) -> Region:
    return sandbox_region()


@pytest.fixture
def ready(sandbox, tenant_a) -> Region:
    """Tenant A set up in the sandbox region."""
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    return sandbox


def flavor(region: Region, name: str) -> Flavor:
    return Flavor.objects.get(region=region, name=name)


def image(region: Region, name: str) -> Image:
    return Image.objects.get(region=region, name=name)


def keypair(tenant, role: str = "member", name: str = "laptop") -> Keypair:
    return keypair_actions.import_keypair(
        actor=Actor(tenant.user(role)), project=tenant.project, name=name, public_key=keys.generate()[0].openssh
    )


def form_id(response) -> str:
    return re.search(r'name="form_id" value="([^"]+)"', response.content.decode()).group(1)


def launch_data(client, tenant, region: Region, **values: object) -> dict:
    """A launch form as the page sends it: a fresh form id, Ubuntu 24.04 on g1.small, one instance named web."""
    data = {
        "form_id": form_id(client.get(page(tenant))),
        "region": str(region.pk),
        "image": str(image(region, "Ubuntu 24.04 LTS").pk),
        "flavor": str(flavor(region, "g1.small").pk),
        "count": "1",
        "name": "web",
        "keypair": "",
        "user_data": "",
    }
    data.update({key: str(value) for key, value in values.items()})
    return data


# --- the page ------------------------------------------------------------------------------------------------------


def test_the_page_offers_the_regions_images_instance_types_network_and_own_key_pairs(ready, tenant_a):
    mine = keypair(tenant_a, "member", "my-laptop")
    keypair(tenant_a, "admin", "admins-key")
    response = tenant_a.client("member").get(page(tenant_a))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Launch instances" in html and ready.name in html
    assert "Ubuntu 24.04 LTS" in html and "Windows Server 2022" in html
    assert "g1.nano" in html and "m1.xlarge" in html
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=ready)
    assert cloud_project.cidr and cloud_project.cidr in html
    assert "my-laptop" in html and "admins-key" not in html
    assert f'value="{mine.pk}" class="form-selectgroup-input" checked' in html
    assert "Prices are not set up in this console yet" in html
    assert 'data-testid="launch-button"' in html and "Launch 1 instance" in html
    assert page(tenant_a, "check/") in html
    assert f"/o/{tenant_a.slug}/main/keypairs/import/" in html and f"/o/{tenant_a.slug}/main/keypairs/generate/" in html


def test_instance_types_the_chosen_image_cannot_use_are_disabled_with_the_reason(ready, tenant_a):
    windows = image(ready, "Windows Server 2022")  # needs 40 GiB of disk and 4 GiB of RAM
    html = tenant_a.client("member").get(page(tenant_a), {"region": ready.pk, "image": windows.pk}).content.decode()
    nano, large = flavor(ready, "g1.nano"), flavor(ready, "g1.large")
    assert re.search(rf'id="flavor-{nano.pk}" value="{nano.pk}"[^>]* disabled', html)
    assert "The image needs a disk of at least 40 GiB." in html
    assert not re.search(rf'id="flavor-{large.pk}" value="{large.pk}"[^>]* disabled', html)
    # The default choice is the first instance type the image can use.
    assert re.search(rf'id="flavor-{flavor(ready, "g1.medium").pk}" value="[^"]+" checked', html)


def test_a_region_that_is_down_or_not_set_up_is_disabled_with_the_reason(ready, tenant_a):
    down = sandbox_region("sandbox-down")
    Region.objects.filter(pk=down.pk).update(health=Health.DOWN, health_message="The compute API does not answer.")
    fresh = sandbox_region("sandbox-fresh")
    html = tenant_a.client("member").get(page(tenant_a)).content.decode()
    assert re.search(rf'value="{down.pk}" class="form-selectgroup-input" disabled', html)
    assert "The compute API does not answer." in html
    assert re.search(rf'value="{fresh.pk}" class="form-selectgroup-input" disabled', html)
    assert "Not set up for this project." in html
    assert re.search(rf'value="{ready.pk}" class="form-selectgroup-input" checked', html)


def test_with_no_usable_region_the_launch_button_is_disabled_with_the_reason(sandbox, tenant_a):
    html = tenant_a.client("member").get(page(tenant_a)).content.decode()
    assert "Not set up for this project." in html and "is not set up in" in html
    assert re.search(r'data-testid="launch-button" disabled', html)
    assert "Choose a region that is available and set up for this project." in html


# --- htmx parts ------------------------------------------------------------------------------------------------------


def test_a_region_change_answers_its_sections_and_the_summary_only(ready, tenant_a):
    other = sandbox_region("sandbox-two")
    activate(tenant_a.project, other, Actor(tenant_a.admin))
    client = tenant_a.client("member")
    response = client.get(page(tenant_a), {"region": other.pk}, HTTP_HX_TARGET="launch-choices", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="launch-choices">') and "<html" not in html
    assert str(image(other, "Ubuntu 24.04 LTS").pk) in html and str(image(ready, "Ubuntu 24.04 LTS").pk) not in html
    assert '<div id="launch-summary" hx-swap-oob="true">' in html and "Sandbox Two" in html


def test_an_image_change_answers_its_instance_types_and_the_summary(ready, tenant_a):
    windows = image(ready, "Windows Server 2022")
    response = tenant_a.client("member").get(
        page(tenant_a), {"region": ready.pk, "image": windows.pk}, HTTP_HX_TARGET="launch-flavors", **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-3" id="launch-flavors"')
    assert "The image needs a disk of at least 40 GiB." in html
    assert 'id="launch-summary" hx-swap-oob="true"' in html and "Windows Server 2022" in html


def test_the_summary_previews_the_names_and_checks_the_quota_with_the_exact_shortfall(ready, tenant_a):
    ProjectQuota.objects.update_or_create(project=tenant_a.project, region=ready, defaults={"instances": 2})
    client = tenant_a.client("member")
    values = {"region": ready.pk, "flavor": flavor(ready, "g1.small").pk, "name": "web-{n}", "count": 3}
    response = client.get(page(tenant_a), values, HTTP_HX_TARGET="launch-summary", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="launch-summary">')
    assert (
        "web-1, web-2, web-3" in html and 'id="name-preview" class="form-hint" aria-live="polite" hx-swap-oob' in html
    )
    assert "Instances in Sandbox Test: this needs 3, 0 of 2 are in use, so it is 1 short." in html
    assert re.search(r'data-testid="launch-button" disabled', html) and "Not enough quota for this launch" in html
    assert f"/o/{tenant_a.slug}/main/quotas/" in html
    html = client.get(page(tenant_a), {**values, "count": 2}, HTTP_HX_TARGET="launch-summary", **HTMX).content.decode()
    assert "The launch fits in the project's quota" in html and not re.search(
        r'data-testid="launch-button" disabled', html
    )
    assert "Launch 2 instances" in html


def test_the_names_preview_says_what_is_wrong_with_a_name(ready, tenant_a):
    html = (
        tenant_a.client("member")
        .get(
            page(tenant_a),
            {"region": ready.pk, "name": "web server", "count": 2},
            HTTP_HX_TARGET="launch-summary",
            **HTMX,
        )
        .content.decode()
    )
    assert "A name has 1 to 63 letters" in html
    html = (
        tenant_a.client("member")
        .get(page(tenant_a), {"region": ready.pk, "name": "web", "count": 21}, HTTP_HX_TARGET="launch-summary", **HTMX)
        .content.decode()
    )
    assert "Launch between 1 and 20 instances at a time." in html and re.search(
        r'data-testid="launch-button" disabled', html
    )


def test_a_registered_estimator_fills_the_cost_slot(ready, tenant_a, monkeypatch):
    from infra import views_launch

    seen = []

    def estimator(choice: views_launch.LaunchChoice) -> views_launch.Estimate:
        seen.append((choice.region, choice.flavor.name, choice.count))
        return views_launch.Estimate(monthly="₩99,000 a month", hourly="₩135 an hour")

    monkeypatch.setattr(views_launch, "ESTIMATORS", [])
    views_launch.register_estimator(estimator)
    html = (
        tenant_a.client("member")
        .get(
            page(tenant_a),
            {"region": ready.pk, "flavor": flavor(ready, "g1.small").pk, "count": 2},
            HTTP_HX_TARGET="launch-summary",
            **HTMX,
        )
        .content.decode()
    )
    assert "₩99,000 a month" in html and "₩135 an hour" in html and "Prices are not set up" not in html
    assert seen == [(ready, "g1.small", 2)]


def test_the_user_data_check_gives_its_size_and_what_cloud_init_would_refuse(ready, tenant_a):
    client = tenant_a.client("member")
    html = client.post(page(tenant_a, "check/"), {"user_data": "#cloud-config\npackages: [nginx]\n"}).content.decode()
    assert html.lstrip().startswith('<div id="user-data-check"') and "32 of 65,535 bytes" in html
    assert "text-danger" not in html
    html = client.post(page(tenant_a, "check/"), {"user_data": "packages: [nginx]"}).content.decode()
    assert "User data must start with #cloud-config" in html
    html = client.post(page(tenant_a, "check/"), {"user_data": "#cloud-config\n- a\n- b\n"}).content.decode()
    assert "A #cloud-config must be a YAML mapping" in html


def test_a_chosen_user_data_file_is_put_in_the_box(ready, tenant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("init.yaml", b"#cloud-config\nruncmd:\n  - echo hi\n", content_type="text/yaml")
    html = tenant_a.client("member").post(page(tenant_a, "check/"), {"user_data_file": upload}).content.decode()
    assert html.lstrip().startswith('<div id="user-data-field">')
    assert "#cloud-config\nruncmd:\n  - echo hi\n</textarea>" in html


# --- who -----------------------------------------------------------------------------------------------------------


def test_another_tenants_members_get_404_everywhere(ready, tenant_a, tenant_b):
    client = tenant_b.client("owner")
    assert client.get(page(tenant_a)).status_code == 404
    assert client.get(page(tenant_a), HTTP_HX_TARGET="launch-summary", **HTMX).status_code == 404
    assert client.post(page(tenant_a), {"name": "x"}).status_code == 404
    assert client.post(page(tenant_a, "check/"), {"user_data": ""}).status_code == 404
    assert not Server.objects.exists()


def test_viewers_and_visiting_operators_cannot_open_or_send_the_wizard(ready, tenant_a, operator_client):
    viewer = tenant_a.client("viewer")
    assert viewer.get(page(tenant_a)).status_code == 403
    data = launch_data(tenant_a.client("member"), tenant_a, ready)
    assert viewer.post(page(tenant_a), data).status_code == 403
    assert viewer.post(page(tenant_a, "check/"), {"user_data": ""}).status_code == 403
    assert operator_client.get(page(tenant_a)).status_code == 403
    assert operator_client.post(page(tenant_a), data).status_code == 403
    assert not Server.objects.exists()


def test_a_suspended_organisation_sees_why_and_its_launch_is_refused(ready, tenant_a):
    client = tenant_a.client("member")
    data = launch_data(client, tenant_a, ready)
    Organization.objects.filter(pk=tenant_a.organization.pk).update(suspended_at=timezone.now(), suspension_reason="x")
    html = client.get(page(tenant_a)).content.decode()
    assert "Your organization is suspended: new instances cannot be launched." in html
    assert re.search(r'data-testid="launch-button" disabled', html)
    response = client.post(page(tenant_a), data)
    assert response.status_code == 400
    assert "is suspended: resources can be viewed, stopped and deleted" in response.content.decode()
    assert not Server.objects.exists()


# --- launching -----------------------------------------------------------------------------------------------------


def test_a_launch_of_one_goes_to_its_page(ready, tenant_a, django_capture_on_commit_callbacks):
    client = tenant_a.client("member")
    mine = keypair(tenant_a, "member")
    data = launch_data(client, tenant_a, ready, keypair=mine.pk, user_data="#cloud-config\npackages: [nginx]\r\n")
    with django_capture_on_commit_callbacks():
        response = client.post(page(tenant_a), data)
    server = Server.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/o/{tenant_a.slug}/main/servers/{server.pk}/"
    assert (server.name, server.flavor.name, server.image.name) == ("web", "g1.small", "Ubuntu 24.04 LTS")
    assert server.keypair == mine and server.user_data == "#cloud-config\npackages: [nginx]\n"
    assert server.project == tenant_a.project and server.created_by == tenant_a.member
    assert server.network_ids == [] and server.security_groups == []


def test_a_launch_of_three_names_them_and_goes_to_the_list(ready, tenant_a):
    client = tenant_a.client("member")
    response = client.post(page(tenant_a), launch_data(client, tenant_a, ready, name="api-{n}-eu", count=3))
    assert response.status_code == 302 and response["Location"] == f"/o/{tenant_a.slug}/main/servers/"
    names = sorted(Server.objects.values_list("name", flat=True))
    assert names == ["api-1-eu", "api-2-eu", "api-3-eu"]
    assert set(Server.objects.values_list("status", flat=True)) == {Status.PENDING}
    html = client.get(page(tenant_a)).content.decode()  # the next page says what was launched
    assert "Launching 3 instances: api-1-eu, api-2-eu, api-3-eu." in html


def test_a_resent_form_launches_nothing_more(ready, tenant_a):
    client = tenant_a.client("member")
    data = launch_data(client, tenant_a, ready)
    assert client.post(page(tenant_a), data).status_code == 302
    response = client.post(page(tenant_a), data)
    assert response.status_code == 400
    assert "This form was already sent" in response.content.decode()
    assert Server.objects.count() == 1


def test_a_refresh_without_javascript_shows_the_new_choices_and_launches_nothing(ready, tenant_a):
    client = tenant_a.client("member")
    windows = image(ready, "Windows Server 2022")
    data = launch_data(client, tenant_a, ready, image=windows.pk, refresh="image", name="keep-me")
    response = client.post(page(tenant_a), data)
    html = response.content.decode()
    assert response.status_code == 200 and not Server.objects.exists()
    assert "The image needs a disk of at least 40 GiB." in html and 'value="keep-me"' in html
    assert "This field is required" not in html


def test_the_wizard_reads_in_a_constant_number_of_queries(ready, tenant_a):
    client = tenant_a.client("member")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(tenant_a)).status_code == 200
        return len(captured)

    queries()  # the first visit of a session records it (allauth's user sessions)
    few = queries()
    for i in range(5):
        keypair(tenant_a, "member", f"key-{i}")
        sandbox_region(f"sandbox-extra-{i}")
    assert queries() == few
    assert few <= 25
