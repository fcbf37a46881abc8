"""A project's regions page: every region open to tenants with its health and the project's state there (not set
up, queued, setting up, active with its network, error with the reason, missing in the cloud); admins and owners
activate (and try again after an error); members are told an admin can; viewers and visiting operators read only; a
suspended organisation and a region that is down get the button disabled with the reason; refusals change nothing;
another tenant's page and activation are 404s; the live renderer draws the card for the connection's role."""

from __future__ import annotations

import pytest
from django.utils import timezone

from infra import views_regions
from infra.actions import projects as project_actions
from infra.models import CloudProject
from infra.providers.base import Health
from tenants.audit import Actor
from tenants.models import AuditEvent
from tenants.scope import ProjectScope
from tests.infra.engine import activate, drive_project, sandbox_region, set_region_settings


@pytest.fixture
def sandbox(db: None):
    return sandbox_region("sandbox-seoul")


def page(tenant) -> str:
    return tenant.url("main/regions/")


def activate_url(tenant, region) -> str:
    return tenant.url(f"main/regions/{region.slug}/activate/")


def card(html: str, region) -> str:
    """The region's card on the page (up to the next card)."""
    start = html.index(f'id="region-{region.slug}"')
    ends = [at for at in (html.find('<div class="col-md-6', start), html.find("</main>", start)) if at != -1]
    return html[start : min(ends)] if ends else html[start:]


def scope_of(tenant, role: str) -> ProjectScope:
    return ProjectScope(organization=tenant.organization, membership=tenant.membership(role), project=tenant.project)


def operator_scope(tenant) -> ProjectScope:
    return ProjectScope(organization=tenant.organization, membership=None, operator_visit=True, project=tenant.project)


def suspend(tenant) -> None:
    tenant.organization.suspended_at = timezone.now()
    tenant.organization.save(update_fields=["suspended_at"])


def mark_down(region, message: str = "The compute API does not answer.") -> None:
    region.health, region.health_message = Health.DOWN, message
    region.save(update_fields=["health", "health_message"])


def failed(
    tenant, region, message: str = "Could not set up the project in Sandbox Seoul: out of networks"
) -> CloudProject:
    cloud_project = project_actions.activate_region(actor=Actor(tenant.admin), project=tenant.project, region=region)
    CloudProject.objects.filter(pk=cloud_project.pk).update(status=CloudProject.Status.ERROR, error_message=message)
    cloud_project.refresh_from_db()
    return cloud_project


# --- what the page shows ---------------------------------------------------------------------------------------------


