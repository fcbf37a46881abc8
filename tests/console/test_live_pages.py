"""The dashboards' live parts as the pages render them: the activity feed (who sees what), the socket's address, and
the organisation's project list with its role-dependent buttons."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from console.core import live
from tenants import actions
from tenants.audit import Actor
from tenants.models import Project, Role
from tests.conftest import Tenant, make_user

pytestmark = pytest.mark.django_db


def feed_html(html: str) -> str:
    start = html.index('id="live-feed"')
    return html[start : html.index("console-feed-empty", start)]


def invite(tenant: Tenant, email: str) -> None:
    actions.invite_member(
        actor=Actor(user=tenant.owner),
        organization=tenant.organization,
        email=email,
        role=Role.MEMBER,
        base_url="http://testserver/",
    )


def test_organization_page_connects_its_socket_to_its_own_group(tenant_a: Tenant) -> None:
    html = tenant_a.client("viewer").get(tenant_a.url()).content.decode()
    assert f'ws-connect="{live.socket_path(tenant_a.organization)}"' in html
    assert 'hx-ext="ws"' in html and "data-live-status" in html


def test_project_page_connects_its_socket_to_the_projects_group(tenant_a: Tenant) -> None:
    html = tenant_a.client("viewer").get(tenant_a.url("main/")).content.decode()
    assert f'ws-connect="{live.socket_path(tenant_a.project)}"' in html


def test_every_member_sees_the_feed_with_labels_not_action_codes(tenant_a: Tenant, tenant_b: Tenant) -> None:
    actions.create_project(actor=Actor(user=tenant_a.admin), organization=tenant_a.organization, name="Comet")
    actions.create_project(actor=Actor(user=tenant_b.admin), organization=tenant_b.organization, name="Rival")
    for role in ("owner", "admin", "member", "viewer"):
        feed = feed_html(tenant_a.client(role).get(tenant_a.url()).content.decode())
        assert "Project created" in feed and "Comet" in feed, role
        assert "project.create" not in feed
        assert "Rival" not in feed


def test_invitations_are_in_the_feed_of_owners_and_admins_only(tenant_a: Tenant) -> None:
    invite(tenant_a, "newcomer@example.com")
    for role, sees in (("owner", True), ("admin", True), ("member", False), ("viewer", False)):
        feed = feed_html(tenant_a.client(role).get(tenant_a.url()).content.decode())
        assert ("newcomer@example.com" in feed) is sees, role


def feed_header(html: str) -> str:
    start = html.index('class="card console-feed"')
    return html[start : html.index('id="live-feed"', start)]


def test_link_to_the_full_activity_log_only_for_its_readers(tenant_a: Tenant) -> None:
    activity = f"/o/{tenant_a.slug}/-/activity/"
    assert activity in feed_header(tenant_a.client("admin").get(tenant_a.url()).content.decode())
    assert activity not in feed_header(tenant_a.client("member").get(tenant_a.url()).content.decode())
    project_page = tenant_a.client("owner").get(tenant_a.url("main/")).content.decode()
    assert f"{activity}?project={tenant_a.project.pk}" in feed_header(project_page)


def test_feed_is_newest_first_and_at_most_its_size(tenant_a: Tenant) -> None:
    for number in range(1, 11):
        actions.create_project(
            actor=Actor(user=tenant_a.owner), organization=tenant_a.organization, name=f"Game {number:02}"
        )
    feed = feed_html(tenant_a.client("member").get(tenant_a.url()).content.decode())
    names = re.findall(r"id=\"activity-\d+\".*?(Game \d\d)", feed, re.DOTALL)
    assert names == [f"Game {number:02}" for number in range(10, 2, -1)]


def test_project_page_feed_shows_only_that_projects_events(tenant_a: Tenant) -> None:
    owner = Actor(user=tenant_a.owner)
    other = actions.create_project(actor=owner, organization=tenant_a.organization, name="Side Game")
    actions.update_project(actor=owner, project=other, name="Side Game 2", slug=other.slug, description="")
    main = Project.objects.get(pk=tenant_a.project.pk)
    actions.update_project(actor=owner, project=main, name="Main Game", slug="main", description="")
    feed = feed_html(tenant_a.client("viewer").get(tenant_a.url("main/")).content.decode())
    assert "Main Game" in feed and "Project changed" in feed
    assert "Side Game" not in feed


def test_feed_times_are_relative_with_the_absolute_time_in_the_users_zone(tenant_a: Tenant) -> None:
    user = tenant_a.viewer
    user.time_zone = "Asia/Kolkata"
    user.save(update_fields=["time_zone"])
    actions.create_project(actor=Actor(user=tenant_a.owner), organization=tenant_a.organization, name="Clockwork")
    feed = feed_html(tenant_a.client("viewer").get(tenant_a.url()).content.decode())
    stamp = re.search(r'<time [^>]*datetime="([^"]+)"[^>]*data-relative>([^<]+)</time>', feed)
    assert stamp is not None
    assert stamp.group(1).endswith("+05:30")
    assert stamp.group(2).strip() == "now"
    assert timezone.localtime(timezone=timezone.get_default_timezone()).utcoffset().total_seconds() == 9 * 3600


def test_korean_user_reads_the_feed_in_korean(tenant_a: Tenant) -> None:
    user = tenant_a.viewer
    user.language = "ko"
    user.save(update_fields=["language"])
    actions.create_project(actor=Actor(user=tenant_a.owner), organization=tenant_a.organization, name="Hanbit")
    html = tenant_a.client("viewer").get(tenant_a.url()).content.decode()
    assert "최근 활동" in html
    assert "프로젝트 생성" in feed_html(html)


def test_project_rows_offer_settings_to_owners_and_admins_only(tenant_a: Tenant) -> None:
    settings_url = f"/o/{tenant_a.slug}/main/settings/"
    for role, offered in (("owner", True), ("admin", True), ("member", False), ("viewer", False)):
        html = tenant_a.client(role).get(tenant_a.url()).content.decode()
        projects = html[html.index('id="org-projects"') : html.index("console-feed")]
        assert (settings_url in projects) is offered, role
        assert f'id="project-{tenant_a.project.pk}"' in projects


def test_operator_visit_sees_the_feed_with_auditors_entries_and_no_buttons(tenant_a: Tenant, operator_client) -> None:  # type: ignore[no-untyped-def]
    invite(tenant_a, "newcomer@example.com")
    html = operator_client.get(tenant_a.url()).content.decode()
    assert "newcomer@example.com" in feed_html(html)
    projects = html[html.index('id="org-projects"') : html.index("console-feed")]
    assert "/settings/" not in projects


def test_feed_says_so_when_nothing_has_happened(tenant_a: Tenant) -> None:
    html = tenant_a.client("viewer").get(tenant_a.url()).content.decode()
    assert "Nothing has happened yet." in html
    assert "console-feed-item" not in feed_html(html)


def test_another_tenants_member_gets_404_not_the_feed(tenant_a: Tenant, tenant_b: Tenant) -> None:
    outsider = make_user("outsider@example.com")
    from django.test import Client

    client = Client()
    client.force_login(outsider)
    assert client.get(tenant_a.url()).status_code == 404
    assert tenant_b.client("owner").get(tenant_a.url("main/")).status_code == 404
