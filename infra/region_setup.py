"""Setting regions up from the command line: `manage.py add_openstack_region` and `seed_demo` share this.

An OpenStack region is saved only once its clouds.yaml entry works: the file is there, the entry is in it, and the
cloud answers a health check. Otherwise nothing is saved and the error says what to fix, so an operator never finds
a half-configured region in the console. The region's catalog (flavors, images) is mirrored right away, so it can be
used at once rather than at the reconciler's next pass.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from infra import health
from infra.models import Flavor, Image, Provider, Region
from infra.providers import driver_for
from infra.providers.base import CloudError, Health, HealthReport
from infra.reconcile import sync_catalog

SANDBOX_SLUG = "sandbox"
LOCAL_OPENSTACK_SLUG = "local-openstack"
LOCAL_OPENSTACK_CLOUD = "haneul-local-admin"  # written by `make openstack` (docs/openstack.md)
OPENSTACK_CHECK_TIMEOUT = 30.0
PORT_CHECK_TIMEOUT = 0.5  # `make run` without a local OpenStack must not wait
SEED_CHECK_TIMEOUT = 8.0


class RegionSetupError(Exception):
    """The region cannot be set up as asked; the message says why, for a person. Nothing was saved."""


@dataclass
class RegionSetup:
    region: Region
    created: bool
    report: HealthReport
    changed: list[str] = field(default_factory=list)  # settings keys (and "name") that an update changed
    flavors: int = 0
    images: int = 0
    catalog_error: str = ""


def local_openstack_clouds_file() -> Path:
    """The local OpenStack's clouds.yaml (`make openstack`), or the one HANEUL_OPENSTACK_CLOUDS names."""
    return Path(os.environ.get("HANEUL_OPENSTACK_CLOUDS") or Path(django_settings.BASE_DIR) / ".openstack/clouds.yaml")


def local_openstack_cloud() -> str:
    return os.environ.get("HANEUL_OPENSTACK_CLOUD") or LOCAL_OPENSTACK_CLOUD


