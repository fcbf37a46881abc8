"""Reading and enforcing quotas: a project's limits in a region (its own, else the region's default), what it uses
there, and the check every creating action makes under a lock on the project's quota row.

    with transaction.atomic():
        quotas.ensure_within(project, region, {Resource.INSTANCES: 1, Resource.CORES: 2, Resource.RAM_MB: 2048})
        Server.objects.create(...)

`ensure_within` locks the (project, region) row first, then counts, so two launches at the edge of a limit run one
after the other and the second sees the first (PostgreSQL's READ COMMITTED gives each statement a fresh snapshot).
Usage counts every resource not yet gone, ERROR ones too, as OpenStack does.

Resources of later issues (networks, volumes…) register how to count them with `register_usage`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from infra.models import CloudProject, ProjectQuota, Region, RegionQuotaDefaults, Resource, Server
from infra.models.quotas import OPENSTACK_DEFAULTS, UNLIMITED
from tenants.models import Project
from tenants.policy import ActionError

UsageCounter = Callable[[Project, Region], Mapping[str, int]]
_counters: list[UsageCounter] = []

COMPUTE = (Resource.INSTANCES, Resource.CORES, Resource.RAM_MB)


class OverQuota(ActionError):
    """The change needs more than a quota allows; the message says by how much."""

    code = "quota_exceeded"
    status = 409


def register_usage(counter: UsageCounter) -> None:
    """Count some resources of a project in a region: `counter(project, region) -> {resource: used}`."""
    _counters.append(counter)


def _servers_usage(project: Project, region: Region) -> dict[str, int]:
    totals = (
        Server.objects.filter(project=project, region=region)
        .live()
        .aggregate(
            instances=Count("pk"),
            cores=Coalesce(Sum("flavor__vcpus"), 0),
            ram_mb=Coalesce(Sum("flavor__ram_mb"), 0),
        )
    )
    return {key: int(value) for key, value in totals.items()}


register_usage(_servers_usage)


def usage(project: Project, region: Region) -> dict[str, int]:
    """What the project uses in the region, per resource (0 for what nothing counts yet)."""
    used = dict.fromkeys(Resource.values, 0)
    for counter in _counters:
        used.update(counter(project, region))
    return used


def region_defaults(region: Region) -> RegionQuotaDefaults:
    """The region's default limits (made, with OpenStack's defaults, the first time they are asked for)."""
    defaults, _created = RegionQuotaDefaults.objects.get_or_create(region=region)
    return defaults


_FETCH = object()  # `limits(row=…)` not given: read the row


def limits(project: Project, region: Region, row: ProjectQuota | object | None = _FETCH) -> dict[str, int]:
    """The project's limit of each resource in the region: its own where an operator set one, else the default.
    `row` is the project's quota row there when the caller has it (None: it has none)."""
    if row is _FETCH:
        row = ProjectQuota.objects.filter(project=project, region=region).first()
    defaults = region_defaults(region)
    values = {}
    for resource in Resource.values:
        own = getattr(row, resource) if row is not None else None
        values[resource] = own if own is not None else getattr(defaults, resource)
    return values


def quota_row(project: Project, region: Region, *, lock: bool = False) -> ProjectQuota:
    """The project's quota row in the region, made if missing; locked for this transaction with `lock`."""
    row = ProjectQuota.objects.filter(project=project, region=region).first()
    if row is None:
        try:
            with transaction.atomic():
                row = ProjectQuota.objects.create(project=project, region=region)
        except IntegrityError:  # made by a concurrent request a moment ago
            row = ProjectQuota.objects.get(project=project, region=region)
    if lock:
        row = ProjectQuota.objects.select_for_update().get(pk=row.pk)
    return row


def _amount(resource: str, value: int) -> str:
    if resource == Resource.RAM_MB:
        return _("%(gib)s GiB of RAM") % {"gib": _gib(value)}
    if resource == Resource.GIGABYTES:
        return _("%(count)s GiB of volume storage") % {"count": value}
    return str(value)  # the sentence names the resource first: "Instances in Sandbox: this needs 3, …, 1 short."


def _gib(mib: int) -> str:
    gib = mib / 1024
    return f"{gib:.0f}" if gib == int(gib) else f"{gib:.1f}"


def shortfall(project: Project, region: Region, wants: Mapping[str, int]) -> list[str]:
    """What the change would exceed, one sentence per resource (empty: it fits). No lock: for a live check in a
    form; the action checks again with `ensure_within`."""
    return _shortfall(limits(project, region), usage(project, region), wants, region)


