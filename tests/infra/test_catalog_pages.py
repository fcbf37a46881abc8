"""The catalog pages: operators curate a region's instance types and images (everyone else gets 404), tenants see
what is offered in each open region (another tenant's project URL is a 404), constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from infra.models import Flavor, Image, Region
from tenants.models import AuditEvent
from tests.infra.engine import sandbox_region

pytestmark = pytest.mark.django_db


@pytest.fixture
def region() -> Region:
    return sandbox_region("catalog-test")


def list_url(region: Region, kind: str = "flavors") -> str:
    return reverse(f"operator_catalog_{kind}", kwargs={"region_slug": region.slug})


def op_url(item: Flavor | Image, op: str) -> str:
    kind = "flavor" if isinstance(item, Flavor) else "image"
    return reverse(
        f"operator_catalog_{kind}_op", kwargs={"region_slug": item.region.slug, "item_id": item.pk, "op": op}
    )


def edit_url(item: Flavor | Image) -> str:
    kind = "flavor" if isinstance(item, Flavor) else "image"
    return reverse(f"operator_catalog_{kind}_edit", kwargs={"region_slug": item.region.slug, "item_id": item.pk})


def tenant_url(tenant, name: str, **query: str) -> str:
    url = reverse(name, kwargs={"org_slug": tenant.slug, "project_slug": tenant.project.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def rows(response) -> list:
    return [row.record for row in response.context["table"].page.object_list]


def flavor(region: Region, name: str) -> Flavor:
    return Flavor.objects.get(region=region, name=name)


def image(region: Region, name: str) -> Image:
    return Image.objects.get(region=region, name=name)


# Operators only ----------------------------------------------------------------------------------------------------


def operator_urls(region: Region) -> list[tuple[str, str]]:
    small, debian = flavor(region, "g1.small"), image(region, "Debian 12")
    urls = [("get", reverse("operator_catalog")), ("get", list_url(region)), ("get", list_url(region, "images"))]
    urls += [("get", edit_url(small)), ("post", edit_url(small)), ("get", edit_url(debian)), ("post", edit_url(debian))]
    urls += [("post", op_url(item, op)) for item in (small, debian) for op in ("hide", "up", "down", "default")]
    urls += [
        ("post", reverse(f"operator_catalog_{kind}_bulk", kwargs={"region_slug": region.slug}))
        for kind in ("flavors", "images")
    ]
    return urls


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_tenant_users_get_404_on_every_operator_catalog_url(role, tenant_a, region):
    client = tenant_a.client(role)
    for method, url in operator_urls(region):
        data = {"op": "hide", "ids": [str(flavor(region, "g1.small").pk)], "label": "x", "logo": ""}
        assert getattr(client, method)(url, data).status_code == 404, (role, method, url)
    assert Flavor.objects.filter(region=region, visible=False).count() == 0
    assert not Flavor.objects.filter(region=region, is_default=True).exists()
    assert not AuditEvent.objects.filter(action__startswith="flavor.").exists()


def test_anonymous_visitor_is_sent_to_sign_in(client, region):
    response = client.get(list_url(region))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_an_unknown_region_or_item_is_404(operator_client, region):
    other = sandbox_region("catalog-other")
    assert (
        operator_client.get(reverse("operator_catalog_flavors", kwargs={"region_slug": "nowhere"})).status_code == 404
    )
    assert operator_client.get(reverse("operator_catalog_images", kwargs={"region_slug": "nowhere"})).status_code == 404
    theirs = flavor(other, "g1.small")
    wrong_region = reverse(
        "operator_catalog_flavor_op", kwargs={"region_slug": region.slug, "item_id": theirs.pk, "op": "hide"}
    )
    assert operator_client.post(wrong_region).status_code == 404
    assert operator_client.post(op_url(theirs, "explode")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.visible


def test_catalog_opens_the_first_region(operator_client, region):
    response = operator_client.get(reverse("operator_catalog"))
    assert response.status_code == 302 and response["Location"] == list_url(region)


def test_catalog_without_regions_says_so(operator_client):
    response = operator_client.get(reverse("operator_catalog"))
    assert response.status_code == 200
    assert b"No regions yet" in response.content


# Operators' lists --------------------------------------------------------------------------------------------------


def test_operator_sees_hidden_and_deleted_items_greyed(operator_client, region):
    Flavor.objects.filter(region=region, name="g1.nano").update(visible=False)
    gone = flavor(region, "g1.micro")
    Flavor.objects.filter(pk=gone.pk).update(deleted_at="2026-01-01T00:00:00Z")
    response = operator_client.get(list_url(region))
    assert response.status_code == 200
    shown = {item.name for item in rows(response)}
    assert {"g1.nano", "g1.micro", "g1.small"} <= shown
    html = response.content.decode()
    assert f'data-id="{gone.pk}"' in html and "catalog-deleted" in html
    deleted_only = operator_client.get(list_url(region) + "?cloud=deleted")
    assert [item.name for item in rows(deleted_only)] == ["g1.micro"]
    hidden_only = operator_client.get(list_url(region) + "?shown=no")
    assert [item.name for item in rows(hidden_only)] == ["g1.nano"]


def test_operator_search_and_sort(operator_client, region):
    response = operator_client.get(list_url(region, "images") + "?q=ubuntu")
    assert {item.name for item in rows(response)} == {"Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS"}
    response = operator_client.get(list_url(region) + "?sort=-vcpus")
    assert rows(response)[0].vcpus == 8


def test_hide_show_move_default_from_the_page(operator_client, region):
    small = flavor(region, "g1.small")
    back = list_url(region) + "?sort=position"
    response = operator_client.post(op_url(small, "hide"), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    small.refresh_from_db()
    assert not small.visible
    response = operator_client.post(op_url(small, "default"), follow=True)
    assert b"hidden from tenants: show it first" in response.content  # the action's error, shown as is
    operator_client.post(op_url(small, "show"))
    operator_client.post(op_url(small, "default"))
    small.refresh_from_db()
    assert small.visible and small.is_default
    before = small.position
    operator_client.post(op_url(small, "up"))
    small.refresh_from_db()
    assert small.position == before - 1
    response = operator_client.post(op_url(small, "down"), {"next": "https://evil.example.com/"})
    assert response["Location"] == list_url(region)  # never off-site


def test_bulk_hide_from_the_page(operator_client, region):
    ids = [str(flavor(region, name).pk) for name in ("g1.nano", "g1.micro")]
    url = reverse("operator_catalog_flavors_bulk", kwargs={"region_slug": region.slug})
    response = operator_client.post(url, {"op": "hide", "ids": ids})
    assert response.status_code == 302
    assert set(Flavor.objects.filter(region=region, visible=False).values_list("name", flat=True)) == {
        "g1.nano",
        "g1.micro",
    }


def test_edit_image_labels(operator_client, region):
    rocky = image(region, "Rocky Linux 9")
    page = operator_client.get(edit_url(rocky))
    assert page.status_code == 200 and "Automatic: Red Hat" in page.content.decode()
    response = operator_client.post(
        edit_url(rocky), {"label": "Rocky Linux", "os_label": "Rocky", "version_label": "9 (Blue Onyx)", "logo": ""}
    )
    assert response.status_code == 302
    rocky.refresh_from_db()
    assert (rocky.display_name, rocky.shown_os, rocky.shown_version, rocky.shown_logo) == (
        "Rocky Linux",
        "Rocky",
        "9 (Blue Onyx)",
        "redhat",
    )
    assert operator_client.post(edit_url(rocky), {"logo": "amiga"}).status_code == 400


def test_edit_flavor_label(operator_client, region):
    small = flavor(region, "g1.small")
    operator_client.post(edit_url(small), {"label": "General purpose"})
    small.refresh_from_db()
    assert small.label == "General purpose"
    assert "General purpose" in operator_client.get(list_url(region)).content.decode()


def _more_flavors(region: Region, count: int) -> None:
    Flavor.objects.bulk_create(
        Flavor(
            region=region, provider_id=f"extra-{n}", name=f"x{n}.large", vcpus=2, ram_mb=4096, disk_gb=40, position=n
        )
        for n in range(count)
    )


def _more_images(region: Region, count: int) -> None:
    Image.objects.bulk_create(
        Image(region=region, provider_id=f"extra-{n}", name=f"Image {n}", status="active", os_distro="ubuntu")
        for n in range(count)
    )


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm: the session's first-request writes are not the page's cost
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("kind", ["flavors", "images"])
def test_operator_tables_cost_the_same_queries_for_few_or_many_rows(operator_client, kind):
    few, many = sandbox_region("few"), sandbox_region("many")
    (_more_flavors if kind == "flavors" else _more_images)(many, 30)
    assert _queries(operator_client, list_url(few, kind)) == _queries(
        operator_client, list_url(many, kind) + "?per_page=50"
    )


# Tenants' pages ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
def test_members_see_only_what_is_offered_in_operators_order(role, tenant_a, region):
    Flavor.objects.filter(region=region, name="g1.nano").update(visible=False)
    Flavor.objects.filter(region=region, name="g1.micro").update(deleted_at="2026-01-01T00:00:00Z")
    Flavor.objects.filter(region=region, name="m1.xlarge").update(position=0, is_default=True)
    Image.objects.filter(region=region, name="Debian 12").update(visible=False)
    Image.objects.filter(region=region, name="Rocky Linux 9").update(status="queued")
    client = tenant_a.client(role)

    flavors = client.get(tenant_url(tenant_a, "flavors"))
    assert flavors.status_code == 200
    names = [item.name for item in rows(flavors)]
    assert names[0] == "m1.xlarge" and "g1.nano" not in names and "g1.micro" not in names
    assert 'data-testid="default"' in flavors.content.decode()

    images = client.get(tenant_url(tenant_a, "images"))
    assert {item.name for item in rows(images)} == {"Ubuntu 24.04 LTS", "Ubuntu 22.04 LTS", "Windows Server 2022"}
    assert b"brand-windows" in images.content


def test_tenant_region_switcher_lists_open_regions_only(tenant_a, region):
    closed = sandbox_region("closed-one")
    Region.objects.filter(pk=closed.pk).update(enabled=False)
    other = sandbox_region("another-one")
    Flavor.objects.filter(region=other, name="g1.nano").update(visible=False)
    client = tenant_a.client("viewer")
    response = client.get(tenant_url(tenant_a, "flavors", region=other.slug))
    assert response.context["region"] == other
    assert [r.slug for r, _url in response.context["region_links"]] == ["another-one", "catalog-test"]
    assert "g1.nano" not in {item.name for item in rows(response)}
    closed_page = client.get(tenant_url(tenant_a, "flavors", region=closed.slug))
    assert closed_page.context["region"] != closed  # a closed region is not offered: the first open one is shown


def test_tenant_pages_with_no_open_region_show_an_empty_state(tenant_a):
    response = tenant_a.client().get(tenant_url(tenant_a, "images"))
    assert response.status_code == 200 and b"No regions open yet" in response.content


def test_tenant_page_of_an_empty_region_shows_an_empty_state(tenant_a):
    Region.objects.create(slug="bare", name="Bare", provider="sandbox")
    response = tenant_a.client().get(tenant_url(tenant_a, "images"))
    assert b"No images in this region yet" in response.content


def test_another_tenants_catalog_pages_are_404(tenant_a, tenant_b, region):
    client = tenant_a.client("owner")
    for name in ("images", "flavors"):
        assert client.get(tenant_url(tenant_b, name)).status_code == 404
        assert client.get(tenant_url(tenant_a, name)).status_code == 200


@pytest.mark.parametrize("name", ["flavors", "images"])
def test_tenant_pages_cost_the_same_queries_for_few_or_many_rows(tenant_a, name):
    few = sandbox_region("few")
    many = sandbox_region("many")
    (_more_flavors if name == "flavors" else _more_images)(many, 30)
    client = tenant_a.client("member")
    assert _queries(client, tenant_url(tenant_a, name, region=few.slug)) == _queries(
        client, tenant_url(tenant_a, name, region=many.slug, per_page="50")
    )


def test_region_page_links_its_catalog(operator_client, region):
    response = operator_client.get(reverse("operator_region", kwargs={"region_slug": region.slug}))
    assert list_url(region) in response.content.decode()
