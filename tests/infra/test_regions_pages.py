"""The operators' regions pages: who gets in, the list (health, counts, constant queries), a region's detail
(settings without secrets, cloud projects), Check now, opening and closing (audited), and failure injection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from infra.actions.regions import set_failure_injection, set_region_enabled
from infra.models import CloudProject, Flavor, Image, Region, Server
from infra.providers.base import Health, Status
from tenants.audit import Actor
from tenants.models import AuditEvent, Project
from tenants.policy import NotFound
from tests.conftest import Tenant, make_user

pytestmark = pytest.mark.django_db


def make_region(slug: str, provider: str = "sandbox", **fields: object) -> Region:
    fields.setdefault("name", slug.replace("-", " ").title())
    return Region.objects.create(slug=slug, provider=provider, **fields)


def make_cloud_project(project: Project, region: Region, **fields: object) -> CloudProject:
    fields.setdefault("status", CloudProject.Status.ACTIVE)
    fields.setdefault("provider_id", f"cp-{project.pk.hex[:8]}-{region.slug}")
    return CloudProject.objects.create(project=project, region=region, **fields)


def make_servers(cloud_project: CloudProject, count: int, status: Status = Status.ACTIVE) -> list[Server]:
    region = cloud_project.region
    flavor, _ = Flavor.objects.get_or_create(
        region=region, provider_id="f1", defaults={"name": "m1.small", "vcpus": 1, "ram_mb": 2048, "disk_gb": 20}
    )
    image, _ = Image.objects.get_or_create(
        region=region, provider_id="i1", defaults={"name": "Ubuntu 24.04", "status": "active"}
    )
    return [
        Server.objects.create(
            project=cloud_project.project,
            region=region,
            cloud_project=cloud_project,
            name=f"game-{number}",
            provider_id=f"{cloud_project.provider_id}-srv-{number}-{status}",
            status=status,
            flavor=flavor,
            image=image,
        )
        for number in range(count)
    ]


def list_url() -> str:
    return reverse("operator_regions")


def detail_url(region: Region) -> str:
    return reverse("operator_region", kwargs={"region_slug": region.slug})


def action_url(name: str, region: Region) -> str:
    return reverse(f"operator_region_{name}", kwargs={"region_slug": region.slug})


def records(response) -> list:
    return [row.record for row in response.context["table"].page.object_list]


@pytest.fixture
def sandbox() -> Region:
    return make_region("sandbox", name="Sandbox", settings={"speed": 5.0, "faults": [{"op": "create_server"}]})


@pytest.fixture
def openstack() -> Region:
    return make_region(
        "seoul-1",
        "openstack",
        name="Seoul 1",
        settings={
            "cloud": "haneul-seoul-1",
            "clouds_file": "/etc/haneul/clouds.yaml",
            "public_network": "ext-net",
            "password": "do-not-show-this-secret",
        },
    )


# Who gets in ------------------------------------------------------------------------------------------------------


def region_urls(region: Region) -> list[tuple[str, str]]:
    return [
        ("get", list_url()),
        ("get", detail_url(region)),
        ("post", detail_url(region)),
        ("post", action_url("check", region)),
        ("post", action_url("enable", region)),
        ("post", action_url("disable", region)),
    ]


@pytest.mark.parametrize("who", ["owner", "admin", "viewer", "staff", "grouped"])
def test_everyone_but_operators_gets_404_on_every_region_url(
    who, tenant_a, sandbox, django_capture_on_commit_callbacks
):
    if who == "staff":
        user = make_user("staff@haneul.example.com", is_staff=True)
    elif who == "grouped":
        user = make_user("grouped@haneul.example.com")
        user.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
    else:
        user = tenant_a.user(who)
    client = Client()
    client.force_login(user)
    with django_capture_on_commit_callbacks() as callbacks:
        for method, url in region_urls(sandbox):
            data = {"speed": 1, "error_rate": 0, "latency_ms": 0, "outage": "on"} if method == "post" else None
            assert getattr(client, method)(url, data).status_code == 404, (who, method, url)
    assert callbacks == []  # no health check asked for
    sandbox.refresh_from_db()
    assert sandbox.enabled and "outage" not in sandbox.settings
    assert not AuditEvent.objects.filter(action__startswith="region.").exists()


def test_anonymous_visitor_is_sent_to_sign_in(client, sandbox):
    for url in (list_url(), detail_url(sandbox)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_regions_are_in_the_operator_navigation(operator_client, tenant_a):
    body = operator_client.get(list_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{list_url()}" aria-current="page"' in body
    owner_page = tenant_a.client("owner").get(tenant_a.url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert list_url() not in owner_page


def test_actions_refuse_a_non_operator(tenant_a, sandbox):
    with pytest.raises(NotFound):
        set_region_enabled(actor=Actor(user=tenant_a.owner), region=sandbox, enabled=False)
    with pytest.raises(NotFound):
        set_failure_injection(
            actor=Actor(user=tenant_a.owner), region=sandbox, speed=1, error_rate=0, latency_ms=0, outage=True
        )
    sandbox.refresh_from_db()
    assert sandbox.enabled and "outage" not in sandbox.settings


# The list ---------------------------------------------------------------------------------------------------------


def test_list_shows_health_latency_counts_and_whether_open(operator_client, tenant_a, tenant_b, sandbox, openstack):
    Region.objects.filter(pk=sandbox.pk).update(
        health=Health.UP, health_latency_ms=1234, health_checked_at=timezone.now() - timedelta(seconds=20)
    )
    Region.objects.filter(pk=openstack.pk).update(
        health=Health.DOWN, health_message="keystone: connection refused", health_checked_at=timezone.now()
    )
    set_region_enabled(actor=Actor(user=make_operator()), region=openstack, enabled=False)
    cp_a = make_cloud_project(tenant_a.project, sandbox)
    make_cloud_project(tenant_b.project, sandbox)
    make_cloud_project(tenant_a.project, openstack)
    make_servers(cp_a, 3)
    make_servers(cp_a, 2, Status.DELETED)  # deleted servers are not counted
    deleted = Project.objects.create(organization=tenant_b.organization, name="Old", slug="old")
    make_cloud_project(deleted, sandbox, deleted_at=timezone.now())  # nor deleted cloud projects

    response = operator_client.get(list_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = {region.slug: region for region in records(response)}
    assert [(rows[s].cloud_project_count, rows[s].server_count) for s in ("sandbox", "seoul-1")] == [(2, 3), (1, 0)]
    body = response.content.decode()
    assert detail_url(sandbox) in body
    assert 'data-health="up"' in body and 'data-health="down"' in body
    assert "1,234 ms" in body
    assert "checked 20\N{NO-BREAK SPACE}seconds ago" in body
    assert "keystone: connection refused" in body
    assert "Closed" in body and "Open" in body
    assert "OpenStack" in body and "Sandbox" in body


def make_operator():
    user = make_user("second-operator@haneul.example.com", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
    return user


def test_list_filters_and_sorts(operator_client, sandbox, openstack):
    Region.objects.filter(pk=openstack.pk).update(health=Health.DOWN)
    Region.objects.filter(pk=sandbox.pk).update(health=Health.UP)
    slugs = lambda params: [r.slug for r in records(operator_client.get(list_url(), params))]  # noqa: E731
    assert slugs({}) == ["sandbox", "seoul-1"]  # by name
    assert slugs({"q": "seoul"}) == ["seoul-1"]
    assert slugs({"provider": "sandbox"}) == ["sandbox"]
    assert slugs({"health": "down"}) == ["seoul-1"]
    assert slugs({"sort": "health"}) == ["seoul-1", "sandbox"]  # worst first
    assert slugs({"sort": "-health"}) == ["sandbox", "seoul-1"]


def test_empty_list_says_how_to_add_a_region(operator_client):
    body = operator_client.get(list_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No regions yet" in body
    assert "add_openstack_region" in body


def _queries(client: Client, url: str) -> int:
    client.get(url)  # warm up the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_costs_the_same_queries_whatever_its_length(operator_client, tenant_a):
    first = make_region("region-0")
    make_servers(make_cloud_project(tenant_a.project, first), 2)
    one = _queries(operator_client, list_url())
    for number in range(1, 8):
        region = make_region(f"region-{number}", "openstack" if number % 2 else "sandbox")
        project = Project.objects.create(organization=tenant_a.organization, name=f"P{number}", slug=f"p{number}")
        make_servers(make_cloud_project(project, region), number)
        Region.objects.filter(pk=region.pk).update(health=Health.UP, health_checked_at=timezone.now())
    assert _queries(operator_client, list_url()) == one


def test_detail_costs_the_same_queries_whatever_its_cloud_projects(operator_client, tenant_a, tenant_b, sandbox):
    make_cloud_project(tenant_a.project, sandbox)
    one = _queries(operator_client, detail_url(sandbox))
    for number in range(6):
        tenant = tenant_b if number % 2 else tenant_a
        project = Project.objects.create(organization=tenant.organization, name=f"P{number}", slug=f"p{number}")
        make_servers(make_cloud_project(project, sandbox, linked=bool(number % 2)), 1)
    assert _queries(operator_client, detail_url(sandbox)) == one


# One region -------------------------------------------------------------------------------------------------------


def test_detail_shows_settings_but_nothing_secret(operator_client, openstack):
    response = operator_client.get(detail_url(openstack), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    for shown in (
        "haneul-seoul-1",
        "/etc/haneul/clouds.yaml",
        "ext-net",
        'Entry in <code translate="no">clouds.yaml</code>',
    ):
        assert shown in body
    assert "do-not-show-this-secret" not in body
    assert "Other settings (values not shown)" in body and "password" in body
    assert 'id="failure-injection"' not in body  # OpenStack regions have no failure injection
    assert "No cloud projects in this region" in body


def test_detail_shows_sandbox_failure_injection_settings_and_form(operator_client, sandbox):
    body = operator_client.get(detail_url(sandbox), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-setting="speed"><span translate="no">5.0</span>' in body
    assert 'data-setting="faults">1</dd>' in body  # one one-shot fault waiting
    assert 'id="failure-injection"' in body
    assert 'name="speed" value="5.0"' in body
    assert 'name="outage"' in body


def test_detail_lists_the_regions_cloud_projects(operator_client, tenant_a, tenant_b, sandbox, openstack):
    make_cloud_project(tenant_a.project, sandbox, provider_id="a1b2c3d4")
    make_cloud_project(
        tenant_b.project,
        sandbox,
        provider_id="",
        status=CloudProject.Status.ERROR,
        error_message="Quota of projects reached",
    )
    other = Project.objects.create(organization=tenant_b.organization, name="Elsewhere", slug="elsewhere")
    make_cloud_project(other, openstack, linked=True)
    response = operator_client.get(detail_url(sandbox), HTTP_ACCEPT_LANGUAGE="en")
    rows = records(response)
    assert {cp.project.organization.slug for cp in rows} == {"studio-a", "studio-b"}
    body = response.content.decode()
    assert "a1b2c3d4" in body and "not created yet" in body
    assert "Quota of projects reached" in body
    assert reverse("operator_organization", kwargs={"pk": tenant_a.organization.pk}) in body
    assert "Made by the console" in body and "Elsewhere" not in body


def test_unknown_region_is_404(operator_client):
    assert operator_client.get("/operators/regions/nowhere/").status_code == 404
    assert operator_client.post("/operators/regions/nowhere/check/").status_code == 404


def test_health_card_alone_for_htmx_polling(operator_client, sandbox):
    Region.objects.filter(pk=sandbox.pk).update(health=Health.DOWN, health_message="region sandbox does not answer")
    response = operator_client.get(
        detail_url(sandbox), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="region-health", HTTP_ACCEPT_LANGUAGE="en"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="card" id="region-health"')
    assert "region sandbox does not answer" in body and 'data-health="down"' in body
    assert "<html" not in body


# Check now, open and close --------------------------------------------------------------------------------------------


def test_check_now_asks_the_task_after_commit(operator_client, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post(action_url("check", sandbox), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert len(callbacks) == 1
    assert "Checking Sandbox" in response.content.decode()
    assert operator_client.get(action_url("check", sandbox)).status_code == 405


def test_check_now_runs_the_regions_check(operator_client, django_capture_on_commit_callbacks, celery_eager):
    broken = make_region("broken", "no-such-provider", name="Broken")  # its driver cannot even be built
    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(action_url("check", broken))
    broken.refresh_from_db()
    assert broken.health == Health.DOWN
    assert "no-such-provider" in broken.health_message


@pytest.fixture
def celery_eager():
    from console.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_operator_closes_and_opens_a_region_audited(operator, operator_client, sandbox):
    response = operator_client.post(action_url("disable", sandbox), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    sandbox.refresh_from_db()
    assert not sandbox.enabled
    body = response.content.decode()
    assert "Sandbox is closed to new resources" in body
    assert 'data-testid="enabled">Closed' in body
    assert "Open to new resources" in body  # the button that undoes it
    event = AuditEvent.objects.get(action="region.disable")
    assert (event.actor, event.operator, event.via, event.organization_id) == (operator, True, "backoffice", None)
    assert (event.target_type, event.target_id, event.target_repr) == ("infra.region", str(sandbox.pk), "Sandbox")
    assert (event.before, event.after) == ({"enabled": True}, {"enabled": False})

    again = operator_client.post(action_url("disable", sandbox), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Sandbox is already closed." in again.content.decode()
    assert AuditEvent.objects.filter(action="region.disable").count() == 1

    operator_client.post(action_url("enable", sandbox))
    sandbox.refresh_from_db()
    assert sandbox.enabled
    assert AuditEvent.objects.filter(action="region.enable", operator=True).count() == 1


def test_closing_asks_for_confirmation(operator_client, sandbox):
    body = operator_client.get(detail_url(sandbox), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-confirm="Close Sandbox to new resources?"' in body


def test_region_events_read_well_in_the_operators_activity(operator, operator_client, sandbox):
    operator_client.post(action_url("disable", sandbox))
    body = operator_client.get(reverse("operator_activity"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Region closed to new resources" in body
    assert '<span class="console-diff-key">enabled</span>' in body


# Failure injection ----------------------------------------------------------------------------------------------------


def post_injection(client: Client, region: Region, **values: object) -> object:
    data = {"speed": 1, "error_rate": 0, "latency_ms": 0, **values}
    return client.post(detail_url(region), {k: v for k, v in data.items() if v is not None}, HTTP_ACCEPT_LANGUAGE="en")


def test_operator_sets_failure_injection_audited_and_rechecks(
    operator_client, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_injection(operator_client, sandbox, speed=2.5, error_rate=0.25, latency_ms=300, outage="on")
    assert response.status_code == 302
    assert len(callbacks) == 1  # a health check, after commit
    sandbox.refresh_from_db()
    assert sandbox.settings == {
        "speed": 2.5,
        "error_rate": 0.25,
        "latency_ms": 300,
        "outage": True,
        "faults": [{"op": "create_server"}],  # kept: the driver consumes these
    }
    event = AuditEvent.objects.get(action="region.failure_injection")
    assert event.operator
    assert event.before == {"speed": 5.0, "error_rate": None, "latency_ms": None, "outage": None}
    assert event.after == {"speed": 2.5, "error_rate": 0.25, "latency_ms": 300, "outage": True}

    post_injection(operator_client, sandbox, speed=2.5, error_rate=0.25, latency_ms=300)  # outage off
    sandbox.refresh_from_db()
    assert sandbox.settings["outage"] is False
    assert AuditEvent.objects.filter(action="region.failure_injection").first().after == {"outage": False}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"error_rate": 1.5}, "error_rate", "less than or equal to 1"),
        ({"error_rate": -0.1}, "error_rate", "greater than or equal to 0"),
        ({"speed": 0}, "speed", "Speed must be more than 0."),
        ({"speed": -2}, "speed", "greater than or equal to 0"),
        ({"speed": None}, "speed", "This field is required."),
        ({"latency_ms": 60001}, "latency_ms", "less than or equal to 60000"),
        ({"latency_ms": "slow"}, "latency_ms", "Enter a whole number."),
    ],
)
def test_failure_injection_form_validates(operator_client, sandbox, values, field, message):
    response = post_injection(operator_client, sandbox, **values)
    assert response.status_code == 400
    assert message in " ".join(response.context["injection_form"].errors[field])
    assert message in response.content.decode()
    sandbox.refresh_from_db()
    assert sandbox.settings == {"speed": 5.0, "faults": [{"op": "create_server"}]}
    assert not AuditEvent.objects.filter(action="region.failure_injection").exists()


def test_failure_injection_is_not_offered_where_the_provider_has_none(operator_client, openstack):
    assert post_injection(operator_client, openstack, outage="on").status_code == 404
    openstack.refresh_from_db()
    assert "outage" not in openstack.settings


def test_failure_injection_action_checks_its_rules(operator, sandbox):
    from tenants.policy import ActionError

    for values in ({"speed": 0}, {"error_rate": 2}, {"latency_ms": -1}):
        arguments = {"speed": 1.0, "error_rate": 0.0, "latency_ms": 0, "outage": False, **values}
        with pytest.raises(ActionError):
            set_failure_injection(actor=Actor(user=operator, operator=True), region=sandbox, **arguments)


def test_two_tenants_pages_do_not_show_regions(tenant_a: Tenant, sandbox):
    """Regions are the platform's: a tenant's pages link nowhere in the back office."""
    body = tenant_a.client("owner").get(tenant_a.url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert detail_url(sandbox) not in body
