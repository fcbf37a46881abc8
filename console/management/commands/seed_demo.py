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

from infra import health
from infra.region_setup import RegionSetup, RegionSetupError, ensure_local_openstack_region, ensure_sandbox_region
from tenants.models import Membership, Organization, Project, Role, User

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
