"""The local OpenStack as a `CloudUnderTest`: one fresh cloud project per test session, made through the driver and
swept at the end.

`session_project()` makes the project as the console would (`ensure_project`, `ensure_default_network` on
198.51.100.0/24), yields an `OpenStackSession`, then deletes everything in the project (servers, key pairs with the
session's prefix, routers, ports, subnets, networks, security groups) and the project itself, as the admin; the
run fails if anything could not be deleted. `cloud_for(session)` gives one test the `CloudUnderTest` (its region
saved in the test database, the driver from `driver_for`, so connections are reused across tests).

The clouds.yaml and entry come from `tests.integration.openstack.cloud` (HANEUL_OPENSTACK_CLOUDS,
HANEUL_OPENSTACK_CLOUD), like the harness tests.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.models import Region
from infra.providers import driver_for
from infra.providers.base import CloudProject, DefaultNetwork, ProjectSpec
from infra.providers.openstack.driver import OpenStackDriver
from tests.infra.clouds import CloudUnderTest
from tests.integration.openstack.cloud import (
    BIGGER_FLAVOR,
    CLOUD,
    CLOUDS_YAML,
    FLAVOR,
    IMAGE,
    PUBLIC_NETWORK,
    TENANT_CIDR,
    TIMEOUT,
    admin_connection,
    expect_gone,
)
from tests.integration.openstack.conftest import sweep as harness_sweep

REGION_ID = uuid.UUID("0b5e1a11-0000-4000-8000-00000000057a")  # one fixed id: `driver_for` reuses its driver


def region_settings(**overrides: Any) -> dict[str, Any]:
    """The settings of a region on the local OpenStack (or the cloud the HANEUL_OPENSTACK_* variables name)."""
    return {"cloud": CLOUD, "clouds_file": str(CLOUDS_YAML), "public_network": PUBLIC_NETWORK, **overrides}


def make_region(**overrides: Any) -> Region:
    """An unsaved Region on the local OpenStack."""
    return Region(
        id=REGION_ID,
        slug="openstack-test",
        name="OpenStack (tests)",
        provider="openstack",
        settings=region_settings(**overrides),
    )


@dataclass
class OpenStackSession:
    """The session's cloud project on the local OpenStack, and what tests need from the catalog."""

    region: Region  # unsaved; `cloud_for` saves a copy in each test's database
    driver: OpenStackDriver
    project: CloudProject
    network: DefaultNetwork
    flavor_id: str
    bigger_flavor_id: str
    image_id: str

    @property
    def prefix(self) -> str:
        """Names of things the tests make outside the project (nova key pairs belong to the service user, not to a
        project) start with this, so the sweep finds them."""
        return self.project.name


def session_project() -> Iterator[OpenStackSession]:
    """Make the session's cloud project through the driver; sweep it (and fail on what remains) at the end."""
    region = make_region()
    driver = driver_for(region)
    assert isinstance(driver, OpenStackDriver)
    health = driver.check_health()
    if health.health != "up":
        pytest.fail(
            f"The local OpenStack cannot be reached through {CLOUDS_YAML} (cloud {CLOUD}): {health.message}\n"
            "Bring it up with `make openstack`; its logs are in .openstack/logs/.",
            pytrace=False,
        )
    project = driver.ensure_project(ProjectSpec(name=f"hn-test-{uuid.uuid4().hex[:10]}", description="Haneul tests"))
    try:
        network = driver.ensure_default_network(project.id, cidr=TENANT_CIDR)
        flavors = {flavor.name: flavor.id for flavor in driver.list_flavors()}
        images = {image.name: image.id for image in driver.list_images() if image.status == "active"}
        yield OpenStackSession(
            region=region,
            driver=driver,
            project=project,
            network=network,
            flavor_id=flavors[FLAVOR],
            bigger_flavor_id=flavors[BIGGER_FLAVOR],
            image_id=images[IMAGE],
        )
    finally:
        driver.connections.forget_project(project.id)
        failures = sweep(project.id, keypair_prefix=project.name)
    if failures:
        pytest.fail(f"the sweep of cloud project {project.name} left: {failures}", pytrace=False)


def cloud_for(session: OpenStackSession) -> CloudUnderTest:
    """The session's cloud for one test, its region saved in the test database (same id: the same driver)."""
    region, _created = Region.objects.update_or_create(
        id=session.region.id,
        defaults={
            "slug": session.region.slug,
            "name": session.region.name,
            "provider": "openstack",
            "settings": session.region.settings,
        },
    )
    return CloudUnderTest(
        name="openstack",
        region=region,
        driver=driver_for(region),
        project_id=session.project.id,
        network_id=session.network.network_id,
        flavor_id=session.flavor_id,
        bigger_flavor_id=session.bigger_flavor_id,
        image_id=session.image_id,
        timeout=TIMEOUT,
    )


# --- the sweep (admin calls through openstacksdk: the test's own view, not the driver's) ---------------------------


def project_resources(admin: Any, project_id: str) -> dict[str, list[str]]:
    """What the project still owns, as the admin sees it."""
    net, compute = admin.network, admin.compute
    found = {
        "servers": [s.id for s in compute.servers(all_projects=True, project_id=project_id)],
        "floating_ips": [ip.id for ip in net.ips(project_id=project_id)],
        "routers": [r.id for r in net.routers(project_id=project_id)],
        "ports": [p.id for p in net.ports(project_id=project_id)],
        "subnets": [s.id for s in net.subnets(project_id=project_id)],
        "networks": [n.id for n in net.networks(project_id=project_id)],
        "security_groups": [g.id for g in project_security_groups(admin, project_id)],
    }
    return {kind: ids for kind, ids in found.items() if ids}


def project_security_groups(admin: Any, project_id: str) -> list[Any]:
    """Filtered here: a list filtered by project makes neutron create the project's default group."""
    return [group for group in admin.network.security_groups() if group.project_id == project_id]


def sweep(project_id: str, *, keypair_prefix: str) -> list[str]:
    """Delete the project's resources, the service user's key pairs named with `keypair_prefix`, and the project;
    return what could not be deleted (never raises: everything is attempted).

    openstacksdk warns about its own internals on ordinary calls; the sweep runs in a session fixture's teardown,
    where pytest would pin those warnings on whichever test ran last, so they are silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return _sweep(project_id, keypair_prefix=keypair_prefix)


def _sweep(project_id: str, *, keypair_prefix: str) -> list[str]:
    admin = admin_connection()
    compute, identity = admin.compute, admin.identity
    _leftovers, failures = harness_sweep(admin, project_id)  # servers, networks, routers, … as the harness does
    for keypair in compute.keypairs():  # they belong to the service user, not the project
        if keypair.name.startswith(keypair_prefix):
            try:
                compute.delete_keypair(keypair.name)
            except Exception as error:  # keep sweeping; report at the end
                failures.append(f"key pair {keypair.name}: {error}")
    try:
        identity.delete_project(project_id)
        expect_gone(identity.get_project, project_id)
    except Exception as error:
        failures.append(f"project {project_id}: {error}")
    remaining_keys = [k.name for k in compute.keypairs() if k.name.startswith(keypair_prefix)]
    if remaining_keys:
        failures.append(f"key pairs still there: {remaining_keys}")
    admin.close()
    return failures
