"""A member's journey through key pairs: the empty list, importing the public key they already use, generating a key
pair (the private key downloaded once; the page after it shows only the public key), deleting one after the
confirmation; an owner's list with every member's key pairs; the same pages in Korean."""

from __future__ import annotations

from django.conf import settings
from playwright.sync_api import Page, expect

from infra import keys
from infra.actions import keypairs as actions
from infra.models import Keypair
from tenants.audit import Actor


def test_a_member_imports_generates_downloads_once_and_deletes_key_pairs(
    page: Page, transactional_db, login, screenshot, base_url, tenant_a, tenant_b, tmp_path
):
    actions.import_keypair(
        actor=Actor(tenant_a.admin),
        project=tenant_a.project,
        name="ops-bastion",
        public_key=keys.generate(keys.RSA, comment="ops@bastion")[0].openssh,
    )
    actions.import_keypair(  # another tenant's key pair with the same name as ours: never shown
        actor=Actor(tenant_b.member), project=tenant_b.project, name="laptop", public_key=keys.generate()[0].openssh
    )
    login(tenant_a.member)
    list_url = f"/o/{tenant_a.slug}/main/keypairs/"
    page.goto(list_url)
    expect(page.get_by_text("No key pairs yet")).to_be_visible()
    screenshot("keypairs-empty-en")

    # Import the public key they already use: the name comes from its comment.
    page.get_by_role("link", name="Import public key").first.click()
    public = keys.generate(comment="minji@laptop")[0]
    page.get_by_label("Public key").fill(public.openssh)
    screenshot("keypair-import-en")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="minji-laptop")).to_be_visible()
    expect(page.get_by_text(public.fingerprint)).to_be_visible()
    screenshot("keypair-detail-en")

    # Generate one: the private key is offered once, as a download.
    page.goto(list_url)
    page.get_by_role("link", name="Generate key pair").click()
    page.get_by_label("Name").fill("deploy")
    screenshot("keypair-generate-en")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("it cannot be shown again")).to_be_visible()
    screenshot("keypair-generated-en")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-private-key").click()
    download = download_info.value
    assert download.suggested_filename == "id_deploy"
    saved = tmp_path / "id_deploy"
    download.save_as(saved)
    private_key = saved.read_text()
    assert private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    generated = Keypair.objects.get(name="deploy")
    assert keys.private_key_body(private_key) not in generated.public_key

    page.get_by_role("link", name="I saved it: show the key pair").click()
    expect(page.get_by_role("heading", name="deploy")).to_be_visible()
    assert "PRIVATE KEY" not in page.content()

    # The list: their own two (the admin's is not theirs to see), then delete one after confirming.
    page.goto(list_url)
    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("ops-bastion")).to_have_count(0)
    screenshot("keypairs-list-en")
    rows.filter(has_text="minji-laptop").get_by_test_id("delete-keypair").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    screenshot("keypair-delete-confirm-en")
    page.locator("#confirm-dialog-accept").click()
    expect(page.get_by_text("Key pair “minji-laptop” deleted.")).to_be_visible()
    expect(page.locator("#table tbody tr")).to_have_count(1)
    assert not Keypair.objects.live().filter(name="minji-laptop").exists()

    # An owner sees every member's key pairs, with the owner column.
    page.context.clear_cookies()
    login(tenant_a.owner)
    page.goto(list_url)
    expect(page.locator("#table tbody tr")).to_have_count(2)
    expect(page.get_by_text("ops-bastion")).to_be_visible()
    screenshot("keypairs-list-owner-en")

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "ko", "url": base_url}])
    page.goto(list_url)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    screenshot("keypairs-list-ko")
    page.goto(f"{list_url}{generated.pk}/")
    screenshot("keypair-detail-ko")
    page.goto(f"{list_url}generate/")
    screenshot("keypair-generate-ko")
    page.goto(f"{list_url}import/")
    screenshot("keypair-import-ko")