def test_every_open_region_shows_with_its_provider_and_health_and_closed_ones_do_not(sandbox, tenant_a):
    sandbox_region("sandbox-busan")
    closed = sandbox_region("sandbox-closed")
    closed.enabled = False
    closed.save(update_fields=["enabled"])
    response = tenant_a.client("viewer").get(page(tenant_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="region-sandbox-seoul"' in html and 'id="region-sandbox-busan"' in html
    assert "sandbox-closed" not in html
    assert "Sandbox" in card(html, sandbox) and "Not set up" in card(html, sandbox)
    assert 'ws-connect="/ws/live/project/' in html and "data-live" in html and "data-live-status" in html


def test_no_open_region_shows_an_empty_state(tenant_a):
    html = tenant_a.client("admin").get(page(tenant_a)).content.decode()
    assert "No regions are open yet" in html


def test_an_active_region_shows_its_network_and_leads_members_to_the_launch_wizard(sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    html = card(tenant_a.client("member").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="active"' in html and "Active" in html
    assert cloud_project.cidr and cloud_project.cidr in html
    assert 'href="/o/studio-a/main/servers/launch/"' in html and "Launch instances" in html
    assert "<form" not in html  # nothing to activate
    viewer_html = card(tenant_a.client("viewer").get(page(tenant_a)).content.decode(), sandbox)
    assert cloud_project.cidr in viewer_html and "Launch instances" not in viewer_html


def test_queued_and_setting_up_show_progress_without_buttons(sandbox, tenant_a):
    cloud_project = project_actions.activate_region(
        actor=Actor(tenant_a.admin), project=tenant_a.project, region=sandbox
    )
    html = card(tenant_a.client("admin").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="pending"' in html and "Queued" in html and 'aria-busy="true"' in html
    assert "<form" not in html and "Launch instances" not in html
    CloudProject.objects.filter(pk=cloud_project.pk).update(status=CloudProject.Status.CREATING)
    html = card(tenant_a.client("admin").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="creating"' in html and "Setting up" in html and "spinner-border" in html


def test_an_error_shows_the_message_and_admins_may_try_again(sandbox, tenant_a):
    failed(tenant_a, sandbox)
    html = card(tenant_a.client("admin").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="error"' in html and "out of networks" in html
    assert f'action="{activate_url(tenant_a, sandbox)}"' in html and "Try again" in html
    member_html = card(tenant_a.client("member").get(page(tenant_a)).content.decode(), sandbox)
    assert "out of networks" in member_html and "<form" not in member_html
    assert "An admin or owner of the organization can activate this region." in member_html


def test_a_cloud_project_gone_from_the_cloud_says_so_without_an_activate_button(sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    CloudProject.objects.filter(pk=cloud_project.pk).update(
        status=CloudProject.Status.VANISHED, error_message="The project no longer exists in Sandbox Seoul."
    )
    html = card(tenant_a.client("owner").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="vanished"' in html and "no longer exists" in html
    assert "<form" not in html and "Launch instances" not in html


# --- roles -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_activate_with_what_it_makes(sandbox, tenant_a, role):
    html = card(tenant_a.client(role).get(page(tenant_a)).content.decode(), sandbox)
    assert f'action="{activate_url(tenant_a, sandbox)}"' in html and "csrfmiddlewaretoken" in html
    assert "private network routed to the public network" in html and "Quotas apply" in html


def test_members_see_the_state_and_that_an_admin_can_activate(sandbox, tenant_a):
    html = tenant_a.client("member").get(page(tenant_a)).content.decode()
    assert "<form" not in card(html, sandbox) and "Activate" not in card(html, sandbox)
    assert "An admin or owner of the organization can activate this region." in card(html, sandbox)


def test_viewers_and_visiting_operators_read_only(sandbox, tenant_a, operator_client):
    failed(tenant_a, sandbox)
    for client in (tenant_a.client("viewer"), operator_client):
        response = client.get(page(tenant_a))
        assert response.status_code == 200
        html = card(response.content.decode(), sandbox)
        assert "out of networks" in html
        assert "<form" not in html and "Try again" not in html and "can activate" not in html


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_activate_by_posting(sandbox, tenant_a, role):
    response = tenant_a.client(role).post(activate_url(tenant_a, sandbox))
    assert response.status_code == 403
    assert not CloudProject.objects.filter(project=tenant_a.project).exists()


def test_a_visiting_operator_cannot_activate(sandbox, tenant_a, operator_client):
    assert operator_client.post(activate_url(tenant_a, sandbox)).status_code == 403
    assert not CloudProject.objects.filter(project=tenant_a.project).exists()


# --- activating ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_admin_activates_and_the_page_shows_it_queued(sandbox, tenant_a, role, django_capture_on_commit_callbacks):
    client = tenant_a.client(role)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(activate_url(tenant_a, sandbox))
    assert response.status_code == 302 and response["Location"] == page(tenant_a) + "#region-sandbox-seoul"
    cloud_project = CloudProject.objects.get(project=tenant_a.project, region=sandbox)
    assert cloud_project.status == CloudProject.Status.PENDING
    assert callbacks, "the task is enqueued after commit"
    assert AuditEvent.objects.filter(action="project.region.activate", project=tenant_a.project).count() == 1
    html = client.get(page(tenant_a)).content.decode()
    assert "Setting up Main in Sandbox Seoul" in html and "Queued" in card(html, sandbox)
    drive_project(cloud_project)
    assert 'data-state="active"' in card(client.get(page(tenant_a)).content.decode(), sandbox)


def test_trying_again_after_an_error_queues_the_same_cloud_project(sandbox, tenant_a):
    cloud_project = failed(tenant_a, sandbox)
    response = tenant_a.client("admin").post(activate_url(tenant_a, sandbox))
    assert response.status_code == 302
    cloud_project.refresh_from_db()
    assert cloud_project.status == CloudProject.Status.PENDING and cloud_project.error_message == ""
    assert CloudProject.objects.filter(project=tenant_a.project).count() == 1
    assert drive_project(cloud_project).status == CloudProject.Status.ACTIVE


def test_activating_an_active_region_again_is_a_message_and_changes_nothing(sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    client = tenant_a.client("admin")
    response = client.post(activate_url(tenant_a, sandbox), follow=True)
    assert response.status_code == 200
    assert "Main is already active in Sandbox Seoul." in response.content.decode()
    cloud_project.refresh_from_db()
    assert cloud_project.status == CloudProject.Status.ACTIVE
    assert CloudProject.objects.filter(project=tenant_a.project).count() == 1


def test_a_region_that_is_down_shows_why_and_refuses_activation(sandbox, tenant_a):
    mark_down(sandbox)
    client = tenant_a.client("admin")
    html = card(client.get(page(tenant_a)).content.decode(), sandbox)
    assert "The compute API does not answer." in html and "Down" in html
    assert "<form" not in html and "disabled" in html and 'data-testid="refusal"' in html
    response = client.post(activate_url(tenant_a, sandbox), follow=True)
    assert "does not take new projects right now: The compute API does not answer." in response.content.decode()
    assert not CloudProject.objects.filter(project=tenant_a.project).exists()


def test_a_suspended_organisation_sees_activate_disabled_with_the_reason_and_is_refused(sandbox, tenant_a):
    suspend(tenant_a)
    client = tenant_a.client("owner")
    html = card(client.get(page(tenant_a)).content.decode(), sandbox)
    assert "<form" not in html and "disabled" in html and "is suspended" in html
    response = client.post(activate_url(tenant_a, sandbox), follow=True)
    assert response.status_code == 200 and "is suspended" in response.content.decode()
    assert not CloudProject.objects.filter(project=tenant_a.project).exists()


def test_a_suspended_organisations_active_region_offers_no_launch(sandbox, tenant_a):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    suspend(tenant_a)
    html = card(tenant_a.client("member").get(page(tenant_a)).content.decode(), sandbox)
    assert 'data-state="active"' in html and "Launch instances" not in html


def test_a_region_not_open_to_tenants_is_a_404(sandbox, tenant_a):
    sandbox.enabled = False
    sandbox.save(update_fields=["enabled"])
    assert tenant_a.client("admin").post(activate_url(tenant_a, sandbox)).status_code == 404
    assert tenant_a.client("admin").post(tenant_a.url("main/regions/nowhere/activate/")).status_code == 404
    assert not CloudProject.objects.exists()


def test_activate_answers_only_post(sandbox, tenant_a):
    assert tenant_a.client("admin").get(activate_url(tenant_a, sandbox)).status_code == 405


# --- two tenants -----------------------------------------------------------------------------------------------------


def test_another_tenants_regions_page_is_a_404(sandbox, tenant_a, tenant_b):
    assert tenant_b.client("owner").get(page(tenant_a)).status_code == 404
    assert tenant_b.client("owner").get(page(tenant_a) + f"?region={sandbox.slug}").status_code == 404


def test_another_tenant_cannot_activate_a_region_for_a_project_not_theirs(sandbox, tenant_a, tenant_b):
    assert tenant_b.client("owner").post(activate_url(tenant_a, sandbox)).status_code == 404
    assert not CloudProject.objects.exists()


def test_each_tenant_sees_only_its_own_state(sandbox, tenant_a, tenant_b):
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    html_b = card(tenant_b.client("owner").get(page(tenant_b)).content.decode(), sandbox)
    assert 'data-state="not_set_up"' in html_b


# --- one card (a live card reloading itself, or after a reconnect) ----------------------------------------------------


def test_one_card_alone_for_htmx_with_its_csrf_token(sandbox, tenant_a):
    response = tenant_a.client("admin").get(page(tenant_a) + f"?region={sandbox.slug}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="region-sandbox-seoul"' in html
    assert "<html" not in html and "csrfmiddlewaretoken" in html
    assert tenant_a.client("admin").get(page(tenant_a) + "?region=nowhere").status_code == 404


# --- the live renderer -----------------------------------------------------------------------------------------------


def test_the_live_card_for_an_admin_has_its_form_without_a_token_and_reloads_only_after_a_reconnect(sandbox, tenant_a):
    cloud_project = failed(tenant_a, sandbox)
    html = views_regions.live_region(scope_of(tenant_a, "admin"), str(cloud_project.pk))
    assert 'id="region-sandbox-seoul"' in html and 'hx-swap-oob="true"' in html
    assert "out of networks" in html and "Try again" in html
    # Shared by every admin watching: the form has no one's token (console.js puts in the page's on submit).
    assert f'<form method="post" action="{page(tenant_a)}sandbox-seoul/activate/"' in html
    assert "csrfmiddlewaretoken" not in html
    assert 'hx-trigger="live-reconnected"' in html and ", load" not in html
    assert f'hx-get="{page(tenant_a)}?region=sandbox-seoul"' in html


def test_the_live_card_for_a_viewer_or_an_operator_has_no_buttons(sandbox, tenant_a):
    cloud_project = failed(tenant_a, sandbox)
    for scope in (scope_of(tenant_a, "viewer"), operator_scope(tenant_a)):
        html = views_regions.live_region(scope, str(cloud_project.pk))
        assert "out of networks" in html and 'hx-swap-oob="true"' in html
        assert "Try again" not in html and "<button" not in html and ", load" not in html


def test_the_live_card_shows_active_with_the_network(sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    html = views_regions.live_region(scope_of(tenant_a, "member"), str(cloud_project.pk))
    assert 'data-state="active"' in html and cloud_project.cidr in html and "Launch instances" in html


def test_the_live_renderer_draws_nothing_for_another_tenant_or_a_bad_id(sandbox, tenant_a, tenant_b):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    assert views_regions.live_region(scope_of(tenant_b, "owner"), str(cloud_project.pk)) is None
    assert views_regions.live_region(scope_of(tenant_a, "owner"), "not-a-uuid") is None
    assert views_regions.live_region(object(), str(cloud_project.pk)) is None


def test_a_cloud_refusal_shows_on_the_page_and_trying_again_sets_the_project_up(tenant_a):
    region = sandbox_region("sandbox-broken")
    set_region_settings(region, faults=[{"op": "ensure_project", "error": "invalid", "message": "No networks left."}])
    client = tenant_a.client("admin")
    client.post(activate_url(tenant_a, region))
    cloud_project = drive_project(CloudProject.objects.get(project=tenant_a.project, region=region))
    assert cloud_project.status == CloudProject.Status.ERROR
    html = card(client.get(page(tenant_a)).content.decode(), region)
    assert 'data-state="error"' in html and "No networks left." in html and "Try again" in html
    client.post(activate_url(tenant_a, region))
    assert drive_project(cloud_project).status == CloudProject.Status.ACTIVE
    assert 'data-state="active"' in card(client.get(page(tenant_a)).content.decode(), region)
