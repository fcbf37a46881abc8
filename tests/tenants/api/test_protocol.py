"""The API's protocol: JSON errors with a code and a message, 401/404/405 shapes, CSRF for sessions, throttling,
pagination with a constant number of queries, and the OpenAPI schema and its docs page."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tenants.models import Membership, Project, Role
from tests.conftest import make_user
from tests.tenants.api.conftest import session_client, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


def test_anonymous_requests_get_a_json_401(tenant_a):
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_invalid_input_is_a_400_naming_the_fields(tenant_a):
    response = token_client(tenant_a).post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/projects/", {"slug": "Not A Slug!"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["message"]
    assert set(body["fields"]) == {"name", "slug"}


def test_an_unknown_address_and_a_wrong_method_answer_json(tenant_a):
    client = token_client(tenant_a)
    response = client.get("/api/v1/servers/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = client.put("/api/v1/me/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_a_session_post_needs_the_csrf_token(tenant_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tenant_a.owner)
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/projects/"
    response = client.post(url, {"name": "Forged"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert not Project.objects.filter(name="Forged").exists()
    client.get(tenant_a.url("-/members/"))  # a console page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"name": "Fine"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_a_token_request_needs_no_csrf_token(tenant_a):
    _client = token_client(tenant_a, "admin")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=_client._credentials["HTTP_AUTHORIZATION"])
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/projects/"
    assert client.post(url, {"name": "Scripted"}, format="json").status_code == 201


def test_requests_are_throttled_per_token_with_retry_after(tenant_a, settings):
    settings.API_THROTTLE_RATE = "3/m"
    first, second = token_client(tenant_a), token_client(tenant_a)
    assert [first.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    response = first.get("/api/v1/me/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert second.get("/api/v1/me/").status_code == 200  # another token has its own count


def test_sessions_are_throttled_per_user(tenant_a, settings):
    settings.API_THROTTLE_RATE = "2/m"
    client = session_client(tenant_a, "viewer")
    assert [client.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 429]
    assert session_client(tenant_a, "member").get("/api/v1/me/").status_code == 200


def test_lists_paginate_by_page(tenant_a):
    for number in range(30):
        Project.objects.create(organization=tenant_a.organization, name=f"P{number:02}", slug=f"p{number:02}")
    client = token_client(tenant_a)
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/projects/"
    first = client.get(url).json()
    assert (first["count"], len(first["results"])) == (31, 25)
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 6 and second["next"] is None
    assert len(client.get(url, {"per_page": 100}).json()["results"]) == 31


def test_the_activity_list_pages_by_cursor(tenant_a):
    client = token_client(tenant_a, "owner")
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/projects/"
    for number in range(5):
        client.post(url, {"name": f"Project {number}"}, format="json")
    activity = f"/api/v1/organizations/{tenant_a.organization.pk}/activity/"
    page = client.get(activity, {"per_page": 2}).json()
    seen = []
    while True:
        seen += [event["id"] for event in page["results"]]
        if not page["next"]:
            break
        assert "cursor=" in page["next"]
        page = client.get(page["next"]).json()
    assert len(seen) == len(set(seen)) == 6  # the token's creation and five projects, newest first
    assert seen == sorted(seen, reverse=True)


def test_the_member_list_costs_the_same_queries_whatever_its_size(tenant_a):
    client = token_client(tenant_a, "viewer")
    client.get("/api/v1/me/")  # the token's last use is written once; not part of what is measured
    url = f"/api/v1/organizations/{tenant_a.organization.pk}/members/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = queries()
    for number in range(20):
        user = make_user(f"extra{number}@studio-a.example.com")
        Membership.objects.create(user=user, organization=tenant_a.organization, role=Role.MEMBER)
    assert queries() == small


def test_the_openapi_schema_is_valid_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "Idempotency-Key" in text
    assert "scheme: bearer" in text
    assert "/api/v1/organizations/{organization_id}/projects/" in text
    assert "#/components/schemas/Error" in text  # the JSON errors are documented


def test_beat_purges_old_idempotency_keys(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "console.tasks.purge_idempotency_records" in entries


def test_the_schema_and_docs_are_served_with_local_assets():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Haneul API"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "<script>" not in page  # the set-up script is a file: the CSP allows no inline script
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "/api/schema/" in script.content.decode()


def test_an_invalid_slug_is_explained_once(tenant_a):
    response = token_client(tenant_a).post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/projects/",
        {"name": "X", "slug": "Not A Slug!"},
        format="json",
    )
    assert response.status_code == 400
    assert len(response.json()["fields"]["slug"]) == 1


def test_a_slug_with_capitals_is_stored_in_lower_case_as_in_the_console(tenant_a):
    response = token_client(tenant_a).post(
        f"/api/v1/organizations/{tenant_a.organization.pk}/projects/", {"name": "X", "slug": "Big-Game"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "big-game"
    assert Project.objects.filter(organization=tenant_a.organization, slug="big-game").exists()


def test_an_address_that_matches_no_route_answers_json_even_to_a_session_post(tenant_a):
    token = token_client(tenant_a)
    response = token.patch("/api/v1/organizations/not-a-uuid/", {"name": "x"}, format="json")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["code"] == "not_found"
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(tenant_a.owner)
    response = session.post("/api/v1/projects/not-a-uuid/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_patching_a_member_without_a_role_changes_nothing(tenant_a):
    member = tenant_a.membership("member")
    response = token_client(tenant_a).patch(
        f"/api/v1/organizations/{tenant_a.organization.pk}/members/{member.pk}/", {}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "member"
    member.refresh_from_db()
    assert member.role == Role.MEMBER
