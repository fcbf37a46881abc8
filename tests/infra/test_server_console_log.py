"""The console log: the page asks (the task is sent after commit), the task fetches it from the sandbox and stores
it with its time, the live renderer pushes the pane to members (not to viewers), a later GET shows the stored log;
errors (not in the cloud yet, the cloud gone or down) are a message in the pane. Also the detail page's live
fragments, as members and viewers get them."""

from __future__ import annotations

import pytest

from infra import console_log, live, views_server
from infra.models import Server
from infra.providers.base import Status
from tenants.audit import Actor
from tenants.scope import ProjectScope
from tests.infra.engine import activate, drive, set_region_settings, small_flavors
from tests.infra.test_server_detail_pages import launch, page
from tests.infra.test_server_detail_pages import sandbox as sandbox
from tests.infra.test_server_live_rows import server_fragments


@pytest.fixture
def server(sandbox, tenant_a) -> Server:
    activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    return launch(tenant_a, sandbox)


def scope_of(tenant, role: str) -> ProjectScope:
    return ProjectScope(organization=tenant.organization, membership=tenant.membership(role), project=tenant.project)


def test_fetch_enqueues_the_task_after_commit_and_shows_a_loading_state(
    server, tenant_a, django_capture_on_commit_callbacks
):
    client = tenant_a.client("member")
    html = client.get(page(tenant_a, server, "console-log/")).content.decode()
    assert "No console log fetched yet" in html and 'data-testid="fetch-console-log"' in html
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(page(tenant_a, server, "console-log/"), {"lines": "50"})
    assert response.status_code == 302 and len(callbacks) == 1
    log = console_log.stored(server.pk)
    assert log.pending and log.requested_lines == 50
    html = client.get(page(tenant_a, server, "console-log/")).content.decode()
    assert "Fetching the last 50 lines from the cloud…" in html and 'data-console-state="pending"' in html


def test_an_htmx_fetch_answers_with_the_pane_alone(server, tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = tenant_a.client("member").post(
            page(tenant_a, server, "console-log/"),
            {"lines": "1000"},
            headers={"HX-Request": "true", "HX-Target": f"server-{server.pk}-console"},
        )
    html = response.content.decode()
    assert response.status_code == 200 and not html.lstrip().startswith("<!doctype")
    assert f'id="server-{server.pk}-console"' in html and "Fetching the last 1000 lines" in html


def test_the_task_fetches_stores_and_the_page_and_live_renderer_show_it(server, tenant_a):
    console_log.request_fetch(server, lines=200)
    assert console_log.fetch(server.pk, 200).retry_in is None
    log = console_log.stored(server.pk)
    assert not log.pending and not log.error and log.fetched_at is not None
    assert server.name in log.text  # the sandbox's boot log names its host
    html = tenant_a.client("member").get(page(tenant_a, server, "console-log/")).content.decode()
    assert 'data-console-state="fetched"' in html and "the last 200 lines" in html
    pushed = live.render_console_log(scope_of(tenant_a, "member"), str(server.pk))
    assert 'hx-swap-oob="true"' in pushed and f'id="server-{server.pk}-console"' in pushed
    assert server.name in pushed
    assert live.render_console_log(scope_of(tenant_a, "viewer"), str(server.pk)) is None
    viewer_html = tenant_a.client("viewer").get(page(tenant_a, server, "console-log/")).content.decode()
    assert "Members read the console log" in viewer_html and log.text[:40] not in viewer_html


def test_the_live_renderer_keeps_to_the_connections_tenant(server, tenant_a, tenant_b):
    console_log.request_fetch(server)
    console_log.fetch(server.pk)
    assert live.render_console_log(scope_of(tenant_b, "owner"), str(server.pk)) is None
    assert live.render_console_log(scope_of(tenant_a, "owner"), "not-a-uuid") is None


def test_a_server_not_yet_in_the_cloud_gets_a_message_not_a_crash(sandbox, tenant_a):
    cloud_project = activate(tenant_a.project, sandbox, Actor(tenant_a.admin))
    small, _ = small_flavors(sandbox)
    queued = Server.objects.create(
        project=tenant_a.project, region=sandbox, cloud_project=cloud_project, name="queued-1", flavor=small,
        status=Status.PENDING,
    )  # fmt: skip
    console_log.fetch(queued.pk)
    log = console_log.stored(queued.pk)
    assert "does not exist in the cloud yet" in log.error
    html = tenant_a.client("member").get(page(tenant_a, queued, "console-log/")).content.decode()
    assert "does not exist in the cloud yet" in html and 'data-console-state="error"' in html


def test_a_cloud_that_does_not_answer_is_retried_then_reported(server, sandbox, tenant_a, settings):
    settings.INFRA_MAX_ATTEMPTS = 2
    set_region_settings(sandbox, error_rate=1.0)
    first = console_log.fetch(server.pk, 50, attempt=0)
    assert first.retry_in is not None  # transient: the task comes back
    assert console_log.fetch(server.pk, 50, attempt=1).retry_in is None
    log = console_log.stored(server.pk)
    assert "did not answer after 2 attempts" in log.error


def test_a_deleted_server_has_no_console(server, tenant_a):
    from infra.actions import servers as actions

    actions.delete_server(actor=Actor(tenant_a.member), server=server)
    drive(server)
    console_log.fetch(server.pk)
    assert "deleted" in console_log.stored(server.pk).error
    response = tenant_a.client("member").post(page(tenant_a, server, "console-log/"))
    assert response.status_code == 302


# --- the detail page's live fragments ---------------------------------------------------------------------------


def test_live_detail_gives_members_the_header_with_operations_and_viewers_without(server, tenant_a):
    member = views_server.live_detail(scope_of(tenant_a, "member"), server)
    for part in ("name", "header", "overview", "addresses"):
        assert f'id="server-{server.pk}-{part}" hx-swap-oob="true"' in member or (
            f'id="server-{server.pk}-{part}"' in member and 'hx-swap-oob="true"' in member
        ), part
    assert 'data-op="stop"' in member and 'hx-trigger="live-reconnected"' in member
    # Shared by every member watching: forms without a token (console.js fills it in), back to the sending tab.
    assert "csrfmiddlewaretoken" not in member and 'name="next" value="" data-next-here="path"' in member
    viewer = views_server.live_detail(scope_of(tenant_a, "viewer"), server)
    assert "data-op=" not in viewer and ", load" not in viewer
    assert "Running" in viewer and server.addresses[0]["ip"] in viewer


def test_live_detail_shows_the_confirm_or_revert_banner_after_a_resize(server, sandbox, tenant_a):
    from infra.actions import servers as actions

    _, bigger = small_flavors(sandbox)
    server = actions.resize_server(actor=Actor(tenant_a.member), server=server, flavor=bigger)
    resizing = views_server.live_detail(scope_of(tenant_a, "member"), server)
    assert f"Changing the type of web-1 to {bigger.name}…" in resizing
    drive(server)
    html = server_fragments(scope_of(tenant_a, "member"), str(server.pk))
    assert "Confirm the new type or revert" in html and 'data-op="confirm_resize"' in html
    assert bigger.name in html
