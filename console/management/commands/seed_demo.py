"""Load the demo data `make run` starts with: an operator, and a demo organisation with a project, its owner and a
viewer (to see the console read-only); the sandbox region, and the local OpenStack's region when `make openstack`
runs and its clouds.yaml entry answers (HANEUL_OPENSTACK_CLOUDS / HANEUL_OPENSTACK_CLOUD name another).

Idempotent: running it again creates nothing twice; it resets the demo logins to the printed passwords so that
they always work. Regions an operator changed (failure injection, closed) stay as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation

from infra import catalog, health, provisioning
from infra.actions import catalog as catalog_actions
from infra.actions import projects as project_actions
from infra.models import CloudProject
from infra.region_setup import RegionSetup, RegionSetupError, ensure_local_openstack_region, ensure_sandbox_region
from tenants.audit import Actor
from tenants.models import Membership, Organization, Project, Role, User
from tenants.policy import ActionError

DEMO_PASSWORD_DEFAULT = "haneul-demo-2026"  # noqa: S105  (printed on purpose: a demo login)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


def seed_demo(password: str) -> list[DemoLogin]:
    with transaction.atomic():
        operators, _ = Group.objects.get_or_create(name=settings.OPERATORS_GROUP)
        operator = _user("operator@haneul.localhost", "Haneul Operator", password, is_staff=True)
        operator.groups.add(operators)

        owner = _user("owner@demo-studio.localhost", "Demo Owner", password)
        org, _ = Organization.objects.get_or_create(slug="demo-studio", defaults={"name": "Demo Studio"})
        Project.objects.get_or_create(
            organization=org,
            slug="starfall-online",
            defaults={
                "name": "Starfall Online",
                "description": "Live game servers and services of Starfall Online",
            },
        )
        Membership.objects.update_or_create(user=owner, organization=org, defaults={"role": Role.OWNER})
        viewer = _user("viewer@demo-studio.localhost", "Demo Viewer", password)
        Membership.objects.update_or_create(user=viewer, organization=org, defaults={"role": Role.VIEWER})
    return [
        DemoLogin("operator", operator.email, password),
        DemoLogin("owner of Demo Studio", owner.email, password),
        DemoLogin("viewer (read-only)", viewer.email, password),
    ]


def seed_regions() -> tuple[list[RegionSetup], str]:
    """The sandbox region, checked at once (the beat checks it every minute after), and the local OpenStack's region
    if it answers. Returns the regions set up and, when the OpenStack one was skipped, the line that says why."""
    sandbox = ensure_sandbox_region()
    if sandbox.region.enabled:
        sandbox.report = health.check_region(sandbox.region, timeout=5)
    try:
        local = ensure_local_openstack_region()
    except RegionSetupError as error:
        return [sandbox], f"Local OpenStack region skipped: {error} Run `make openstack` to get it."
    return [sandbox, local], ""


def seed_activations(regions: list[RegionSetup]) -> list[str]:
    """Set the demo project up in each open region (its cloud project and default network), as its owner would;
    done here at once (the task the action enqueues finds nothing left to do). Returns one line per region."""
    project = Project.objects.select_related("organization").get(
        organization__slug="demo-studio", slug="starfall-online"
    )
    owner = User.objects.get(email="owner@demo-studio.localhost")
    lines = []
    for setup in regions:
        region = setup.region
        region.refresh_from_db()
        cloud_project = CloudProject.objects.live().filter(project=project, region=region).first()
        if cloud_project is None or cloud_project.status == CloudProject.Status.ERROR:
            if not region.is_available:
                lines.append(f"  {project.name} not set up in {region.slug}: the region is {region.health}")
                continue
            try:
                cloud_project = project_actions.activate_region(
                    actor=Actor(owner, via="seed"), project=project, region=region
                )
            except ActionError as error:
                lines.append(f"  {project.name} not set up in {region.slug}: {error.message}")
                continue
        provisioning.drive_cloud_project(cloud_project.pk)
        provisioning.push_quotas(cloud_project.pk)
        cloud_project.refresh_from_db()
        state = cloud_project.get_status_display()
        detail = f" ({cloud_project.error_message})" if cloud_project.error_message else ""
        lines.append(f"  {project.name} in {region.slug}: {state}{detail}")
    return lines


def seed_catalog_defaults(regions: list[RegionSetup]) -> None:
    """A default instance type and image in each region that has none yet, as an operator would choose: the
    smallest instance type with a disk, and the newest Ubuntu (else the first image offered)."""
    operator = Actor(User.objects.get(email="operator@haneul.localhost"), via="seed", operator=True)
    for setup in regions:
        region = setup.region
        if catalog.default_flavor(region) is None:
            flavor = catalog.offered_flavors(region).filter(disk_gb__gt=0).order_by("vcpus", "ram_mb", "name").first()
            if flavor is not None:
                catalog_actions.set_default(actor=operator, item=flavor)
        if catalog.default_image(region) is None:
            images = catalog.offered_images(region)
            image = images.filter(os_distro="ubuntu").order_by("-os_version", "name").first() or images.first()
            if image is not None:
                catalog_actions.set_default(actor=operator, item=image)


def _user(email: str, name: str, password: str, *, is_staff: bool = False) -> User:
    user, _ = User.objects.get_or_create(email=email, defaults={"name": name})
    user.is_staff = is_staff
    user.is_active = True
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


class Command(BaseCommand):
    help = "Create (or refresh) the demo operator, organisation, project and owner, and print their logins."

    def handle(self, *args: object, **options: object) -> None:
        with translation.override("en"):  # a terminal's output, in one language (labels come from models)
            self._seed()

    def _seed(self) -> None:
        password = os.environ.get("HANEUL_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
        logins = seed_demo(password)
        regions, skipped = seed_regions()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for login in logins:
            self.stdout.write(f"  {login.role:<22} {login.email:<32} password: {login.password}")
        for setup in regions:
            region = setup.region
            catalog = f", catalog not mirrored: {setup.catalog_error}" if setup.catalog_error else ""
            self.stdout.write(
                f"  region {region.slug:<15} {region.name} ({region.get_provider_display()}): "
                f"{setup.report.health}{catalog}"
            )
        if skipped:
            self.stdout.write(self.style.WARNING(skipped))
        seed_catalog_defaults(regions)
        for line in seed_activations(regions):
            self.stdout.write(line)
