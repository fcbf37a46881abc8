"""The console shell: dashboard, project overview, navigation, languages, health."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.views import server_error
from tenants.models import Membership, Organization, Project, Role

pytestmark = pytest.mark.django_db


def overview_url(tenant) -> str:
    return reverse(
        "project_overview",
        kwargs={"org_slug": tenant.organization.slug, "project_slug": tenant.project.slug},
    )


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_dashboard_lists_only_the_users_own_organizations(tenant_a, tenant_b):
    response = tenant_a.client().get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert tenant_a.organization.name in body
    assert tenant_b.organization.name not in body


def test_dashboard_without_membership_explains_how_to_join(user_client):
    body = user_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You are not a member of any organization yet" in body


def test_member_sees_project_overview(tenant_a):
    response = tenant_a.client().get(overview_url(tenant_a))
    assert response.status_code == 200
    assert tenant_a.project.name in response.content.decode()


def test_project_of_other_tenant_is_404_not_403(tenant_a, tenant_b):
    response = tenant_a.client().get(overview_url(tenant_b))
    assert response.status_code == 404
    assert tenant_b.organization.name not in response.content.decode()


def test_unknown_project_in_own_organization_is_404(tenant_a):
    url = reverse("project_overview", kwargs={"org_slug": tenant_a.organization.slug, "project_slug": "nope"})
    assert tenant_a.client().get(url).status_code == 404


def test_every_member_role_sees_all_projects_of_its_organization(tenant_a, user, user_client):
    Membership.objects.create(user=user, organization=tenant_a.organization, role=Role.VIEWER)
    assert user_client.get(overview_url(tenant_a)).status_code == 200


def test_navigation_follows_the_last_visited_project(tenant_a):
    Project.objects.create(organization=tenant_a.organization, name="Zeta", slug="zeta")
    second_url = reverse("project_overview", kwargs={"org_slug": tenant_a.organization.slug, "project_slug": "zeta"})
    client = tenant_a.client()
    client.get(second_url)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sidebar = body.split('class="navbar-nav pt-lg-2 console-nav"', 1)[1].split("</aside>", 1)[0]
    assert f'href="{second_url}"' in sidebar


def test_navigation_without_any_project_asks_to_choose_one(user_client):
    body = user_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Choose a project first" in body


def test_navigation_shows_every_domain_and_disables_what_is_not_built(tenant_a):
    body = tenant_a.client().get(overview_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for section in ("Compute", "Network", "Storage", "Platform services", "Usage &amp; billing", "Monitoring"):
        assert section in body
    assert 'aria-disabled="true"' in body


def test_operator_section_only_for_operators(tenant_a, django_user_model):
    body = tenant_a.client().get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Usage review" not in body


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        ("ko", ["대시보드", "컴퓨트", "인스턴스", "로그아웃"], ["Dashboard", "Sign out"]),
        ("en", ["Dashboard", "Instances", "Sign out"], ["대시보드"]),
    ],
)
def test_shell_renders_in_each_language(tenant_a, language, expected, absent):
    response = tenant_a.client().get(overview_url(tenant_a), HTTP_ACCEPT_LANGUAGE=language)
    body = response.content.decode()
    assert f'<html lang="{language}"' in body
    for word in expected:
        assert word in body
    for word in absent:
        assert word not in body


def test_language_switcher_sets_the_language(tenant_a):
    client = tenant_a.client()
    response = client.post(reverse("set_language"), {"language": "ko", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert '<html lang="ko"' in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_pages_send_security_headers(tenant_a):
    response = tenant_a.client().get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_for_user_keeps_only_the_users_tenants(tenant_a, tenant_b, user):
    assert list(Organization.objects.for_user(tenant_a.owner)) == [tenant_a.organization]
    assert list(Project.objects.for_user(tenant_b.owner)) == [tenant_b.project]
    assert not Project.objects.for_user(user).exists()


def test_unknown_page_gets_the_consoles_own_404(client):
    response = client.get("/no/such/page", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Back to the console" in response.content.decode()


def test_server_error_page_is_the_consoles_own(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def add_projects(tenant, count: int) -> None:
    Project.objects.bulk_create(
        Project(organization=tenant.organization, name=f"P{i}", slug=f"p{i}") for i in range(count)
    )


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["dashboard", "overview"])
def test_shell_pages_use_a_constant_number_of_queries(tenant_a, tenant_b, page):
    url = "/" if page == "dashboard" else overview_url(tenant_a)
    client = tenant_a.client()
    queries_for(client, url)  # warm the session's current project
    few = queries_for(client, url)
    add_projects(tenant_a, 30)
    Membership.objects.create(user=tenant_a.owner, organization=tenant_b.organization, role=Role.MEMBER)
    add_projects(tenant_b, 30)
    assert queries_for(client, url) == few


def test_htmx_request_for_a_table_gets_only_the_table_card(tenant_a):
    client = tenant_a.client("owner")
    page = client.get(tenant_a.url("-/activity/"))
    partial = client.get(tenant_a.url("-/activity/?sort=at"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="table")
    assert "<html" in page.content.decode() and 'id="table"' in page.content.decode()
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<div class="card console-table" id="table"')
    assert "HX-Target" in partial["Vary"]


def test_htmx_request_for_another_target_gets_the_whole_page(tenant_a):
    response = tenant_a.client("owner").get(tenant_a.url("-/activity/"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="x")
    assert "<html" in response.content.decode()


def join_organizations(user, count: int, projects_each: int = 0) -> list[Organization]:
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Studio {i:03d}", slug=f"studio-{i:03d}") for i in range(count)
    )
    Membership.objects.bulk_create(Membership(user=user, organization=org, role=Role.MEMBER) for org in orgs)
    Project.objects.bulk_create(
        Project(organization=org, name=f"Game {j}", slug=f"game-{j}") for org in orgs for j in range(projects_each)
    )
    return orgs


def switcher_html(body: str) -> str:
    start = body.index('class="dropdown-menu console-switcher-menu"')
    return body[start : body.index("New organization", start)]


def test_switcher_of_a_user_in_many_organizations_shows_a_few_and_links_to_all(tenant_a):
    join_organizations(tenant_a.owner, 30, projects_each=12)
    body = tenant_a.client().get(overview_url(tenant_a), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    menu = switcher_html(body)
    assert tenant_a.organization.name in menu  # the page's organisation comes first, whatever its name
    assert menu.index(tenant_a.organization.name) < menu.index("Studio 000")
    assert "Studio 006" in menu and "Studio 007" not in menu  # 8 organisations in all
    assert "All 31 organizations" in menu
    assert "Game 5" in menu and "Game 6" not in menu  # 8 of each, by name: Game 0, 1, 10, 11, 2, 3, 4, 5
    assert "All 12 projects" in menu


def test_shell_queries_do_not_grow_with_the_users_organizations(tenant_a):
    client = tenant_a.client()
    queries_for(client, overview_url(tenant_a))
    few = queries_for(client, overview_url(tenant_a))
    join_organizations(tenant_a.owner, 40, projects_each=3)
    assert queries_for(client, overview_url(tenant_a)) == few


def test_dashboard_pages_and_searches_the_users_organizations(tenant_a, tenant_b):
    join_organizations(tenant_a.owner, 25)
    client = tenant_a.client()
    first = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1\u201310 of 26" in first
    assert tenant_b.organization.name not in first
    third = client.get("/?page=3", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "21\u201326 of 26" in third
    found = client.get("/?q=studio 01", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Studio 010" in found and "Studio 019" in found and "Studio 020" not in found
    none = client.get(f"/?q={tenant_b.organization.name}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No organization matches" in none
    assert tenant_b.organization.name + "</a>" not in none
