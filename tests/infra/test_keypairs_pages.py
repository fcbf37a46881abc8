"""The key pairs pages: the list (own / everyone's, read-only for viewers, search, sort, constant queries), import,
generate (the private key offered once, never cached, a resent form generates nothing), the key pair page, delete;
another tenant's pages and key pairs, and another member's for a member, are 404."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from infra import keys
from infra.actions import keypairs as actions
from infra.models import Keypair
from tenants.audit import Actor


def page(tenant, suffix: str = "") -> str:
    return f"/o/{tenant.slug}/main/keypairs/{suffix}"


def imported(tenant, role: str = "member", name: str = "laptop", comment: str = "me@laptop") -> Keypair:
    return actions.import_keypair(
        actor=Actor(tenant.user(role)),
        project=tenant.project,
        name=name,
        public_key=keys.generate(comment=comment)[0].openssh,
    )


def form_id(response) -> str:
    return re.search(r'name="form_id" value="([^"]+)"', response.content.decode()).group(1)


def test_the_empty_list_says_what_key_pairs_are_and_offers_both_ways(tenant_a):
    response = tenant_a.client("member").get(page(tenant_a))
    html = response.content.decode()
    assert response.status_code == 200
    assert "No key pairs yet" in html
    assert page(tenant_a, "import/") in html and page(tenant_a, "generate/") in html


def test_a_member_lists_their_own_and_an_owner_everyones_with_the_owner_column(tenant_a):
    mine, admins = imported(tenant_a, "member", "mine"), imported(tenant_a, "admin", "admins-key")
    html = tenant_a.client("member").get(page(tenant_a)).content.decode()
    assert "mine" in html and "admins-key" not in html and tenant_a.admin.email not in html
    assert mine.fingerprint in html and "Ed25519" in html and "me@laptop" in html
    html = tenant_a.client("owner").get(page(tenant_a)).content.decode()
    assert "mine" in html and "admins-key" in html and "Owner" in html and tenant_a.admin.email in html
    assert admins.fingerprint in html


def test_viewers_read_the_list_without_buttons_and_cannot_open_the_forms(tenant_a):
    imported(tenant_a, "member", "members")
    client = tenant_a.client("viewer")
    html = client.get(page(tenant_a)).content.decode()
    assert page(tenant_a, "import/") not in html and page(tenant_a, "generate/") not in html
    assert "delete-keypair" not in html
    assert client.get(page(tenant_a, "import/")).status_code == 403
    assert client.get(page(tenant_a, "generate/")).status_code == 403


def test_search_sort_and_a_constant_number_of_queries(tenant_a):
    for i in range(3):
        imported(tenant_a, "admin", f"key-{i}", comment=f"host{i}")
    client = tenant_a.client("owner")
    html = client.get(page(tenant_a) + "?q=host1").content.decode()
    assert "key-1" in html and "key-0" not in html
    html = client.get(page(tenant_a) + "?sort=-name").content.decode()
    assert html.index("key-2") < html.index("key-0")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(tenant_a)).status_code == 200
        return len(captured)

    few = queries()
    for i in range(3, 12):
        imported(tenant_a, "member", f"key-{i}")
    assert queries() == few


def test_import_keeps_the_key_and_opens_its_page(tenant_a):
    client = tenant_a.client("member")
    key = keys.generate(comment="alice@desk")[0]
    response = client.post(page(tenant_a, "import/"), {"public_key": key.openssh + "\n", "name": ""})
    keypair = Keypair.objects.get()
    assert response.status_code == 302 and response["Location"] == page(tenant_a, f"{keypair.pk}/")
    assert (keypair.name, keypair.fingerprint) == ("alice-desk", key.fingerprint)
    html = client.get(response["Location"]).content.decode()
    assert key.openssh in html and keypair.cloud_name in html and "imported" in html


def test_import_shows_why_a_key_is_refused(tenant_a):
    _public, private_key = keys.generate()
    response = tenant_a.client("member").post(page(tenant_a, "import/"), {"public_key": private_key, "name": "x"})
    assert response.status_code == 400
    assert "This is a private key" in response.content.decode()
    assert not Keypair.objects.exists()


def test_generate_offers_the_private_key_once_as_a_download_on_an_uncached_page(tenant_a):
    client = tenant_a.client("member")
    sent = {"name": "deploy", "key_type": keys.ED25519, "form_id": form_id(client.get(page(tenant_a, "generate/")))}
    response = client.post(page(tenant_a, "generate/"), sent)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in html
    assert 'download="id_deploy"' in html and 'href="data:application/octet-stream;base64,' in html
    assert "cannot be shown again" in html
    keypair = Keypair.objects.get()
    assert keypair.generated and keypair.name == "deploy"

    again = client.post(page(tenant_a, "generate/"), sent)  # a reload of that page
    assert again.status_code == 400 and "already sent" in again.content.decode()
    assert "PRIVATE KEY-----" not in again.content.decode()
    assert Keypair.objects.count() == 1
    html = client.get(page(tenant_a, f"{keypair.pk}/")).content.decode()
    assert "PRIVATE KEY" not in html and keypair.public_key in html


def test_generate_shows_a_refusal_in_the_form(tenant_a):
    imported(tenant_a, "member", "taken")
    client = tenant_a.client("member")
    response = client.post(
        page(tenant_a, "generate/"),
        {"name": "taken", "key_type": keys.ED25519, "form_id": form_id(client.get(page(tenant_a, "generate/")))},
    )
    assert response.status_code == 400 and "already have a key pair named" in response.content.decode()


def test_a_member_deletes_their_own_after_confirmation_and_an_admin_anyones(tenant_a):
    mine, other = imported(tenant_a, "member", "mine"), imported(tenant_a, "member", "other")
    client = tenant_a.client("member")
    html = client.get(page(tenant_a, f"{mine.pk}/")).content.decode()
    assert "data-confirm=" in html and page(tenant_a, f"{mine.pk}/delete/") in html
    response = client.post(page(tenant_a, f"{mine.pk}/delete/"))
    assert response.status_code == 302 and response["Location"] == page(tenant_a)
    assert tenant_a.client("admin").post(page(tenant_a, f"{other.pk}/delete/")).status_code == 302
    assert not Keypair.objects.live().exists()
    assert client.get(page(tenant_a, f"{mine.pk}/")).status_code == 404


def test_another_members_key_pair_is_404_for_a_member_and_readable_for_an_admin(tenant_a):
    admins = imported(tenant_a, "admin", "admins")
    member = tenant_a.client("member")
    assert member.get(page(tenant_a, f"{admins.pk}/")).status_code == 404
    assert member.post(page(tenant_a, f"{admins.pk}/delete/")).status_code == 404
    html = tenant_a.client("owner").get(page(tenant_a, f"{admins.pk}/")).content.decode()
    assert admins.public_key in html and "delete-keypair" in html
    html = tenant_a.client("viewer").get(page(tenant_a)).content.decode()
    assert "admins" not in html
    assert Keypair.objects.live().count() == 1


@pytest.mark.parametrize("role", ["owner", "member", "viewer"])
def test_another_tenants_pages_and_key_pairs_are_404_on_every_url(tenant_a, tenant_b, role):
    theirs = imported(tenant_b, "member", "theirs")
    client = tenant_a.client(role)
    for method, path in (
        ("get", page(tenant_b)),
        ("get", page(tenant_b, "import/")),
        ("post", page(tenant_b, "import/")),
        ("get", page(tenant_b, "generate/")),
        ("post", page(tenant_b, "generate/")),
        ("get", page(tenant_b, f"{theirs.pk}/")),
        ("post", page(tenant_b, f"{theirs.pk}/delete/")),
        ("get", page(tenant_a, f"{theirs.pk}/")),  # their key pair through our project
        ("post", page(tenant_a, f"{theirs.pk}/delete/")),
        ("get", page(tenant_a, f"{uuid.uuid4()}/")),
    ):
        assert getattr(client, method)(path).status_code == 404, (method, path)
    assert Keypair.objects.live().count() == 1


def test_operators_visit_the_list_read_only(tenant_a, operator_client):
    imported(tenant_a, "member", "members")
    html = operator_client.get(page(tenant_a)).content.decode()
    assert "members" in html and page(tenant_a, "generate/") not in html and "delete-keypair" not in html
