"""Idempotency-Key on creates: a replay answers the first response and creates nothing more; a changed body is a
422; keys are scoped per token or user, method and path; kept 24 hours, then purged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from console.tasks import purge_idempotency_records
from tenants.api.idempotency import body_hash
from tenants.models import IdempotencyRecord, Project
from tests.tenants.api.conftest import session_client, token_client

pytestmark = pytest.mark.django_db


def projects_url(tenant) -> str:
    return f"/api/v1/organizations/{tenant.organization.pk}/projects/"


def create(client, tenant, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(projects_url(tenant), body, format="json", **headers)


def test_a_repeat_with_the_same_key_replays_the_first_response_and_creates_one_project(tenant_a):
    client = token_client(tenant_a, "admin")
    first = create(client, tenant_a, {"name": "Beta", "description": "test"})
    second = create(client, tenant_a, {"description": "test", "name": "Beta"})  # same body, other key order
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Project.objects.filter(organization=tenant_a.organization, name="Beta").count() == 1


def test_the_same_key_with_a_different_body_answers_422(tenant_a):
    client = token_client(tenant_a, "admin")
    create(client, tenant_a, {"name": "Beta"})
    response = create(client, tenant_a, {"name": "Gamma"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Project.objects.filter(name="Gamma").exists()


def test_without_a_key_each_request_creates(tenant_a):
    client = token_client(tenant_a, "admin")
    assert create(client, tenant_a, {"name": "Beta"}, key=None).status_code == 201
    assert create(client, tenant_a, {"name": "Beta"}, key=None).status_code == 201
    assert Project.objects.filter(name="Beta").count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_keys_are_scoped_per_token_and_per_user(tenant_a):
    create(token_client(tenant_a, "admin"), tenant_a, {"name": "Beta"})
    other_token = create(token_client(tenant_a, "admin"), tenant_a, {"name": "Beta"})
    assert other_token.status_code == 201 and "Idempotent-Replayed" not in other_token
    session = create(session_client(tenant_a, "admin"), tenant_a, {"name": "Beta"})
    assert session.status_code == 201 and "Idempotent-Replayed" not in session
    assert Project.objects.filter(name="Beta").count() == 3
    replay = create(session_client(tenant_a, "admin"), tenant_a, {"name": "Beta"})
    assert replay["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_per_path(tenant_a):
    client = session_client(tenant_a, "owner")
    create(client, tenant_a, {"name": "Beta"})
    response = client.post("/api/v1/organizations/", {"name": "Beta"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response


def test_a_request_still_in_progress_answers_409(tenant_a):
    client = token_client(tenant_a, "admin")
    token = tenant_a.admin.api_tokens.get()
    IdempotencyRecord.objects.create(  # claimed by a first request that has not finished
        scope=f"token:{token.pk}",
        method="POST",
        path=projects_url(tenant_a),
        key="key-1",
        request_hash=body_hash({"name": "Beta"}),
    )
    response = create(client, tenant_a, {"name": "Beta"})
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_in_progress")
    assert not Project.objects.filter(name="Beta").exists()


def test_a_request_abandoned_in_progress_is_taken_over_after_the_lock(tenant_a, settings):
    client = token_client(tenant_a, "admin")
    token = tenant_a.admin.api_tokens.get()
    IdempotencyRecord.objects.create(
        scope=f"token:{token.pk}",
        method="POST",
        path=projects_url(tenant_a),
        key="key-1",
        request_hash=body_hash({"name": "Beta"}),
        created_at=timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_LOCK_SECONDS + 1),
    )
    response = create(client, tenant_a, {"name": "Beta"})
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().status_code == 201


def test_a_refused_create_releases_the_key(tenant_a):
    client = token_client(tenant_a, "admin")
    refused = create(client, tenant_a, {"name": "Main", "slug": "main"})  # the slug is taken
    assert refused.status_code == 409
    assert not IdempotencyRecord.objects.exists()
    response = create(client, tenant_a, {"name": "Main two", "slug": "main-2"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response


def test_records_older_than_a_day_are_ignored_and_purged(tenant_a):
    client = token_client(tenant_a, "admin")
    create(client, tenant_a, {"name": "Beta"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = create(client, tenant_a, {"name": "Beta"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Project.objects.filter(name="Beta").count() == 2
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_idempotency_records() == 1
    assert not IdempotencyRecord.objects.exists()


def test_an_overlong_key_is_refused(tenant_a):
    response = create(token_client(tenant_a, "admin"), tenant_a, {"name": "Beta"}, key="k" * 256)
    assert (response.status_code, response.json()["code"]) == (400, "idempotency_key_invalid")
    assert not Project.objects.filter(name="Beta").exists()


def test_creating_a_token_keeps_no_copy_of_its_secret(tenant_a):
    client = session_client(tenant_a, "owner")
    response = client.post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/tokens/",
        {"name": "deploy"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert response.status_code == 201
    assert not IdempotencyRecord.objects.exists()
