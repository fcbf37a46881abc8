"""Reading the catalog: what tenants are offered in a region (the pages, the API and the launch wizard use these).

Operators curate each region's flavors and images (`infra.actions.catalog`): shown or hidden, their order, labels,
and one default of each. Tenants see only what is offered — shown, still in the cloud, and (images) active — in the
operators' order.
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from infra.models import Flavor, Image, Region

LIVE_FIRST = F("deleted_at").asc(nulls_first=True)


def open_regions() -> QuerySet[Region]:
    """The regions tenants may see and choose (open to tenants), by name."""
    return Region.objects.filter(enabled=True).order_by("name", "slug")


def offered_flavors(region: Region) -> QuerySet[Flavor]:
    """The instance types tenants see in the region, in the operators' order."""
    return Flavor.objects.offered().filter(region=region).order_by("position", "vcpus", "ram_mb", "disk_gb", "name")


def offered_images(region: Region) -> QuerySet[Image]:
    """The images tenants see in the region, in the operators' order."""
    return Image.objects.offered().filter(region=region).order_by("position", "name")


def default_flavor(region: Region) -> Flavor | None:
    """The region's default instance type, if an operator chose one and it is still offered."""
    return offered_flavors(region).filter(is_default=True).first()


def default_image(region: Region) -> Image | None:
    """The region's default image, if an operator chose one and it is still offered."""
    return offered_images(region).filter(is_default=True).first()


def all_flavors(region: Region) -> QuerySet[Flavor]:
    """Every instance type of the region (operators: hidden and deleted ones too), live ones first, in order."""
    return Flavor.objects.filter(region=region).order_by(LIVE_FIRST, "position", "vcpus", "ram_mb", "name")


def all_images(region: Region) -> QuerySet[Image]:
    """Every image of the region (operators: hidden and deleted ones too), live ones first, in order."""
    return Image.objects.filter(region=region).order_by(LIVE_FIRST, "position", "name")
