"""Seed 100,000 servers over 1,000 projects (one project holding 20,000) for the benchmarks, fast; or remove them.

    .venv/bin/python bench/seed_servers.py            # seed (replaces an earlier seed)
    .venv/bin/python bench/seed_servers.py --remove   # remove everything it made
    .venv/bin/python bench/seed_servers.py --servers 10000 --projects 100 --big 2000   # smaller

It writes to the database the console uses (HANEUL_DATABASE_URL; the same as `make run`), which must be migrated
(`make run`, or `manage.py prepare`). Everything it makes is marked so that `--remove` finds it all:

- the region `bench` ("Bench (seeded)", the sandbox provider, closed to tenants so that the reconciler and the
  health checks leave it alone: nothing in any cloud backs these rows), with three instance types and two images;
- 250 organisations `bench-org-NNN` of four projects each (`p1`..`p4`); the organisation `bench-big` with the project
  `big` that holds the big share (20,000); each project set up in the region (an active cloud project);
- users (password `bench-password`): `bench-owner@bench.localhost`, owner of every bench organisation;
  `bench-operator@bench.localhost`, an operator; and 50 members of `bench-big`, `bench-user-NN@bench.localhost`, with
  mixed roles (owner, admin, member, viewer) and languages (en, ko), for the live benchmark's watchers;
- servers with the mix a production cloud shows: mostly running, some stopped, a few in error or on their way,
  some deleted (kept as rows), names from a handful of roles (`lobby-00042`), one private IPv4 each and a floating
  address on a third, created over the past two years.

Servers and cloud projects go in with PostgreSQL's COPY (100,000 rows in a few seconds); the tables are ANALYZEd after.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ.setdefault("HANEUL_DEBUG", "1")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from billing.models import UsageEvent  # noqa: E402
from infra.models import CloudProject, Flavor, Image, Keypair, ProjectQuota, QuotaRequest, Region, Server  # noqa: E402
from infra.providers.base import Status  # noqa: E402
from tenants.models import Membership, Notification, Organization, Project, Role, User  # noqa: E402

REGION_SLUG = "bench"
ORG_PREFIX = "bench-"
BIG_ORG, BIG_PROJECT = "bench-big", "big"
EMAIL_DOMAIN = "@bench.localhost"
PASSWORD = "bench-password"  # noqa: S105  (printed on purpose: a benchmark login)
WATCHERS = 50
ROLES = ("lobby", "match", "login", "chat", "db", "cache", "relay", "worker")
# Roughly what a studio's fleet looks like: (status, weight).
STATUS_MIX = (
    (Status.ACTIVE, 78),
    (Status.STOPPED, 12),
    (Status.ERROR, 3),
    (Status.DELETED, 4),
    (Status.BUILDING, 1),
    (Status.REBOOTING, 1),
    (Status.VERIFY_RESIZE, 1),
)
SERVER_COLUMNS = (
    "id",
    "project_id",
    "region_id",
    "cloud_project_id",
    "name",
    "provider_id",
    "status",
    "error_message",
    "request_id",
    "flavor_id",
    "image_id",
    "keypair_name",
    "user_data",
    "network_ids",
    "security_groups",
    "addresses",
    "locked",
    "cloud_status",
    "task_state",
    "pending",
    "attempts",
    "version",
    "adopted",
    "created_by_id",
    "created_at",
    "updated_at",
    "synced_at",
    "launched_at",
    "deleted_at",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--remove", action="store_true", help="remove everything an earlier seed made, and stop")
    parser.add_argument("--servers", type=int, default=100_000, help="servers in all (default 100,000)")
    parser.add_argument("--projects", type=int, default=1_000, help="projects in all (default 1,000)")
    parser.add_argument("--big", type=int, default=20_000, help="servers in the project bench-big/big (20,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (the same data every time)")
    args = parser.parse_args()
    if args.projects < 2 or not 0 < args.big < args.servers or args.servers - args.big < args.projects - 1:
        parser.error("needs --projects >= 2, 0 < --big < --servers, and a server for each other project")

    started = time.perf_counter()
    removed = remove()
    if removed:
        print(f"removed the earlier seed: {removed} ({time.perf_counter() - started:.1f} s)")
    if args.remove:
        if not removed:
            print("nothing to remove: no seeded data found")
        return 0
    counts = seed(args.servers, args.projects, args.big, random.Random(args.seed))  # noqa: S311 (not for secrets)
    elapsed = time.perf_counter() - started
    print(
        f"seeded {counts['servers']:,} servers ({counts['big']:,} in {BIG_ORG}/{BIG_PROJECT}) over "
        f"{counts['projects']:,} projects in {counts['organizations']:,} organisations in {elapsed:.1f} s"
    )
    print(f"database: {settings.DATABASES['default']['NAME']}; region `{REGION_SLUG}` (closed to tenants)")
    print(f"sign in as bench-owner{EMAIL_DOMAIN}, bench-operator{EMAIL_DOMAIN} or bench-user-01..{WATCHERS:02d}")
    print(f"{EMAIL_DOMAIN} with the password {PASSWORD}; remove it all with: bench/seed_servers.py --remove")
    return 0


def seed(total: int, n_projects: int, big: int, rng: random.Random) -> dict[str, int]:
    now = timezone.now()
    password = make_password(PASSWORD)
    with transaction.atomic():
        region = Region.objects.create(
            slug=REGION_SLUG,
            name="Bench (seeded)",
            provider="sandbox",
            enabled=False,
            health="up",
            health_message="Seeded for the benchmarks: no cloud backs it.",
        )
        flavors = [
            Flavor.objects.create(
                region=region, provider_id=f"bench-{name}", name=name, vcpus=v, ram_mb=r, disk_gb=d, position=i
            )
            for i, (name, v, r, d) in enumerate(
                (("b1.small", 1, 2048, 20), ("b1.medium", 2, 4096, 40), ("b1.large", 4, 8192, 80))
            )
        ]
        images = [
            Image.objects.create(
                region=region,
                provider_id=f"bench-{distro}",
                name=f"{distro}-{version}",
                status="active",
                size_bytes=size,
                os_distro=distro,
                os_version=version,
                position=i,
            )
            for i, (distro, version, size) in enumerate(
                (("ubuntu", "24.04", 2_500_000_000), ("rocky", "9", 1_900_000_000))
            )
        ]

        owner = User.objects.create(email=f"bench-owner{EMAIL_DOMAIN}", name="Bench Owner", password=password)
        operator = User.objects.create(
            email=f"bench-operator{EMAIL_DOMAIN}", name="Bench Operator", password=password, is_staff=True
        )
        operator.groups.add(Group.objects.get_or_create(name=settings.OPERATORS_GROUP)[0])
        watcher_roles = (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.MEMBER, Role.VIEWER)
        watchers = User.objects.bulk_create(
            User(
                email=f"bench-user-{n:02d}{EMAIL_DOMAIN}",
                name=f"Bench User {n:02d}",
                password=password,
                language=("en", "ko")[n % 2],
            )
            for n in range(1, WATCHERS + 1)
        )

        # Verified addresses, so that a person can sign in as any of them (allauth asks for a verified one).
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, verified=True, primary=True)
            for user in (owner, operator, *watchers)
        )

        # The projects: bench-big/big first, then four to an organisation.
        big_org = Organization.objects.create(slug=BIG_ORG, name="Bench Big Studio")
        orgs = [big_org]
        projects = [Project(organization=big_org, slug=BIG_PROJECT, name="Big")]
        for n in range((n_projects - 1 + 3) // 4):
            org = Organization(slug=f"{ORG_PREFIX}org-{n + 1:03d}", name=f"Bench Studio {n + 1:03d}")
            orgs.append(org)
            for p in range(min(4, n_projects - len(projects))):
                projects.append(Project(organization=org, slug=f"p{p + 1}", name=f"Game {n + 1:03d}-{p + 1}"))
        Organization.objects.bulk_create(orgs[1:])
        Project.objects.bulk_create(projects)
        Membership.objects.bulk_create(Membership(user=owner, organization=org, role=Role.OWNER) for org in orgs)
        Membership.objects.bulk_create(
            Membership(user=user, organization=big_org, role=watcher_roles[i % len(watcher_roles)])
            for i, user in enumerate(watchers)
        )

        cloud_projects = {}
        rows = io.StringIO()
        for i, project in enumerate(projects):
            cp_id = uuid.uuid4()
            cloud_projects[project.pk] = (cp_id, i)
            rows.write(
                "\t".join(
                    (
                        str(cp_id),
                        str(project.pk),
                        str(region.pk),
                        f"bench-{i:05d}",
                        "f",
                        "active",
                        "",
                        str(uuid.uuid4()),
                        f"net-{i:05d}",
                        f"subnet-{i:05d}",
                        f"router-{i:05d}",
                        f"10.{i % 250}.0.0/16",
                        "0",
                        now.isoformat(),
                        now.isoformat(),
                    )
                )
                + "\n"
            )
        _copy(
            "infra_cloudproject",
            "id, project_id, region_id, provider_id, linked, status, error_message, request_id, network_id, subnet_id, "
            "router_id, cidr, attempts, created_at, updated_at",
            rows.getvalue(),
        )

        # The servers: `big` to the big project, the rest spread evenly over the others.
        shares = [big, *_spread(total - big, len(projects) - 1)]
        statuses = [s for s, w in STATUS_MIX for _ in range(w)]
        span = timedelta(days=730).total_seconds()
        rows = io.StringIO()
        written = 0
        for project, share in zip(projects, shares, strict=True):
            cp_id, index = cloud_projects[project.pk]
            creators = [owner.pk] + ([u.pk for u in watchers[:5]] if project.slug == BIG_PROJECT else [])
            for n in range(share):
                status = rng.choice(statuses)
                created = now - timedelta(seconds=rng.random() * span)
                ip = f"10.{index % 250}.{n // 250}.{n % 250 + 2}"
                addresses = [{"ip": ip, "version": 4, "kind": "fixed", "network": "default", "mac": _mac(rng)}]
                if rng.random() < 0.33:
                    addresses.append(
                        {"ip": _public_ip(rng), "version": 4, "kind": "floating", "network": "public", "mac": ""}
                    )
                deleted = status == Status.DELETED
                if deleted:
                    addresses = []
                flavor = flavors[rng.randrange(len(flavors))]
                image = images[rng.randrange(len(images))]
                changed = created + timedelta(seconds=rng.random() * (now - created).total_seconds())
                values = (
                    str(uuid.uuid4()),
                    str(project.pk),
                    str(region.pk),
                    str(cp_id),
                    f"{ROLES[n % len(ROLES)]}-{n + 1:05d}",
                    f"bench-{index:05d}-{n:06d}",
                    str(status),
                    "No valid host was found." if status == Status.ERROR else "",
                    str(uuid.uuid4()),
                    str(flavor.pk),
                    str(image.pk),
                    "",
                    "",
                    json.dumps([f"net-{index:05d}"]),
                    json.dumps(["default"]),
                    json.dumps(addresses),
                    "f",
                    "",
                    "",
                    "{}",
                    "0",
                    "1",
                    "f",
                    str(rng.choice(creators)),
                    created.isoformat(),
                    changed.isoformat(),
                    now.isoformat(),
                    "\\N" if status in (Status.BUILDING,) else (created + timedelta(minutes=1)).isoformat(),
                    changed.isoformat() if deleted else "\\N",
                )
                rows.write("\t".join(values) + "\n")
                written += 1
        _copy("infra_server", ", ".join(SERVER_COLUMNS), rows.getvalue())
    with connection.cursor() as cursor:
        for table in ("infra_server", "infra_cloudproject", "tenants_project", "tenants_organization"):
            cursor.execute(f"ANALYZE {table}")
    return {"servers": written, "big": big, "projects": len(projects), "organizations": len(orgs)}


def remove() -> str:
    """Delete what a seed made (and what the benchmarks did to it); returns what was removed, or "". The activity
    log is append-only (a trigger refuses deletes): entries about bench organisations, such as operators' visits,
    stay, as the log keeps them for any deleted organisation."""
    region = Region.objects.filter(slug=REGION_SLUG).first()
    orgs = Organization.objects.filter(slug__startswith=ORG_PREFIX)
    users = User.objects.filter(email__endswith=EMAIL_DOMAIN)
    if region is None and not orgs.exists() and not users.exists():
        return ""
    with transaction.atomic():
        projects = Project.objects.filter(organization__in=orgs)
        servers = Server.objects.filter(project__in=projects)
        if region is not None:
            servers = Server.objects.filter(project__in=projects) | Server.objects.filter(region=region)
        n_servers = servers.count()
        servers.delete()
        UsageEvent.objects.filter(project__in=projects).delete()
        Notification.objects.filter(organization__in=orgs).delete()
        Keypair.objects.filter(project__in=projects).delete()
        QuotaRequest.objects.filter(project__in=projects).delete()
        ProjectQuota.objects.filter(project__in=projects).delete()
        CloudProject.objects.filter(project__in=projects).delete()
        if region is not None:
            CloudProject.objects.filter(region=region).delete()
        n_projects = projects.count()
        projects.delete()
        n_orgs = orgs.count()
        orgs.delete()
        users.delete()
        if region is not None:
            region.delete()
    return f"{n_servers:,} servers, {n_projects:,} projects, {n_orgs:,} organisations"


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _mac(rng: random.Random) -> str:
    return "fa:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def _public_ip(rng: random.Random) -> str:
    return f"{rng.choice(('203.0.113', '198.51.100'))}.{rng.randrange(1, 255)}"


def _copy(table: str, columns: str, data: str) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(data)


if __name__ == "__main__":
    raise SystemExit(main())
