import time
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.management import call_command

from infra.models import Flavor, Region
from tenants.models import Membership, Organization, Project, Role, User
from tests.integration.openstack.cloud import CLOUD as OPENSTACK_CLOUD
from tests.integration.openstack.cloud import CLOUDS_YAML
from tests.integration.openstack.cloud import MARKS as OPENSTACK_MARKS

pytestmark = pytest.mark.django_db


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_operator_and_demo_tenant_and_prints_logins():
    output = run_seed()
    assert "Starfall Online in sandbox: Active" in output
    operator = User.objects.get(email="operator@haneul.localhost")
    owner = User.objects.get(email="owner@demo-studio.localhost")
    assert operator.is_operator
    assert not owner.is_operator
    org = Organization.objects.get(slug="demo-studio")
    assert Project.objects.filter(organization=org, slug="starfall-online").exists()
    assert Membership.objects.get(user=owner, organization=org).role == Role.OWNER
    assert "operator@haneul.localhost" in output
    assert "owner@demo-studio.localhost" in output
    assert "haneul-demo-2026" in output
    viewer = User.objects.get(email="viewer@demo-studio.localhost")
    assert Membership.objects.get(user=viewer, organization=org).role == Role.VIEWER
    assert "viewer@demo-studio.localhost" in output


def test_seed_demo_is_idempotent():
    run_seed()
    counts = [
        User.objects.count(),
        Organization.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
    ]
    run_seed()
    assert [
        User.objects.count(),
        Organization.objects.count(),
        Project.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
    ] == counts


def test_seeded_logins_work_and_their_emails_are_verified():
    run_seed()
    for email in ("operator@haneul.localhost", "owner@demo-studio.localhost"):
        assert authenticate(username=email, password="haneul-demo-2026") is not None
        assert EmailAddress.objects.get(email=email).verified


def test_seed_demo_restores_a_changed_demo_password():
    run_seed()
    owner = User.objects.get(email="owner@demo-studio.localhost")
    owner.set_password("something-else-entirely")
    owner.save()
    run_seed()
    owner.refresh_from_db()
    assert owner.check_password("haneul-demo-2026")


# Regions --------------------------------------------------------------------------------------------------------------


def region_counts() -> list[int]:
    from infra.models import Flavor, Image

    return [Region.objects.count(), Flavor.objects.count(), Image.objects.count()]


@pytest.mark.django_db(transaction=True)  # the health check probes in a thread, with its own connection
def test_seed_demo_adds_the_sandbox_region_checked_with_its_catalog_and_says_openstack_was_skipped():
    from infra.providers.base import Health

    output = run_seed()
    region = Region.objects.get()
    assert (region.slug, region.name, region.provider, region.enabled) == ("sandbox", "Sandbox", "sandbox", True)
    assert region.health == Health.UP and region.health_checked_at is not None
    assert region.flavors.exists() and region.images.exists()
    assert "region sandbox         Sandbox (Sandbox): up" in output
    skipped = [line for line in output.splitlines() if "Local OpenStack region skipped" in line]
    assert len(skipped) == 1
    assert "no-clouds.yaml does not exist" in skipped[0] and "Run `make openstack` to get it." in skipped[0]


def test_seed_demo_regions_are_idempotent_and_keep_what_operators_changed():
    run_seed()
    counts = region_counts()
    Region.objects.filter(slug="sandbox").update(settings={"outage": True}, enabled=False)
    run_seed()
    assert region_counts() == counts
    region = Region.objects.get(slug="sandbox")
    assert region.settings == {"outage": True} and not region.enabled


def test_seed_demo_skips_a_stopped_local_openstack_quickly(monkeypatch, tmp_path):
    """`make run` without the local OpenStack running must not wait for it: nothing listens, one line says so."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  haneul-local-admin:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n")
    monkeypatch.setenv("HANEUL_OPENSTACK_CLOUDS", str(clouds))
    started = time.monotonic()
    output = run_seed()
    assert time.monotonic() - started < 5
    assert "Local OpenStack region skipped: nothing answers at 127.0.0.1:9" in output
    assert not Region.objects.filter(slug="local-openstack").exists()


@pytest.mark.parametrize("_", [pytest.param(None, marks=OPENSTACK_MARKS)])
def test_seed_demo_adds_the_local_openstack_region_when_it_answers(_):
    from infra.models import CloudProject
    from tests.infra.conftest import sweep_openstack_projects

    try:
        output = run_seed()
    finally:  # the demo project's cloud project on the local OpenStack goes with the test
        made = CloudProject.objects.filter(region__slug="local-openstack").exclude(provider_id="")
        made_ids = list(made.values_list("provider_id", flat=True))
    try:
        check_local_openstack_seeded(output)
    finally:
        sweep_openstack_projects(made_ids)


def check_local_openstack_seeded(output: str) -> None:
    from infra.models import CloudProject

    assert "Starfall Online in local-openstack: Active" in output
    assert CloudProject.objects.get(region__slug="local-openstack").network_id
    region = Region.objects.get(slug="local-openstack")
    assert (region.name, region.provider) == ("Local OpenStack", "openstack")
    assert region.settings == {"cloud": OPENSTACK_CLOUD, "clouds_file": str(CLOUDS_YAML.resolve())}
    assert region.flavors.filter(name="m1.nano").exists()
    assert "region local-openstack Local OpenStack (OpenStack): up" in output
    assert "skipped" not in output
    counts = region_counts()
    run_seed()
    assert region_counts() == counts


def test_seed_demo_chooses_a_default_instance_type_and_image_and_pushes_the_demo_projects_quotas():
    from infra import catalog
    from infra.models import ProjectQuota

    run_seed()
    region = Region.objects.get(slug="sandbox")
    flavor, image = catalog.default_flavor(region), catalog.default_image(region)
    assert flavor is not None and flavor.disk_gb > 0
    assert image is not None and image.os_distro == "ubuntu"
    assert ProjectQuota.objects.get(region=region, project__slug="starfall-online").pushed_at is not None
    # an operator's choice is kept
    other = catalog.offered_flavors(region).exclude(pk=flavor.pk).first()
    Flavor.objects.filter(region=region).update(is_default=False)
    Flavor.objects.filter(pk=other.pk).update(is_default=True)
    run_seed()
    assert catalog.default_flavor(region) == other