def _shortfall(
    limit: Mapping[str, int], used: Mapping[str, int], wants: Mapping[str, int], region: Region
) -> list[str]:
    problems = []
    for resource, wanted in wants.items():
        resource = str(resource)
        cap = limit[resource]
        if wanted <= 0 or cap == UNLIMITED:
            continue
        have = used.get(resource, 0)
        if have + wanted > cap:
            problems.append(
                _(
                    "%(resource)s in %(region)s: this needs %(wanted)s, %(used)s of %(limit)s are in use, so it is "
                    "%(short)s short."
                )
                % {
                    "resource": Resource(resource).label,
                    "region": region.name,
                    "wanted": _amount(resource, wanted),
                    "used": _amount(resource, have) if resource == Resource.RAM_MB else have,
                    "limit": _amount(resource, cap) if resource == Resource.RAM_MB else cap,
                    "short": _amount(resource, have + wanted - cap),
                }
            )
    return problems


def ensure_within(project: Project, region: Region, wants: Mapping[str, int]) -> ProjectQuota:
    """Lock the project's quota row in the region and refuse (OverQuota) a change that needs more than its limits.
    Call inside the transaction that creates the resources, before creating them."""
    row = quota_row(project, region, lock=True)
    problems = _shortfall(limits(project, region, row), usage(project, region), wants, region)
    if problems:
        raise OverQuota(
            _("Not enough quota. %(problems)s Ask for more on the Quotas page.") % {"problems": " ".join(problems)}
        )
    return row


def server_needs(flavor: object, count: int = 1) -> dict[str, int]:
    """What `count` servers of a flavor need."""
    return {
        Resource.INSTANCES: count,
        Resource.CORES: flavor.vcpus * count,
        Resource.RAM_MB: flavor.ram_mb * count,
    }


@dataclass(frozen=True)
class QuotaLine:
    """One row of a quota table: a resource, what is used and the limit (-1: unlimited)."""

    resource: Resource
    used: int
    limit: int
    custom: bool  # the project has its own limit (not the region's default)

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED

    @property
    def percent(self) -> int:
        if self.unlimited or self.limit <= 0:
            return 0 if self.unlimited or self.used == 0 else 100
        return min(100, round(self.used * 100 / self.limit))

    @property
    def tone(self) -> str:
        """ok below 75 %, warn up to 90 %, full above (the bar's colour)."""
        return "full" if self.percent >= 90 else "warn" if self.percent >= 75 else "ok"

    @property
    def label(self) -> str:
        return _("RAM (GiB)") if self.resource == Resource.RAM_MB else str(self.resource.label)

    @property
    def used_display(self) -> str:
        return _gib(self.used) if self.resource == Resource.RAM_MB else str(self.used)

    @property
    def limit_display(self) -> str:
        if self.unlimited:
            return _("unlimited")
        return _gib(self.limit) if self.resource == Resource.RAM_MB else str(self.limit)


def lines(project: Project, region: Region, resources: Iterable[Resource] = tuple(Resource)) -> list[QuotaLine]:
    """The project's quota lines in one region."""
    row = ProjectQuota.objects.filter(project=project, region=region).first()
    return _region_quotas(project, region, row, resources).lines


@dataclass(frozen=True)
class RegionQuotas:
    region: Region
    lines: list[QuotaLine]
    pushed_at: object = None
    push_error: str = ""

    @property
    def compute(self) -> list[QuotaLine]:
        return [line for line in self.lines if line.resource in COMPUTE]

    @property
    def others(self) -> list[QuotaLine]:
        return [line for line in self.lines if line.resource not in COMPUTE]


def overview(project: Project, resources: Iterable[Resource] = tuple(Resource)) -> list[RegionQuotas]:
    """The project's quotas in each region it uses (has a cloud project in), by region name."""
    regions = [
        cp.region
        for cp in CloudProject.objects.live().filter(project=project).select_related("region").order_by("region__name")
    ]
    rows = {row.region_id: row for row in ProjectQuota.objects.filter(project=project)}
    return [_region_quotas(project, region, rows.get(region.pk), resources) for region in regions]


def _region_quotas(
    project: Project, region: Region, row: ProjectQuota | None, resources: Iterable[Resource]
) -> RegionQuotas:
    limit = limits(project, region, row)
    used = usage(project, region)
    return RegionQuotas(
        region=region,
        lines=[
            QuotaLine(
                resource=Resource(resource),
                used=used.get(resource, 0),
                limit=limit[resource],
                custom=row is not None and getattr(row, resource) is not None,
            )
            for resource in resources
        ],
        pushed_at=row.pushed_at if row is not None else None,
        push_error=row.push_error if row is not None else "",
    )


__all__ = [
    "COMPUTE",
    "OPENSTACK_DEFAULTS",
    "OverQuota",
    "QuotaLine",
    "RegionQuotas",
    "ensure_within",
    "limits",
    "lines",
    "overview",
    "quota_row",
    "region_defaults",
    "register_usage",
    "server_needs",
    "shortfall",
    "usage",
]
