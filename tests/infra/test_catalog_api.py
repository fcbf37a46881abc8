"""The catalog API: open regions and what they offer (any signed-in user or token), operators' list and PATCH
(everyone else, tokens of non-operators included, gets 404), unknown regions 404, audit rows."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from infra.models import Flavor, Image, Region
from tenants.models import AuditEvent
from tests.conftest import make_api_token
from tests.infra.engine import sandbox_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def region() -> Region:
    return sandbox_region("catalog-test")


def client_for(user, *, token_of=None, role: str = "owner") -> APIClient:
    client = APIClient()
    if token_of is None:
        client.force_authenticate(user)
    else:
        _token, secret = make_api_token(user, token_of, role=role)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def flavor(region: Region, name: str) -> Flavor:
    return Flavor.objects.get(region=region, name=name)


def image(region: Region, name: str) -> Image:
    return Image.objects.get(region=region, name=name)


# Tenants -----------------------------------------------------------------------------------------------------------


def test_regions_lists_open_regions_with_provider_and_health(tenant_a, region):
    Region.objects.create(slug="closed", name="Closed", provider="sandbox", enabled=False)
    client = client_for(tenant_a.viewer, token_of=tenant_a.organization, role="viewer")
    rows = results(client.get(reverse("api:regions")))
    assert rows == [
        {"slug": "catalog-test", "name": "Catalog Test", "provider": "Sandbox", "health": "unknown", "available": True}
    ]


def test_tenants_get_only_offered_items_in_order(tenant_a, region):
    Flavor.objects.filter(region=region, name="g1.nano").update(visible=False)
    Flavor.objects.filter(region=region, name="g1.micro").update(deleted_at="2026-01-01T00:00:00Z")
    Flavor.objects.filter(region=region, name="c1.large").update(position=0, is_default=True, label="Compute")
    Image.objects.filter(region=region, name="Debian 12").update(visible=False)
    Image.objects.filter(region=region, name="Rocky Linux 9").update(status="queued")
    Image.objects.filter(region=region, name="Windows Server 2022").update(label="Windows", position=0)
    client = client_for(tenant_a.member)

    flavors = results(client.get(reverse("api:region_flavors", args=[region.slug])))
    names = [row["name"] for row in flavors]
    assert names[0] == "c1.large" and flavors[0]["label"] == "Compute" and flavors[0]["is_default"]
    assert "g1.nano" not in names and "g1.micro" not in names

    images = results(client.get(reverse("api:region_images", args=[region.slug])))
    assert images[0]["name"] == "Windows" and images[0]["cloud_name"] == "Windows Server 2022"
    assert images[0]["logo"] == "windows" and images[0]["os"] == "Windows"
    assert {row["cloud_name"] for row in images} == {"Windows Server 2022", "Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS"}


def test_unknown_or_closed_region_is_404(tenant_a, region):
    Region.objects.create(slug="closed", name="Closed", provider="sandbox", enabled=False)
    client = client_for(tenant_a.member)
    for slug in ("nowhere", "closed"):
        for name in ("api:region_flavors", "api:region_images"):
            response = client.get(reverse(name, args=[slug]))
            assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_unknown_region_is_404_for_operators_too(operator):
    client = client_for(operator)
    for name in ("api:operator_region_flavors", "api:operator_region_images"):
        assert client.get(reverse(name, args=["nowhere"])).status_code == 404


def test_anonymous_callers_are_refused(region):
    assert APIClient().get(reverse("api:regions")).status_code in (401, 403)


# Operators only ----------------------------------------------------------------------------------------------------


def operator_endpoints(region: Region) -> list[tuple[str, str, dict]]:
    small, debian = flavor(region, "g1.small"), image(region, "Debian 12")
    return [
        ("get", reverse("api:operator_region_flavors", args=[region.slug]), {}),
        ("get", reverse("api:operator_region_images", args=[region.slug]), {}),
        ("get", reverse("api:operator_region_flavor", args=[region.slug, small.pk]), {}),
        ("patch", reverse("api:operator_region_flavor", args=[region.slug, small.pk]), {"visible": False}),
        ("get", reverse("api:operator_region_image", args=[region.slug, debian.pk]), {}),
        ("patch", reverse("api:operator_region_image", args=[region.slug, debian.pk]), {"is_default": True}),
    ]


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
@pytest.mark.parametrize("via", ["session", "token"])
def test_tenant_users_and_their_tokens_get_404_on_operator_endpoints(role, via, tenant_a, region):
    user = tenant_a.user(role)
    client = client_for(user, token_of=tenant_a.organization if via == "token" else None, role=role)
    for method, url, data in operator_endpoints(region):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (role, via, method, url)
    assert flavor(region, "g1.small").visible
    assert not Image.objects.filter(region=region, is_default=True).exists()
    assert not AuditEvent.objects.filter(action__in=["flavor.hide", "image.default"]).exists()


def test_an_operators_viewer_token_gets_404(operator, tenant_a, region):
    tenant_a.organization.memberships.create(user=operator, role="viewer")
    client = client_for(operator, token_of=tenant_a.organization, role="viewer")
    url = reverse("api:operator_region_flavors", args=[region.slug])
    assert client.get(url).status_code == 404


def test_operator_lists_everything_including_hidden_and_deleted(operator, region):
    Flavor.objects.filter(region=region, name="g1.nano").update(visible=False)
    Flavor.objects.filter(region=region, name="g1.micro").update(deleted_at="2026-01-01T00:00:00Z")
    rows = results(
        client_for(operator).get(reverse("api:operator_region_flavors", args=[region.slug]) + "?per_page=100")
    )
    by_name = {row["name"]: row for row in rows}
    assert by_name["g1.nano"]["visible"] is False and by_name["g1.micro"]["deleted_at"] is not None
    assert rows[-1]["name"] == "g1.micro"  # deleted ones last


def test_operator_patches_a_flavor_through_the_actions(operator, region):
    small = flavor(region, "g1.small")
    client = client_for(operator)
    url = reverse("api:operator_region_flavor", args=[region.slug, small.pk])
    response = client.patch(url, {"label": "General purpose", "position": 1, "is_default": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["label"] == "General purpose"
    assert response.json()["position"] == 1 and response.json()["is_default"] is True
    offered = results(client.get(reverse("api:region_flavors", args=[region.slug])))
    assert offered[0]["name"] == "g1.small" and offered[0]["is_default"]
    actions = set(AuditEvent.objects.filter(target_id=str(small.pk)).values_list("action", flat=True))
    assert actions == {"flavor.update", "flavor.move", "flavor.default"}
    assert AuditEvent.objects.filter(target_id=str(small.pk), via="api", operator=True).count() == 3


def test_operator_patches_an_image_and_a_refusal_changes_nothing(operator, region):
    debian = image(region, "Debian 12")
    client = client_for(operator)
    url = reverse("api:operator_region_image", args=[region.slug, debian.pk])
    response = client.patch(
        url, {"label": "Debian", "os_label": "Debian GNU/Linux", "version_label": "12", "logo": "debian"}, format="json"
    )
    assert response.status_code == 200 and response.json()["os_label"] == "Debian GNU/Linux"
    response = client.patch(url, {"label": "Never saved", "visible": False, "is_default": True}, format="json")
    assert response.status_code == 400 and "hidden from tenants" in response.json()["message"]
    debian.refresh_from_db()
    assert debian.label == "Debian" and debian.visible and not debian.is_default  # all or nothing
    assert client.patch(url, {"logo": "amiga"}, format="json").status_code == 400


def test_one_default_per_region_through_the_api(operator, region):
    client = client_for(operator)
    for name in ("Ubuntu 24.04 LTS", "Debian 12"):
        item = image(region, name)
        client.patch(
            reverse("api:operator_region_image", args=[region.slug, item.pk]), {"is_default": True}, format="json"
        )
    assert list(Image.objects.filter(region=region, is_default=True).values_list("name", flat=True)) == ["Debian 12"]


def test_an_item_of_another_region_is_404(operator, region):
    other = sandbox_region("catalog-other")
    theirs = flavor(other, "g1.small")
    url = reverse("api:operator_region_flavor", args=[region.slug, theirs.pk])
    assert client_for(operator).patch(url, {"visible": False}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.visible
