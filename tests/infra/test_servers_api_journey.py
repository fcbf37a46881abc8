"""A studio's instance journey through the API alone, on each provider (the sandbox and the local OpenStack): set the
project up in the region, launch, watch it run, stop, change its type and confirm, delete."""

from __future__ import annotations

from infra.models import CloudProject, Server
from infra.providers.base import Status
from tests.infra.engine import drive, drive_project, small_flavors, small_image
from tests.infra.test_servers_api import url
from tests.tenants.api.conftest import token_client


def test_a_studio_runs_an_instance_from_the_api_alone(region, tenant_a):
    admin, member = token_client(tenant_a, "admin"), token_client(tenant_a, "member")
    regions = f"/api/v1/projects/{tenant_a.project.pk}/regions/"

    # Set the project up in the region, and follow it until it is active.
    assert member.post(f"{regions}{region.slug}/activate/").status_code == 403  # admins do this
    response = admin.post(f"{regions}{region.slug}/activate/")
    assert response.status_code == 202, response.json()
    drive_project(CloudProject.objects.get(project=tenant_a.project, region=region))
    listed = admin.get(regions).json()
    state = next(r for r in listed.get("results", listed) if r["region"] == region.slug)
    assert (state["status"], state["usable"]) == ("active", True)

    # Launch one, and see it run.
    small, bigger = small_flavors(region)
    body = {
        "name": "api-1",
        "region": region.slug,
        "flavor": str(small.pk),
        "image": str(small_image(region, small).pk),
    }
    response = member.post(url(tenant_a.project), body, format="json", HTTP_IDEMPOTENCY_KEY="journey-launch")
    assert response.status_code == 202, response.json()
    server_id = response.json()["servers"][0]["id"]
    drive(Server.objects.get(pk=server_id))
    shown = member.get(url(tenant_a.project, Server.objects.get(pk=server_id))).json()
    assert shown["status"] == "ACTIVE" and shown["addresses"]

    def act(action: str, **extra: object) -> Server:
        server = Server.objects.get(pk=server_id)
        answer = member.post(url(tenant_a.project, server, actions_of=True), {"action": action, **extra}, format="json")
        assert answer.status_code == 202, answer.json()
        return drive(server)

    assert act("stop").status == Status.STOPPED
    assert act("resize", flavor=str(bigger.pk)).status == Status.VERIFY_RESIZE
    resized = act("confirm_resize")
    assert (resized.status, resized.flavor_id) == (Status.STOPPED, bigger.pk)

    response = member.delete(url(tenant_a.project, resized))
    assert response.status_code == 202, response.json()
    assert drive(Server.objects.get(pk=server_id)).status == Status.DELETED
    assert member.get(url(tenant_a.project)).json()["results"] == []