def read_cloud_entry(clouds_file: Path, cloud: str) -> dict[str, Any]:
    """The entry `cloud` of a clouds.yaml file, or RegionSetupError naming what is wrong (and the entries there)."""
    if not clouds_file.is_file():
        raise RegionSetupError(f"{clouds_file} does not exist (or is not a file).")
    try:
        content = yaml.safe_load(clouds_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RegionSetupError(f"{clouds_file} cannot be read as YAML: {error}") from error
    clouds = content.get("clouds") if isinstance(content, dict) else None
    if not isinstance(clouds, dict) or cloud not in clouds:
        known = ", ".join(sorted(clouds)) if isinstance(clouds, dict) and clouds else "none"
        raise RegionSetupError(f"{clouds_file} has no entry {cloud!r} under 'clouds' (entries there: {known}).")
    entry = clouds[cloud]
    return entry if isinstance(entry, dict) else {}


def auth_endpoint(entry: dict[str, Any]) -> tuple[str, int] | None:
    """(host, port) of the entry's keystone, if it names one."""
    auth = entry.get("auth")
    url = auth.get("auth_url") if isinstance(auth, dict) else None
    if not url:
        return None
    parts = urlsplit(str(url))
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def port_open(host: str, port: int, timeout: float = PORT_CHECK_TIMEOUT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _validate(slug: str, settings: dict[str, Any]) -> None:
    try:
        validate_slug(slug)
    except ValidationError as error:
        raise RegionSetupError(f"{slug!r} is not a valid region code: use letters, digits, - and _.") from error
    if len(slug) > Region._meta.get_field("slug").max_length:
        raise RegionSetupError(f"{slug!r} is too long for a region code (40 characters at most).")
    cidr = settings.get("default_cidr")
    if cidr:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as error:
            raise RegionSetupError(f"--default-cidr {cidr!r} is not a network range: {error}.") from error


def _check(region: Region, timeout: float) -> HealthReport:
    return health.probe_regions([region], timeout=timeout)[region.pk]


def _mirror_catalog(setup: RegionSetup) -> None:
    try:
        sync_catalog(setup.region, driver_for(setup.region))
    except CloudError as error:
        setup.catalog_error = str(error)
    live = {"region": setup.region, "deleted_at__isnull": True}
    setup.flavors = Flavor.objects.filter(**live).count()
    setup.images = Image.objects.filter(**live).count()


def add_openstack_region(
    slug: str,
    *,
    cloud: str,
    name: str | None = None,
    clouds_file: str | Path | None = None,
    region_name: str | None = None,
    public_network: str | None = None,
    default_cidr: str | None = None,
    timeout: float = OPENSTACK_CHECK_TIMEOUT,
) -> RegionSetup:
    """Create or update the OpenStack region `slug` for the clouds.yaml entry `cloud`, once the cloud answers.

    Options left out keep what an existing region has (or the driver's defaults). Raises RegionSetupError, with
    nothing saved, when the file or entry is missing, a value is invalid, or the cloud does not answer."""
    given = {
        "cloud": cloud,
        "clouds_file": str(Path(clouds_file).expanduser().resolve()) if clouds_file else None,
        "region_name": region_name,
        "public_network": public_network,
        "default_cidr": default_cidr,
    }
    given = {key: value for key, value in given.items() if value}
    _validate(slug, given)
    if "clouds_file" in given:
        read_cloud_entry(Path(given["clouds_file"]), cloud)
    existing = Region.objects.filter(slug=slug).first()
    if existing is not None and existing.provider != Provider.OPENSTACK:
        raise RegionSetupError(
            f"Region {slug!r} exists and is a {existing.get_provider_display()} region, not OpenStack: "
            "choose another code."
        )
    settings = {**(existing.settings if existing else {}), **given}
    candidate = Region(slug=slug, name=name or (existing.name if existing else slug), provider=Provider.OPENSTACK)
    candidate.settings = settings
    report = _check(candidate, timeout)
    if report.health == Health.DOWN:
        saved = "left as it was" if existing is not None else "not saved"
        raise RegionSetupError(f"The cloud did not answer, so region {slug!r} was {saved}: {report.message}")

    with transaction.atomic():
        if existing is None:
            candidate.save()
            region, created, changed = candidate, True, []
        else:
            region = Region.objects.select_for_update().get(pk=existing.pk)
            before = region.settings or {}
            changed = sorted(key for key in set(before) | set(settings) if before.get(key) != settings.get(key))
            if name and name != region.name:
                changed.insert(0, "name")
                region.name = name
            region.settings = settings
            region.save(update_fields=["name", "settings"])
            created = False
    health.save_report(region, report)
    setup = RegionSetup(region, created, report, changed)
    _mirror_catalog(setup)
    return setup


def ensure_sandbox_region() -> RegionSetup:
    """The sandbox region (`sandbox`, "Sandbox"), made once; an existing one is left as its operators set it."""
    region, created = Region.objects.get_or_create(
        slug=SANDBOX_SLUG, defaults={"name": "Sandbox", "provider": Provider.SANDBOX, "settings": {}}
    )
    setup = RegionSetup(region, created, HealthReport(Health(region.health), region.health_message))
    _mirror_catalog(setup)
    return setup


def ensure_local_openstack_region(*, timeout: float = SEED_CHECK_TIMEOUT) -> RegionSetup:
    """The local OpenStack region (`local-openstack`) when `make openstack`'s clouds.yaml entry answers; raises
    RegionSetupError saying why not otherwise (quickly when nothing listens on its keystone port)."""
    clouds_file, cloud = local_openstack_clouds_file(), local_openstack_cloud()
    entry = read_cloud_entry(clouds_file, cloud)
    endpoint = auth_endpoint(entry)
    if endpoint is not None and not port_open(*endpoint):
        raise RegionSetupError(f"nothing answers at {endpoint[0]}:{endpoint[1]} (the keystone of {cloud!r}).")
    return add_openstack_region(
        LOCAL_OPENSTACK_SLUG, name="Local OpenStack", cloud=cloud, clouds_file=clouds_file, timeout=timeout
    )
