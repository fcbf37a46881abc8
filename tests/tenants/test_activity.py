"""An organisation's activity page and its CSV export: who sees it, what it shows, filters, time zones, queries."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.actions import change_role, create_project, update_organization
from tenants.audit import Actor, record
from tenants.models import AuditEvent, Project, Role

pytestmark = pytest.mark.django_db


def activity_url(tenant) -> str:
    return reverse("activity", kwargs={"org_slug": tenant.slug})


def export_url(tenant) -> str:
    return reverse("activity_export", kwargs={"org_slug": tenant.slug})


def records(response) -> list[AuditEvent]:
    return [row.record for row in response.context["table"].page.object_list]


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # a BOM, so that Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.fixture
def history(tenant_a, tenant_b):
    """A few real changes in each organisation, made through the actions."""
    owner_a = Actor(user=tenant_a.owner, ip="203.0.113.7")
    update_organization(actor=owner_a, organization=tenant_a.organization, name="Studio A Games", slug="studio-a")
    create_project(actor=owner_a, organization=tenant_a.organization, name="Launch", slug="launch")
    change_role(
        actor=owner_a,
        organization=tenant_a.organization,
        membership_id=tenant_a.membership("viewer").pk,
        role=Role.MEMBER,
    )
    create_project(actor=Actor(user=tenant_b.owner), organization=tenant_b.organization, name="Secret B", slug="sb")
    return tenant_a


# Who sees it ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_see_only_their_organizations_events(role, history, tenant_a, tenant_b):
    response = tenant_a.client(role).get(activity_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    events = records(response)
    assert {e.action for e in events} == {"organization.update", "project.create", "member.role"}
    assert {e.organization_id for e in events} == {tenant_a.organization.pk}
    body = response.content.decode()
    assert "Secret B" not in body
    assert "Project created" in body  # the action's label
    assert "Launch" in body


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_are_refused_with_403(role, history, tenant_a):
    client = tenant_a.client(role)
    assert client.get(activity_url(tenant_a)).status_code == 403
    assert client.get(export_url(tenant_a)).status_code == 403


def test_other_tenants_owner_gets_404_on_page_and_csv(history, tenant_a, tenant_b):
    client = tenant_b.client("owner")
    for url in (activity_url(tenant_a), export_url(tenant_a)):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Studio A" not in response.content


def test_anonymous_visitor_is_sent_to_sign_in(client, tenant_a):
    response = client.get(activity_url(tenant_a))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_visiting_operator_sees_it_and_the_visit_is_logged(operator, operator_client, history, tenant_a):
    response = operator_client.get(activity_url(tenant_a))
    assert response.status_code == 200
    visit = AuditEvent.objects.get(action="operator.visit")
    assert (visit.actor_id, visit.operator, visit.organization_id) == (operator.pk, True, tenant_a.organization.pk)
    assert visit.after == {"path": activity_url(tenant_a)}
    assert operator_client.get(export_url(tenant_a)).status_code == 200


def test_page_answers_get_only(tenant_a):
    assert tenant_a.client().post(activity_url(tenant_a)).status_code == 405


def test_old_slug_redirects_to_the_activity_page(tenant_a):
    update_organization(actor=Actor(user=tenant_a.owner), organization=tenant_a.organization, name="A", slug="a-new")
    response = tenant_a.client().get("/o/studio-a/-/activity/?action=project.create")
    assert response.status_code == 302
    assert response["Location"] == "/o/a-new/-/activity/?action=project.create"


# What it shows ----------------------------------------------------------------------------------------------------


def test_rows_show_actor_operator_badge_ip_via_and_changes(operator, history, tenant_a):
    record(
        Actor(user=operator, operator=True, via="backoffice"),
        "organization.suspend",
        organization=tenant_a.organization,
        target=tenant_a.organization,
        after={"reason": "Unpaid <b>invoices</b>"},
    )
    body = tenant_a.client().get(activity_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "operator@haneul.example.com" in body
    assert 'badge bg-purple-lt">Operator' in body
    assert "203.0.113.7" in body
    assert "Back office" in body
    assert "Organization suspended" in body
    # before → after of the rename, escaped values
    assert '<del class="console-diff-before">Studio A</del>' in body
    assert '<ins class="console-diff-after">Studio A Games</ins>' in body
    assert "Unpaid &lt;b&gt;invoices&lt;/b&gt;" in body
    assert '<del class="console-diff-before">studio-a</del>' not in body  # an unchanged field is left out


def test_newest_first(history, tenant_a):
    events = records(tenant_a.client().get(activity_url(tenant_a)))
    assert [e.action for e in events] == ["member.role", "project.create", "organization.update"]


def test_times_are_shown_in_the_users_time_zone(tenant_a):
    event = record(Actor(user=tenant_a.owner), "project.update", organization=tenant_a.organization)
    tenant_a.owner.time_zone = "America/New_York"
    tenant_a.owner.save()
    body = tenant_a.client().get(activity_url(tenant_a)).content.decode()
    assert event.at.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M:%S") in body
    assert event.at.astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d %H:%M:%S") not in body


def test_empty_log_says_what_will_appear(tenant_a):
    body = tenant_a.client().get(activity_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No activity yet" in body


# Filters ----------------------------------------------------------------------------------------------------------


def _actions(client: Client, url: str, params: dict) -> list[str]:
    return [e.action for e in records(client.get(url, params))]


def test_filter_by_action(history, tenant_a):
    assert _actions(tenant_a.client(), activity_url(tenant_a), {"action": "project.create"}) == ["project.create"]


def test_action_choices_are_grouped_with_labels(tenant_a):
    body = tenant_a.client().get(activity_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<optgroup label="Members">' in body
    assert '<option value="member.transfer_ownership">Ownership transferred</option>' in body


def test_filter_by_actor_email(history, tenant_a):
    record(Actor(user=tenant_a.admin), "project.update", organization=tenant_a.organization)
    assert _actions(tenant_a.client(), activity_url(tenant_a), {"actor": "admin@studio-a"}) == ["project.update"]


def test_filter_by_project(history, tenant_a):
    launch = Project.objects.get(slug="launch")
    assert _actions(tenant_a.client(), activity_url(tenant_a), {"project": str(launch.pk)}) == ["project.create"]


def test_project_filter_offers_only_this_organizations_projects(history, tenant_a):
    body = tenant_a.client().get(activity_url(tenant_a)).content.decode()
    assert "Launch" in body
    assert "Secret B" not in body


def test_filter_by_target(history, tenant_a):
    assert _actions(tenant_a.client(), activity_url(tenant_a), {"q": "viewer@studio-a"}) == ["member.role"]


def test_filter_by_date_range(tenant_a):
    actor = Actor(user=tenant_a.owner)
    old = AuditEvent.objects.create(
        organization=tenant_a.organization,
        actor=tenant_a.owner,
        actor_email=tenant_a.owner.email,
        action="project.delete",
        at=datetime(2026, 1, 10, 3, 0, tzinfo=UTC),
    )
    record(actor, "project.create", organization=tenant_a.organization)
    client, url = tenant_a.client(), activity_url(tenant_a)
    assert _actions(client, url, {"date_to": "2026-01-10"}) == [old.action]
    assert _actions(client, url, {"date_from": "2026-01-11"}) == ["project.create"]
    assert _actions(client, url, {"date_from": "2026-01-10", "date_to": "2026-01-10"}) == ["project.delete"]
    assert _actions(client, url, {"date_from": "not a date"}) == ["project.create", "project.delete"]


def test_filters_combine_and_say_when_nothing_matches(history, tenant_a):
    response = tenant_a.client().get(
        activity_url(tenant_a), {"action": "project.create", "actor": "nobody"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert records(response) == []
    assert "No results" in response.content.decode()


# CSV export -------------------------------------------------------------------------------------------------------


def test_csv_has_the_header_and_every_row(history, tenant_a):
    response = tenant_a.client().get(export_url(tenant_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="studio-a-activity-')
    assert response.streaming
    rows = csv_rows(response)
    assert [r["action"] for r in rows] == ["member.role", "project.create", "organization.update"]
    rename = rows[2]
    assert rename["actor_email"] == "owner@studio-a.example.com"
    assert rename["ip"] == "203.0.113.7"
    assert rename["operator"] == "no"
    assert rename["before"] == '{"name": "Studio A", "slug": "studio-a"}'
    assert datetime.fromisoformat(rename["time"]).utcoffset() == timedelta(hours=9)  # ISO, the user's zone
    assert rows[1]["project"] == "Launch"


def test_csv_applies_the_filters(history, tenant_a):
    response = tenant_a.client().get(export_url(tenant_a), {"action": "member.role"})
    rows = csv_rows(response)
    assert [r["target"] for r in rows] == ["viewer@studio-a.example.com"]


def test_csv_keeps_other_organizations_out(history, tenant_a):
    body = b"".join(tenant_a.client().get(export_url(tenant_a)).streaming_content).decode()
    assert "Secret B" not in body


def test_csv_keeps_cells_from_becoming_formulas(tenant_a):
    record(
        Actor(user=tenant_a.owner),
        "invitation.create",
        organization=tenant_a.organization,
        target_repr='=HYPERLINK("http://evil")',
    )
    rows = csv_rows(tenant_a.client().get(export_url(tenant_a)))
    assert rows[0]["target"] == '\'=HYPERLINK("http://evil")'


def test_csv_streams_in_chunks(tenant_a, monkeypatch):
    from tenants.views import activity

    monkeypatch.setattr(activity, "CSV_CHUNK", 3)
    owner = Actor(user=tenant_a.owner)
    for number in range(7):
        record(owner, "project.update", organization=tenant_a.organization, target_repr=str(number))
    rows = csv_rows(tenant_a.client().get(export_url(tenant_a)))
    assert [r["target"] for r in rows] == [str(n) for n in reversed(range(7))]


def test_export_link_carries_the_filters(history, tenant_a):
    response = tenant_a.client().get(activity_url(tenant_a), {"action": "member.role", "page": "1"})
    assert response.context["export_url"] == export_url(tenant_a) + "?action=member.role"


# Cost -------------------------------------------------------------------------------------------------------------


def _seed(tenant, count: int) -> None:
    actor = Actor(user=tenant.owner, ip="198.51.100.1")
    for number in range(count):
        record(
            actor,
            "project.update",
            project=tenant.project,
            target=tenant.project,
            before={"name": f"n{number}"},
            after={"name": f"n{number + 1}"},
        )


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm up: the first request of a session records it
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"per_page": 100})
    assert response.status_code == 200
    return len(queries)


def test_activity_page_costs_the_same_queries_for_5_and_50_rows(tenant_a):
    client, url = tenant_a.client(), activity_url(tenant_a)
    _seed(tenant_a, 5)
    five = _queries(client, url)
    _seed(tenant_a, 45)
    assert _queries(client, url) == five


def test_filtering_in_place_also_updates_the_export_link(tenant_a):
    response = tenant_a.client("owner").get(
        tenant_a.url("-/activity/?action=organization.suspend"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="table",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="activity-export"' in body and 'hx-swap-oob="true"' in body
    assert "activity.csv?action=organization.suspend" in body
