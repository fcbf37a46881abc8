"""The key pairs API: list (cursor pages, the same visibility as the console), import, generate (the private key in
that answer only; no Idempotency-Key), read and delete; another tenant's project or key pair is a 404 everywhere."""

from __future__ import annotations

import uuid

import pytest

from infra import keys
from infra.actions import keypairs as actions
from infra.models import Keypair
from tenants.audit import Actor
from tenants.models import IdempotencyRecord
from tests.conftest import make_api_token


def url(project, keypair=None) -> str:
    base = f"/api/v1/projects/{project.pk}/keypairs/"
    return f"{base}{keypair.pk}/" if keypair is not None else base


def as_user(api_client, tenant, role: str = "member", **token):
    _token, secret = make_api_token(tenant.user(role), tenant.organization, role=token.get("ceiling", role))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client


def imported(tenant, role: str = "member", name: str = "laptop") -> Keypair:
    return actions.import_keypair(
        actor=Actor(tenant.user(role)), project=tenant.project, name=name, public_key=keys.generate()[0].openssh
    )


def test_import_answers_201_with_the_key_pair_and_no_private_key(api_client, tenant_a):
    key = keys.generate(comment="me@laptop")[0]
    response = as_user(api_client, tenant_a).post(url(tenant_a.project), {"public_key": key.openssh}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "me-laptop"  # from the comment
    assert (body["key_type"], body["bits"], body["fingerprint"]) == ("ssh-ed25519", 256, key.fingerprint)
    assert body["private_key"] is None and body["generated"] is False
    assert body["cloud_name"] == f"hn-{body['id']}"
    assert body["owner"]["email"] == tenant_a.member.email
    assert response["Location"] == url(tenant_a.project, Keypair.objects.get(pk=body["id"]))


def test_an_invalid_key_answers_400_with_the_reason(api_client, tenant_a):
    _public, private_key = keys.generate()
    response = as_user(api_client, tenant_a).post(
        url(tenant_a.project), {"name": "oops", "public_key": private_key}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "refused" and ".pub" in response.json()["message"]
    response = api_client.post(url(tenant_a.project), {"name": "nothing"}, format="json")
    assert response.status_code == 400 and "public_key" in response.json()["fields"]


def test_import_honours_idempotency_key(api_client, tenant_a):
    client = as_user(api_client, tenant_a)
    body = {"name": "once", "public_key": keys.generate()[0].openssh}
    first = client.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Keypair.objects.filter(name="once").count() == 1


def test_generate_answers_the_private_key_once_uncached_and_refuses_idempotency_keys(api_client, tenant_a):
    client = as_user(api_client, tenant_a)
    body = {"name": "ci", "generate": True, "key_type": "ssh-rsa"}
    refused = client.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="g-1")
    assert refused.status_code == 422 and refused.json()["code"] == "idempotency_not_supported"
    assert not Keypair.objects.exists() and not IdempotencyRecord.objects.exists()

    response = client.post(url(tenant_a.project), body, format="json")
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    assert created["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (created["key_type"], created["bits"], created["generated"]) == ("ssh-rsa", 4096, True)
    read = client.get(url(tenant_a.project, Keypair.objects.get(pk=created["id"]))).json()
    assert "private_key" not in read and read["public_key"] == created["public_key"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"generate": True}, "name"),
        ({"name": "x", "generate": True, "key_type": "ecdsa-sha2-nistp256"}, "key_type"),
    ],
)
def test_generate_needs_a_name_and_a_type_it_makes(api_client, tenant_a, body, field):
    response = as_user(api_client, tenant_a).post(url(tenant_a.project), body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_a_viewer_token_cannot_create(api_client, tenant_a):
    response = as_user(api_client, tenant_a, "viewer").post(
        url(tenant_a.project), {"name": "v", "generate": True}, format="json"
    )
    assert response.status_code == 403


def test_members_list_their_own_and_admins_everyones(api_client, tenant_a):
    mine, admins = imported(tenant_a, "member", "mine"), imported(tenant_a, "admin", "admins")
    listed = as_user(api_client, tenant_a, "member").get(url(tenant_a.project)).json()
    assert [k["id"] for k in listed["results"]] == [str(mine.pk)]
    assert "next" in listed  # cursor pagination
    listed = as_user(api_client, tenant_a, "owner").get(url(tenant_a.project)).json()
    assert {k["id"] for k in listed["results"]} == {str(mine.pk), str(admins.pk)}
    # an admin's token limited to member sees as a member does
    listed = as_user(api_client, tenant_a, "admin", ceiling="member").get(url(tenant_a.project)).json()
    assert [k["id"] for k in listed["results"]] == [str(admins.pk)]


def test_delete_own_and_admins_delete_anyones(api_client, tenant_a):
    mine, other = imported(tenant_a, "member", "mine"), imported(tenant_a, "member", "other")
    client = as_user(api_client, tenant_a, "member")
    assert client.delete(url(tenant_a.project, mine)).status_code == 204
    assert client.get(url(tenant_a.project, mine)).status_code == 404
    admins = imported(tenant_a, "admin", "admins")
    assert client.delete(url(tenant_a.project, admins)).status_code == 404  # invisible to a member
    assert as_user(api_client, tenant_a, "admin").delete(url(tenant_a.project, other)).status_code == 204
    assert set(Keypair.objects.live().values_list("name", flat=True)) == {"admins"}


def test_another_tenants_key_pairs_and_project_are_404_on_every_endpoint(api_client, tenant_a, tenant_b):
    theirs = imported(tenant_b, "member", "theirs")
    client = as_user(api_client, tenant_a, "owner")
    for method, path, body in (
        ("get", url(tenant_b.project), None),
        ("post", url(tenant_b.project), {"name": "x", "generate": True}),
        ("post", url(tenant_b.project), {"name": "x", "public_key": keys.generate()[0].openssh}),
        ("get", url(tenant_b.project, theirs), None),
        ("delete", url(tenant_b.project, theirs), None),
        ("get", url(tenant_a.project, theirs), None),  # their key pair through our project
        ("delete", url(tenant_a.project, theirs), None),
        ("get", f"/api/v1/projects/{uuid.uuid4()}/keypairs/", None),
    ):
        response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
        assert response.status_code == 404, (method, path, response.content)
    assert Keypair.objects.live().count() == 1 and not Keypair.objects.filter(project=tenant_a.project).exists()
