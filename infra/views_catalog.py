"""A project's catalog pages: the images and instance types offered in each region open to tenants, in the
operators' order, the defaults marked. Every member reads them (viewers too); operators visit read-only.

Only what is offered appears: shown to tenants, still in the cloud, and (images) active (`infra.catalog`).
"""

from __future__ import annotations

import django_tables2 as tables
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import Table, build_table
from infra.backoffice_catalog import NUMBER, format_disk, format_ram
from infra.catalog import offered_flavors, offered_images, open_regions
from infra.models import Region
from tenants.scope import ProjectScope, project_view


class OfferedFlavorTable(Table):
    name = tables.TemplateColumn(
        template_name="infra/catalog/_col_flavor_name.html", verbose_name=gettext_lazy("Instance type")
    )
    vcpus = tables.Column(verbose_name=gettext_lazy("vCPU"), attrs=NUMBER)
    ram_mb = tables.Column(verbose_name=gettext_lazy("RAM"), attrs=NUMBER)
    disk_gb = tables.Column(verbose_name=gettext_lazy("Disk"), attrs=NUMBER)

    empty_icon = "cpu"
    empty_title = gettext_lazy("No instance types in this region yet")
    empty_description = gettext_lazy("The operators have not offered any here yet. Try another region.")

    class Meta(Table.Meta):
        orderable = False  # the operators' order

    def render_vcpus(self, value: int) -> str:
        return str(value)

    def render_ram_mb(self, value: int) -> str:
        return format_ram(value)

    def render_disk_gb(self, value: int) -> str:
        return format_disk(value)


class OfferedImageTable(Table):
    name = tables.TemplateColumn(template_name="infra/catalog/_col_image_name.html", verbose_name=gettext_lazy("Image"))
    os = tables.TemplateColumn(
        template_name="infra/catalog/_col_image_os.html",
        verbose_name=gettext_lazy("Operating system"),
        empty_values=(),
    )
    size_bytes = tables.Column(verbose_name=gettext_lazy("Size"), attrs=NUMBER)
    min_disk_gb = tables.Column(verbose_name=gettext_lazy("Min. disk"), attrs=NUMBER)
    min_ram_mb = tables.Column(verbose_name=gettext_lazy("Min. RAM"), attrs=NUMBER)

    empty_icon = "disc"
    empty_title = gettext_lazy("No images in this region yet")
    empty_description = gettext_lazy("The operators have not offered any here yet. Try another region.")

    class Meta(Table.Meta):
        orderable = False  # the operators' order

    def render_size_bytes(self, value: int) -> str:
        return filesizeformat(value) if value else "—"

    def render_min_disk_gb(self, value: int) -> str:
        return _("%(n)s GiB") % {"n": value} if value else "—"

    def render_min_ram_mb(self, value: int) -> str:
        return format_ram(value) if value else "—"


def _chosen_region(request: HttpRequest, regions: list[Region]) -> Region | None:
    """The region of `?region=<slug>` among the open ones, else the first open region."""
    wanted = request.GET.get("region", "")
    return next((region for region in regions if region.slug == wanted), regions[0] if regions else None)


def _catalog_page(request: HttpRequest, scope: ProjectScope, kind: str) -> HttpResponse:
    regions = list(open_regions())
    region = _chosen_region(request, regions)
    table = None
    if region is not None:
        if kind == "flavors":
            table = build_table(request, OfferedFlavorTable, offered_flavors(region), caption=_("Instance types"))
        else:
            table = build_table(request, OfferedImageTable, offered_images(region), caption=_("Images"))
    context = {
        "scope": scope,
        "project": scope.project,
        "organization": scope.organization,
        "region_links": [(other, f"{request.path}?region={other.slug}") for other in regions],
        "region": region,
        "kind": kind,
        "table": table,
        "tenant_view": True,
    }
    return render_page(request, "infra/catalog/tenant_list.html", context, partials={"table": TABLE_PARTIAL})


@project_view
@require_GET
def images(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    return _catalog_page(request, scope, "images")


@project_view
@require_GET
def flavors(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    return _catalog_page(request, scope, "flavors")
