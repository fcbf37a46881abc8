"""The operators' back office: who gets in, the organisations list, an organisation's detail, suspend and resume."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.actions import suspend_organization
from tenants.audit import Actor, record
from tenants.models import AuditEvent, Membership, Organization, Project, Role
from tenants.policy import NotFound
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def detail_url(organization: Organization) -> str:
    return reverse("operator_organization", kwargs={"pk": organization.pk})


def suspend_url(organization: Organization) -> str:
    return reverse("operator_organization_suspend", kwargs={"pk": organization.pk})


def resume_url(organization: Organization) -> str:
    return reverse("operator_organization_resume", kwargs={"pk": organization.pk})


def backoffice_urls(organization: Organization) -> list[tuple[str, str]]:
    return [
        ("get", reverse("operator_organizations")),
        ("get", reverse("operator_activity")),
        ("get", detail_url(organization)),
        ("get", suspend_url(organization)),
        ("post", suspend_url(organization)),
        ("post", resume_url(organization)),
    ]


def records(response) -> list:
    """The model instances of the rows on the response's table page."""
    return [row.record for row in response.context["table"].page.object_list]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_not_operator(db):
    return make_user("staff@haneul.example.com", is_staff=True)


@pytest.fixture
def operator_not_staff(db):
    """In the operators group but not staff: not an operator."""
    user = make_user("grouped@haneul.example.com")
    user.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
    return user


# Who gets in ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin", "viewer", "staff", "grouped"])
def test_everyone_but_operators_gets_404_on_every_backoffice_url(who, tenant_a, staff_not_operator, operator_not_staff):
    user = {"staff": staff_not_operator, "grouped": operator_not_staff}.get(who) or tenant_a.user(who)
    client = signed_in(user)
    for method, url in backoffice_urls(tenant_a.organization):
        response = getattr(client, method)(url, {"reason": "abuse"} if method == "post" else None)
        assert response.status_code == 404, (who, method, url)
    tenant_a.organization.refresh_from_db()
    assert not tenant_a.organization.is_suspended
    assert not AuditEvent.objects.filter(action__startswith="organization.").exists()


def test_anonymous_visitor_is_sent_to_sign_in(client, tenant_a):
    for _method, url in backoffice_urls(tenant_a.organization)[:3]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_inactive_operator_is_refused(operator, tenant_a):
    client = signed_in(operator)
    operator.is_active = False
    operator.save()
    assert client.get(reverse("operator_organizations")).status_code in (302, 404)


# The organisations list -------------------------------------------------------------------------------------------


