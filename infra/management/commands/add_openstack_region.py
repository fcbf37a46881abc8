"""`manage.py add_openstack_region <code> --name "Seoul 1" --cloud <clouds.yaml entry>`: create or update an
OpenStack region, once its clouds.yaml entry exists and the cloud answers (docs/operator.md, Regions)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.region_setup import OPENSTACK_CHECK_TIMEOUT, RegionSetupError, add_openstack_region


class Command(BaseCommand):
    help = (
        "Create or update an OpenStack region for a clouds.yaml entry. The entry must exist and the cloud must "
        "answer a health check; otherwise nothing is saved. Options left out keep an existing region's values."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the region's code, e.g. seoul-1 (letters, digits, - and _)")
        parser.add_argument("--name", help='the name people see, e.g. "Seoul 1" (default: the code)')
        parser.add_argument("--cloud", required=True, help="the clouds.yaml entry of the console's service account")
        parser.add_argument(
            "--clouds-file",
            help="path of the clouds.yaml (default: openstacksdk's search: OS_CLIENT_CONFIG_FILE, "
            "~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)",
        )
        parser.add_argument("--region-name", help="the OpenStack region in that cloud (default: the entry's)")
        parser.add_argument("--public-network", help="the external network for routers and floating IPs (public)")
        parser.add_argument("--default-cidr", help="each project's default private network range (10.0.0.0/24)")
        parser.add_argument(
            "--timeout",
            type=float,
            default=OPENSTACK_CHECK_TIMEOUT,
            help=f"seconds to wait for the cloud's answer (default {OPENSTACK_CHECK_TIMEOUT:g})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            setup = add_openstack_region(
                options["slug"],
                name=options["name"],
                cloud=options["cloud"],
                clouds_file=options["clouds_file"],
                region_name=options["region_name"],
                public_network=options["public_network"],
                default_cidr=options["default_cidr"],
                timeout=options["timeout"],
            )
        except RegionSetupError as error:
            raise CommandError(str(error)) from None
        region, report = setup.region, setup.report
        if setup.created:
            what = "Created"
        elif setup.changed:
            what = "Updated"
        else:
            what = "Unchanged:"
        self.stdout.write(self.style.SUCCESS(f"{what} region {region.slug} ({region.name}), OpenStack."))
        if setup.changed:
            self.stdout.write(f"  changed: {', '.join(setup.changed)}")
        where = region.settings.get("clouds_file") or "openstacksdk's usual places"
        self.stdout.write(f"  clouds.yaml entry: {region.settings['cloud']} in {where}")
        latency = f" ({report.latency_ms} ms)" if report.latency_ms is not None else ""
        detail = f": {report.message}" if report.message else ""
        self.stdout.write(f"  health: {report.health}{latency}{detail}")
        if setup.catalog_error:
            self.stdout.write(self.style.WARNING(f"  catalog not mirrored yet: {setup.catalog_error}"))
        else:
            flavors = f"{setup.flavors} flavor{'' if setup.flavors == 1 else 's'}"
            images = f"{setup.images} image{'' if setup.images == 1 else 's'}"
            self.stdout.write(f"  catalog: {flavors}, {images}")
        if not region.enabled:
            self.stdout.write(self.style.WARNING("  the region is closed to new resources (open it on its page)"))
