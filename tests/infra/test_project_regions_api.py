"""The project regions API: the list (each open region with the project's state, network range and error) and
activate (202 with the state; Idempotency-Key replays; admins and owners only; suspended 409; region down 400;
already active 409; trying again after an error); another tenant's project is a 404 for every method."""

from __future__ import annotations

import pytest
from django.utils import timezone

from infra.models import CloudProject
from infra.providers.base import Health
from tenants.audit import Actor
from tenants.models import IdempotencyRecord
from tests.conftest import make_api_token
from tests.infra.engine import activate, drive_project, sandbox_region


@pytest.fixture
def sandbox(db: None):
    return sandbox_region("sandbox-seoul")


def list_url(project) -> str:
    return f"/api/v1/projects/{project.pk}/regions/"


def activate_url(project, region) -> str:
    return f"/api/v1/projects/{project.pk}/regions/{region.slug}/activate/"


def as_user(api_client, tenant, role: str = "admin", ceiling: str | None = None):
    _token, secret = make_api_token(tenant.user(role), tenant.organization, role=ceiling or role)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api_client


def entry(body: dict, region) -> dict:
    return next(item for item in body["results"] if item["region"] == region.slug)


def test_the_list_shows_each_open_region_with_the_projects_state(api_client, sandbox, tenant_a):
    busan = sandbox_region("sandbox-busan")
    closed = sandbox_region("sandbox-closed")
    closed.enabled = False
    closed.save(update_fields=["enabled"])
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    response = as_user(api_client, tenant_a, "viewer").get(list_url(tenant_a.project))
    assert response.status_code == 200
    body = response.json()
    assert [item["region"] for item in body["results"]] == ["sandbox-busan", "sandbox-seoul"]
    seoul = entry(body, sandbox)
    assert seoul["status"] == "active" and seoul["usable"] is True and seoul["cidr"] == cloud_project.cidr
    assert seoul["provider"] == "Sandbox" and seoul["available"] is True and seoul["error"] is None
    assert entry(body, busan) == {
        "region": "sandbox-busan",
        "name": "Sandbox Busan",
        "provider": "Sandbox",
        "health": busan.health,
        "health_message": "",
        "available": True,
        "status": "not_set_up",
        "usable": False,
        "cidr": None,
        "error": None,
    }


def test_a_region_down_says_why_in_the_list(api_client, sandbox, tenant_a):
    sandbox.health, sandbox.health_message = Health.DOWN, "The compute API does not answer."
    sandbox.save(update_fields=["health", "health_message"])
    seoul = entry(as_user(api_client, tenant_a, "member").get(list_url(tenant_a.project)).json(), sandbox)
    assert seoul["available"] is False and seoul["health"] == "down"
    assert seoul["health_message"] == "The compute API does not answer."


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_admin_activates_and_gets_202_with_the_state(api_client, sandbox, tenant_a, role):
    response = as_user(api_client, tenant_a, role).post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["region"] == "sandbox-seoul" and body["status"] == "pending" and body["usable"] is False
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=sandbox)
    drive_project(cloud_project)
    after = entry(api_client.get(list_url(tenant_a.project)).json(), sandbox)
    assert after["status"] == "active" and after["cidr"] == cloud_project.cidr


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_403_and_nothing_changes(api_client, sandbox, tenant_a, role):
    response = as_user(api_client, tenant_a, role).post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not CloudProject.objects.exists()


def test_a_token_limited_below_admin_gets_403(api_client, sandbox, tenant_a):
    response = as_user(api_client, tenant_a, "owner", ceiling="member").post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 403
    assert not CloudProject.objects.exists()


def test_another_tenants_project_is_a_404_for_every_method(api_client, sandbox, tenant_a, tenant_b):
    client = as_user(api_client, tenant_b, "owner")
    assert client.get(list_url(tenant_a.project)).status_code == 404
    response = client.post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not CloudProject.objects.exists()