def test_operator_sees_every_organization_with_counts(operator_client, tenant_a, tenant_b):
    Project.objects.create(organization=tenant_b.organization, name="Second", slug="second")
    response = operator_client.get(reverse("operator_organizations"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = {org.slug: org for org in records(response)}
    assert set(rows) == {"studio-a", "studio-b"}
    assert (rows["studio-a"].member_count, rows["studio-a"].project_count) == (4, 1)
    assert (rows["studio-b"].member_count, rows["studio-b"].project_count) == (4, 2)
    body = response.content.decode()
    assert detail_url(tenant_a.organization) in body
    assert "1\N{EN DASH}2 of 2 rows" in body


def slugs(response) -> list[str]:
    return [org.slug for org in records(response)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("studio-b", ["studio-b"]),
        ("Studio A", ["studio-a"]),
        ("viewer@studio-b.example", ["studio-b"]),  # a member's e-mail
        ("nobody-matches", []),
    ],
)
def test_search_finds_by_name_slug_or_a_members_email(operator_client, tenant_a, tenant_b, query, expected):
    response = operator_client.get(reverse("operator_organizations"), {"q": query})
    assert slugs(response) == expected


def test_search_by_a_shared_members_email_lists_each_organization_once(operator_client, tenant_a, tenant_b):
    Membership.objects.create(user=tenant_a.owner, organization=tenant_b.organization, role=Role.MEMBER)
    response = operator_client.get(reverse("operator_organizations"), {"q": "owner@studio-a"})
    assert slugs(response) == ["studio-a", "studio-b"]


def test_filter_by_status(operator, operator_client, tenant_a, tenant_b):
    suspend_organization(actor=Actor(user=operator, operator=True), organization=tenant_b.organization, reason="x")
    url = reverse("operator_organizations")
    assert slugs(operator_client.get(url, {"status": "suspended"})) == ["studio-b"]
    assert slugs(operator_client.get(url, {"status": "active"})) == ["studio-a"]
    assert slugs(operator_client.get(url, {"status": ""})) == ["studio-a", "studio-b"]


def test_sort_by_each_column(operator, operator_client, tenant_a, tenant_b):
    Project.objects.create(organization=tenant_a.organization, name="More", slug="more")
    Membership.objects.filter(organization=tenant_a.organization, role=Role.VIEWER).delete()
    suspend_organization(actor=Actor(user=operator, operator=True), organization=tenant_a.organization, reason="x")
    url = reverse("operator_organizations")
    assert slugs(operator_client.get(url, {"sort": "-name"})) == ["studio-b", "studio-a"]
    assert slugs(operator_client.get(url, {"sort": "member_count"})) == ["studio-a", "studio-b"]
    assert slugs(operator_client.get(url, {"sort": "-project_count"})) == ["studio-a", "studio-b"]
    assert slugs(operator_client.get(url, {"sort": "project_count"})) == ["studio-b", "studio-a"]
    assert slugs(operator_client.get(url, {"sort": "status"})) == ["studio-b", "studio-a"]
    assert slugs(operator_client.get(url, {"sort": "-created_at"})) == ["studio-b", "studio-a"]
    assert slugs(operator_client.get(url, {"sort": "no_such_column"})) == ["studio-a", "studio-b"]


def test_sorted_header_says_its_direction(operator_client, tenant_a):
    body = operator_client.get(reverse("operator_organizations"), {"sort": "-name"}).content.decode()
    assert 'aria-sort="descending"' in body
    assert 'href="?sort=name"' in body  # clicking again sorts the other way


def test_pages_of_organizations(operator_client, db):
    for number in range(30):
        Organization.objects.create(name=f"Org {number:02}", slug=f"org-{number:02}")
    url = reverse("operator_organizations")
    first = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert len(records(first)) == 25
    assert "1\N{EN DASH}25 of 30 rows" in first.content.decode()
    second = operator_client.get(url, {"page": 2})
    assert slugs(second)[0] == "org-25"
    assert len(slugs(operator_client.get(url, {"page": 99}))) == 5  # past the end: the last page
    assert len(slugs(operator_client.get(url, {"per_page": 10}))) == 10
    assert len(slugs(operator_client.get(url, {"per_page": 100000, "page": "x"}))) == 30


def _seed_organizations(count: int, start: int = 0) -> None:
    """Organisations with a project and an owner each (so the counts have rows to count)."""
    for number in range(start, start + count):
        org = Organization.objects.create(name=f"Bulk {number:03}", slug=f"bulk-{number:03}")
        Project.objects.create(organization=org, name="P", slug="p")
        user = make_user(f"m{number}@bulk.example.com")
        Membership.objects.create(user=user, organization=org, role=Role.OWNER)


def _queries(client: Client, url: str, params: dict) -> int:
    client.get(url, params)  # warm up: the first request of a session records it (allauth's user sessions)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_organizations_list_costs_the_same_queries_for_5_and_50_rows(operator_client, db):
    url = reverse("operator_organizations")
    _seed_organizations(5)
    five = _queries(operator_client, url, {"per_page": 100, "sort": "-member_count"})
    _seed_organizations(45, start=5)
    fifty = _queries(operator_client, url, {"per_page": 100, "sort": "-member_count"})
    assert five == fifty


# One organisation -------------------------------------------------------------------------------------------------


def test_detail_shows_members_projects_status_and_recent_activity(operator_client, tenant_a, tenant_b):
    response = operator_client.get(detail_url(tenant_a.organization), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    for role in ("owner", "admin", "member", "viewer"):
        assert f"{role}@studio-a.example.com" in body
    assert "studio-b.example.com" not in body
    assert tenant_a.project.name in body
    assert "Active" in body
    assert 'href="/o/studio-a/"' in body  # open its console, read-only
    assert reverse("activity", kwargs={"org_slug": "studio-a"}) in body
    assert "Pending invitations" in body


def test_detail_marks_members_with_two_factor(operator_client, tenant_a):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=tenant_a.admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    response = operator_client.get(detail_url(tenant_a.organization))
    flags = {m.user.email: m.has_mfa for m in response.context["members"]}
    assert flags["admin@studio-a.example.com"] is True
    assert flags["owner@studio-a.example.com"] is False
    assert [m.role for m in response.context["members"]] == ["owner", "admin", "member", "viewer"]


def test_opening_the_detail_is_an_audit_logged_operator_visit(operator, operator_client, tenant_a):
    operator_client.get(detail_url(tenant_a.organization))
    visit = AuditEvent.objects.get(action="operator.visit")
    assert visit.organization_id == tenant_a.organization.pk
    assert visit.actor_id == operator.pk
    assert visit.operator is True
    assert visit.after == {"path": detail_url(tenant_a.organization)}


def test_unknown_organization_is_404(operator_client):
    url = reverse("operator_organization", kwargs={"pk": "00000000-0000-0000-0000-000000000000"})
    assert operator_client.get(url).status_code == 404


# Suspend and resume -----------------------------------------------------------------------------------------------


def test_operator_suspends_with_a_reason(operator, operator_client, tenant_a, tenant_b):
    response = operator_client.post(
        suspend_url(tenant_a.organization), {"reason": "Unpaid invoices"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(tenant_a.organization)
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.is_suspended
    assert tenant_a.organization.suspension_reason == "Unpaid invoices"
    event = AuditEvent.objects.get(action="organization.suspend")
    assert (event.operator, event.actor_id, event.organization_id) == (True, operator.pk, tenant_a.organization.pk)
    assert event.after == {"reason": "Unpaid invoices"}
    tenant_b.organization.refresh_from_db()
    assert not tenant_b.organization.is_suspended
    page = operator_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "is suspended" in page  # the message
    assert "Unpaid invoices" in page


def test_suspend_needs_a_reason(operator_client, tenant_a):
    response = operator_client.post(suspend_url(tenant_a.organization), {"reason": "  "})
    assert response.status_code == 400
    tenant_a.organization.refresh_from_db()
    assert not tenant_a.organization.is_suspended


def test_suspend_page_works_without_javascript(operator_client, tenant_a):
    response = operator_client.get(suspend_url(tenant_a.organization))
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()


def test_suspending_twice_says_so(operator_client, tenant_a):
    operator_client.post(suspend_url(tenant_a.organization), {"reason": "first"})
    response = operator_client.post(
        suspend_url(tenant_a.organization), {"reason": "second"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "already suspended" in response.content.decode()
    tenant_a.organization.refresh_from_db()
    assert tenant_a.organization.suspension_reason == "first"


def test_suspend_action_is_refused_for_a_non_operator(tenant_a):
    with pytest.raises(NotFound):
        suspend_organization(actor=Actor(user=tenant_a.owner), organization=tenant_a.organization, reason="x")
    tenant_a.organization.refresh_from_db()
    assert not tenant_a.organization.is_suspended


def test_operator_resumes(operator, operator_client, tenant_a):
    operator_client.post(suspend_url(tenant_a.organization), {"reason": "checking"})
    response = operator_client.post(resume_url(tenant_a.organization))
    assert response.status_code == 302
    tenant_a.organization.refresh_from_db()
    assert not tenant_a.organization.is_suspended
    assert tenant_a.organization.suspension_reason == ""
    event = AuditEvent.objects.get(action="organization.resume")
    assert event.operator is True
    assert event.before == {"reason": "checking"}


def test_resuming_an_active_organization_says_so(operator_client, tenant_a):
    response = operator_client.post(resume_url(tenant_a.organization), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "is not suspended" in response.content.decode()


def test_resume_refuses_get(operator_client, tenant_a):
    assert operator_client.get(resume_url(tenant_a.organization)).status_code == 405


# Operators' activity of every organisation ------------------------------------------------------------------------


def test_operator_activity_lists_every_organization(operator, operator_client, tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        suspend_organization(actor=Actor(user=operator, operator=True), organization=tenant.organization, reason="r")
    response = operator_client.get(reverse("operator_activity"))
    events = records(response)
    assert {e.organization_id for e in events} == {tenant_a.organization.pk, tenant_b.organization.pk}
    filtered = operator_client.get(reverse("operator_activity"), {"organization": "studio-b"})
    assert {e.organization_id for e in records(filtered)} == {tenant_b.organization.pk}


def test_operator_activity_pages_without_counting_every_row(operator, operator_client, tenant_a):
    actor = Actor(user=operator, operator=True)
    for number in range(30):
        record(actor, "operator.visit", organization=tenant_a.organization, after={"path": f"/o/studio-a/{number}"})
    url = reverse("operator_activity")
    operator_client.get(url)  # warm up the session
    with CaptureQueriesContext(connection) as queries:
        response = operator_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"] and "tenants_auditevent" in q["sql"]]
    body = response.content.decode()
    assert "Showing 1\N{EN DASH}25" in body
    assert 'href="?page=2"' in body
    second = operator_client.get(url, {"page": 2})
    assert len(records(second)) == 5


def test_operator_activity_costs_the_same_queries_for_5_and_50_rows(operator, operator_client, tenant_a, tenant_b):
    actor = Actor(user=operator, operator=True)

    def seed(count: int) -> None:
        for number in range(count):
            tenant = (tenant_a, tenant_b)[number % 2]
            record(actor, "project.update", project=tenant.project, target=tenant.project, after={"n": number})

    url = reverse("operator_activity")
    seed(5)
    five = _queries(operator_client, url, {"per_page": 100})
    seed(45)
    assert _queries(operator_client, url, {"per_page": 100}) == five