def test_a_session_of_another_tenant_is_a_404_too(api_client, sandbox, tenant_a, tenant_b):
    api_client.force_login(tenant_b.owner)
    assert api_client.get(list_url(tenant_a.project)).status_code == 404


def test_a_region_not_open_or_unknown_is_a_404(api_client, sandbox, tenant_a):
    sandbox.enabled = False
    sandbox.save(update_fields=["enabled"])
    client = as_user(api_client, tenant_a)
    assert client.post(activate_url(tenant_a.project, sandbox)).status_code == 404
    assert client.post(f"/api/v1/projects/{tenant_a.project.pk}/regions/nowhere/activate/").status_code == 404
    assert not CloudProject.objects.exists()


def test_a_suspended_organisation_gets_409_with_the_reason(api_client, sandbox, tenant_a):
    tenant_a.organization.suspended_at = timezone.now()
    tenant_a.organization.save(update_fields=["suspended_at"])
    response = as_user(api_client, tenant_a, "owner").post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 409
    assert response.json()["code"] == "organization_suspended" and "is suspended" in response.json()["message"]
    assert not CloudProject.objects.exists()
    assert api_client.get(list_url(tenant_a.project)).status_code == 200  # reading is allowed


def test_a_region_down_is_refused_with_the_message(api_client, sandbox, tenant_a):
    sandbox.health, sandbox.health_message = Health.DOWN, "The compute API does not answer."
    sandbox.save(update_fields=["health", "health_message"])
    response = as_user(api_client, tenant_a).post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 400 and response.json()["code"] == "refused"
    assert "The compute API does not answer." in response.json()["message"]
    assert not CloudProject.objects.exists()


def test_already_active_is_a_409_and_changes_nothing(api_client, sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    response = as_user(api_client, tenant_a).post(activate_url(tenant_a.project, sandbox))
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert "already active" in response.json()["message"]
    cloud_project.refresh_from_db()
    assert cloud_project.status == CloudProject.Status.ACTIVE


def test_after_an_error_the_list_shows_it_and_activate_tries_again(api_client, sandbox, tenant_a):
    from tests.infra.engine import set_region_settings

    set_region_settings(sandbox, faults=[{"op": "ensure_project", "error": "invalid", "message": "No networks left."}])
    client = as_user(api_client, tenant_a)
    assert client.post(activate_url(tenant_a.project, sandbox)).status_code == 202
    cloud_project = drive_project(CloudProject.objects.get(project=tenant_a.project))
    failed = entry(client.get(list_url(tenant_a.project)).json(), sandbox)
    assert failed["status"] == "error" and "No networks left." in failed["error"] and failed["cidr"] is None
    retry = client.post(activate_url(tenant_a.project, sandbox))
    assert retry.status_code == 202 and retry.json()["status"] == "pending" and retry.json()["error"] is None
    assert drive_project(cloud_project).status == CloudProject.Status.ACTIVE
    assert CloudProject.objects.filter(project=tenant_a.project).count() == 1


def test_idempotency_key_replays_the_first_answer(api_client, sandbox, tenant_a):
    client = as_user(api_client, tenant_a)
    first = client.post(activate_url(tenant_a.project, sandbox), HTTP_IDEMPOTENCY_KEY="activate-seoul-1")
    again = client.post(activate_url(tenant_a.project, sandbox), HTTP_IDEMPOTENCY_KEY="activate-seoul-1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert CloudProject.objects.filter(project=tenant_a.project).count() == 1
    assert IdempotencyRecord.objects.filter(key="activate-seoul-1").count() == 1
    without_key = client.post(activate_url(tenant_a.project, sandbox))
    assert without_key.status_code == 409  # a new request, not a replay: already being set up


def test_the_endpoints_are_in_the_openapi_schema(api_client, tenant_a):
    api_client.force_login(tenant_a.owner)
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/projects/{project_id}/regions/" in schema["paths"]
    operation = schema["paths"]["/api/v1/projects/{project_id}/regions/{region_slug}/activate/"]["post"]
    assert "202" in operation["responses"] and operation["tags"] == ["regions"]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in operation["parameters"])
