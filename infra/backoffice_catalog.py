"""The operators' catalog pages (/operators/catalog/…): each region's instance types and images, as the reconciler
mirrors them from the cloud, with what operators curate — shown to tenants or hidden, the order tenants see, labels
(image: display name, operating system, version, logo) and one default of each per region.

Only operators get these pages; anyone else signed in gets 404. Every change is an action of
`infra.actions.catalog` (audited); the pages read the database only.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, Table, build_table
from infra.actions import catalog as actions
from infra.catalog import all_flavors, all_images
from infra.models import Flavor, Image, ImageLogo, Region
from tenants.audit import Actor
from tenants.policy import ActionError
from tenants.views.backoffice import operator_required

VIA = "backoffice"
KIND_MODELS: dict[str, type[Flavor] | type[Image]] = {"flavors": Flavor, "images": Image}
NUMBER = {"th": {"class": "text-end"}, "td": {"class": "text-end text-nowrap"}}
NARROW = {"th": {"class": "w-1"}, "td": {"class": "text-nowrap"}}


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, via=VIA, operator=True)


def format_ram(ram_mb: int) -> str:
    """RAM as people read it: "512 MiB", "2 GiB", "1.5 GiB"."""
    if ram_mb < 1024:
        return _("%(n)s MiB") % {"n": intcomma(ram_mb)}
    gib = ram_mb / 1024
    return _("%(n)s GiB") % {"n": f"{gib:g}" if gib == int(gib) or gib >= 10 else f"{gib:.1f}"}


def format_disk(disk_gb: int) -> str:
    return _("%(n)s GiB") % {"n": intcomma(disk_gb)} if disk_gb else _("No local disk")


# Filters -------------------------------------------------------------------------------------------------------------

IN_CLOUD = "live"
DELETED = "deleted"


class CatalogFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name or label")}),
    )
    shown = django_filters.ChoiceFilter(
        method="filter_shown",
        label=gettext_lazy("Tenants"),
        empty_label=gettext_lazy("All"),
        choices=(("yes", gettext_lazy("Shown")), ("no", gettext_lazy("Hidden"))),
    )
    cloud = django_filters.ChoiceFilter(
        method="filter_cloud",
        label=gettext_lazy("In the cloud"),
        empty_label=gettext_lazy("All"),
        choices=((IN_CLOUD, gettext_lazy("Present")), (DELETED, gettext_lazy("Deleted in the cloud"))),
    )

    search_fields: tuple[str, ...] = ("name", "label", "provider_id")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(query)

    def filter_shown(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(visible=value == "yes")

    def filter_cloud(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(deleted_at__isnull=value == IN_CLOUD)


class FlavorFilter(CatalogFilter):
    class Meta:
        model = Flavor
        fields: list[str] = []


class ImageFilter(CatalogFilter):
    search_fields = ("name", "label", "provider_id", "os_distro", "os_label", "os_version", "version_label")

    class Meta:
        model = Image
        fields: list[str] = []


# Tables --------------------------------------------------------------------------------------------------------------


def _row_class(record: Flavor | Image) -> str:
    return "catalog-deleted text-secondary opacity-75" if record.deleted_at is not None else ""


class CatalogTable(Table):
    select = tables.TemplateColumn(
        template_name="infra/catalog/_col_select.html", verbose_name="", orderable=False, attrs=NARROW
    )
    position = tables.TemplateColumn(
        template_name="infra/catalog/_col_order.html",
        verbose_name=gettext_lazy("Order"),
        order_by=("position", "name"),
        attrs=NARROW,
    )
    visible = tables.TemplateColumn(
        template_name="infra/catalog/_col_visible.html",
        verbose_name=gettext_lazy("Shown to tenants"),
        order_by=("-visible", "position", "name"),
    )
    is_default = tables.TemplateColumn(
        template_name="infra/catalog/_col_default.html",
        verbose_name=pgettext_lazy("catalog", "Default"),
        order_by=("-is_default", "position", "name"),
    )
    edit = tables.TemplateColumn(
        template_name="infra/catalog/_col_edit.html", verbose_name="", orderable=False, attrs=NARROW
    )

    class Meta(Table.Meta):
        row_attrs = {"class": _row_class, "data-id": lambda record: str(record.pk)}


class FlavorTable(CatalogTable):
    name = tables.TemplateColumn(
        template_name="infra/catalog/_col_flavor_name.html",
        verbose_name=gettext_lazy("Instance type"),
        order_by=("name",),
    )
    vcpus = tables.Column(verbose_name=gettext_lazy("vCPU"), attrs=NUMBER, order_by=("vcpus", "ram_mb", "name"))
    ram_mb = tables.Column(verbose_name=gettext_lazy("RAM"), attrs=NUMBER, order_by=("ram_mb", "vcpus", "name"))
    disk_gb = tables.Column(verbose_name=gettext_lazy("Disk"), attrs=NUMBER, order_by=("disk_gb", "name"))

    empty_icon = "cpu"
    empty_title = gettext_lazy("No instance types in this region")
    empty_description = gettext_lazy("They appear here once the reconciler has listed the region's cloud.")

    class Meta(CatalogTable.Meta):
        sequence = ("select", "position", "name", "vcpus", "ram_mb", "disk_gb", "visible", "is_default", "edit")

    def render_vcpus(self, value: int) -> str:
        return intcomma(value)

    def render_ram_mb(self, value: int) -> str:
        return format_ram(value)

    def render_disk_gb(self, value: int) -> str:
        return format_disk(value)


class ImageTable(CatalogTable):
    name = tables.TemplateColumn(
        template_name="infra/catalog/_col_image_name.html",
        verbose_name=gettext_lazy("Image"),
        order_by=("label", "name"),
    )
    os = tables.TemplateColumn(
        template_name="infra/catalog/_col_image_os.html",
        verbose_name=gettext_lazy("Operating system"),
        order_by=("os_label", "os_distro", "name"),
        empty_values=(),
    )
    size_bytes = tables.Column(verbose_name=gettext_lazy("Size"), attrs=NUMBER, order_by=("size_bytes", "name"))
    minimum = tables.Column(
        verbose_name=gettext_lazy("Needs at least"),
        empty_values=(),
        order_by=("min_disk_gb", "min_ram_mb", "name"),
        attrs=NUMBER,
    )
    status = tables.TemplateColumn(
        template_name="infra/catalog/_col_image_status.html", verbose_name=gettext_lazy("Status")
    )

    empty_icon = "disc"
    empty_title = gettext_lazy("No images in this region")
    empty_description = gettext_lazy("They appear here once the reconciler has listed the region's cloud.")

    class Meta(CatalogTable.Meta):
        sequence = (
            "select",
            "position",
            "name",
            "os",
            "size_bytes",
            "minimum",
            "status",
            "visible",
            "is_default",
            "edit",
        )

    def render_size_bytes(self, value: int) -> str:
        return filesizeformat(value) if value else "—"

    def render_minimum(self, record: Image) -> str:
        if not (record.min_disk_gb or record.min_ram_mb):
            return "—"
        disk = _("%(n)s GiB disk") % {"n": intcomma(record.min_disk_gb)} if record.min_disk_gb else ""
        ram = _("%(ram)s RAM") % {"ram": format_ram(record.min_ram_mb)} if record.min_ram_mb else ""
        return format_html('{}<div class="text-secondary small">{}</div>', disk, ram)


# Pages ---------------------------------------------------------------------------------------------------------------


def _region_or_404(region_slug: str) -> Region:
    return get_object_or_404(Region, slug=region_slug)


def _item_or_404(region: Region, kind: str, item_id: uuid.UUID) -> Flavor | Image:
    return get_object_or_404(KIND_MODELS[kind], region=region, pk=item_id)


def list_url(region: Region, kind: str) -> str:
    return reverse(f"operator_catalog_{kind}", kwargs={"region_slug": region.slug})


@operator_required
@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """The first region's instance types (or an empty state when there is no region yet)."""
    region = Region.objects.order_by("name", "slug").first()
    if region is not None:
        return redirect(list_url(region, "flavors"))
    return render(request, "infra/catalog/operator_empty.html", {})


def _catalog_page(request: HttpRequest, region_slug: str, kind: str) -> HttpResponse:
    region = _region_or_404(region_slug)
    if kind == "flavors":
        filters: CatalogFilter = FlavorFilter(request.GET, queryset=all_flavors(region))
        table: CatalogTable = build_table(
            request, FlavorTable, filters.qs, filters=filters, caption=_("Instance types")
        )
    else:
        filters = ImageFilter(request.GET, queryset=all_images(region))
        table = build_table(request, ImageTable, filters.qs, filters=filters, caption=_("Images"))
    table.region = region
    table.kind = kind
    live = KIND_MODELS[kind].objects.live().filter(region=region)
    counts = {"shown": live.filter(visible=True).count(), "live": live.count()}
    context = {
        "region": region,
        "region_links": [(other, list_url(other, kind)) for other in Region.objects.order_by("name", "slug")],
        "kind": kind,
        "table": table,
        "counts": counts,
        "default_item": live.filter(is_default=True).first(),
        "bulk_url": reverse(f"operator_catalog_{kind}_bulk", kwargs={"region_slug": region.slug}),
        "here": request.get_full_path(),
        "list_base": list_url(region, kind),
    }
    return render_page(request, "infra/catalog/operator_list.html", context, partials={"table": TABLE_PARTIAL})


@operator_required
@require_GET
def flavors(request: HttpRequest, region_slug: str) -> HttpResponse:
    return _catalog_page(request, region_slug, "flavors")


@operator_required
@require_GET
def images(request: HttpRequest, region_slug: str) -> HttpResponse:
    return _catalog_page(request, region_slug, "images")


def _back(request: HttpRequest, region: Region, kind: str) -> HttpResponse:
    """Back to the list the operator came from (its filters, sort and page kept), or the region's list."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    if target and safe and target.startswith(list_url(region, kind)):
        return redirect(target)
    return redirect(list_url(region, kind))


OPS = ("show", "hide", "up", "down", "default", "undefault")


@operator_required
@require_POST
def item_op(request: HttpRequest, region_slug: str, kind: str, item_id: uuid.UUID, op: str) -> HttpResponse:
    """One change to one item: show, hide, move up or down, make (or stop being) the default."""
    if op not in OPS:
        raise Http404
    region = _region_or_404(region_slug)
    item = _item_or_404(region, kind, item_id)
    actor = _actor(request)
    name = str(item)
    try:
        if op in ("show", "hide"):
            actions.set_visible(actor=actor, item=item, visible=op == "show")
            done = _("%(name)s is shown to tenants.") if op == "show" else _("%(name)s is hidden from tenants.")
        elif op in ("up", "down"):
            actions.move(actor=actor, item=item, offset=-1 if op == "up" else 1)
            done = ""
        elif op == "default":
            actions.set_default(actor=actor, item=item)
            done = _("%(name)s is now the default of %(region)s.")
        else:
            actions.clear_default(actor=actor, item=item)
            done = _("%(name)s is no longer the default.")
    except ActionError as error:
        messages.error(request, error.message)
    else:
        if done:
            messages.success(request, done % {"name": name, "region": region.name})
    return _back(request, region, kind)


@operator_required
@require_POST
def bulk(request: HttpRequest, region_slug: str, kind: str) -> HttpResponse:
    """Show or hide the selected items."""
    region = _region_or_404(region_slug)
    op = request.POST.get("op")
    if op not in ("show", "hide"):
        raise Http404
    ids = []
    for value in request.POST.getlist("ids"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    if not ids:
        messages.warning(request, _("Select one or more rows first."))
        return _back(request, region, kind)
    model = "flavor" if kind == "flavors" else "image"
    changed = actions.set_visible_many(actor=_actor(request), region=region, kind=model, ids=ids, visible=op == "show")
    messages.success(
        request,
        (_("%(n)s shown to tenants.") if op == "show" else _("%(n)s hidden from tenants.")) % {"n": intcomma(changed)},
    )
    return _back(request, region, kind)


# Editing labels ------------------------------------------------------------------------------------------------------


class FlavorLabelForm(forms.Form):
    label = forms.CharField(
        label=gettext_lazy("Label"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("Shown to tenants beside the name, e.g. “General purpose” or “Compute optimised”."),
    )


class ImageLabelForm(forms.Form):
    label = forms.CharField(
        label=gettext_lazy("Display name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Leave blank to show the cloud's name."),
    )
    os_label = forms.CharField(
        label=gettext_lazy("Operating system"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("Leave blank to show the cloud's value."),
    )
    version_label = forms.CharField(
        label=gettext_lazy("Version"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("Leave blank to show the cloud's value."),
    )
    logo = forms.ChoiceField(label=gettext_lazy("Logo"), required=False)

    def __init__(self, *args: Any, image: Image, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        suggested = image.suggested_logo
        if suggested:
            automatic = _("Automatic: %(logo)s") % {"logo": ImageLogo(suggested).label}
        else:
            automatic = _("Automatic: none")
        self.fields["logo"].choices = [("", automatic), *ImageLogo.choices]
        self.fields["os_label"].widget.attrs["placeholder"] = image.os_distro
        self.fields["version_label"].widget.attrs["placeholder"] = image.os_version
        self.fields["label"].widget.attrs["placeholder"] = image.name


@operator_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, region_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    region = _region_or_404(region_slug)
    item = _item_or_404(region, kind, item_id)
    posted = request.POST if request.method == "POST" else None
    if isinstance(item, Flavor):
        form: forms.Form = FlavorLabelForm(posted, initial={"label": item.label})
    else:
        initial = {key: getattr(item, key) for key in ("label", "os_label", "version_label", "logo")}
        form = ImageLabelForm(posted, initial=initial, image=item)
    status = 200
    if posted is not None:
        if form.is_valid():
            try:
                if isinstance(item, Flavor):
                    actions.update_flavor(actor=_actor(request), flavor=item, **form.cleaned_data)
                else:
                    actions.update_image(actor=_actor(request), image=item, **form.cleaned_data)
            except ActionError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(name)s saved.") % {"name": item.name})
                return redirect(list_url(region, kind))
        status = 400
    context = {"region": region, "kind": kind, "item": item, "form": form, "back_url": list_url(region, kind)}
    return render(request, "infra/catalog/operator_edit.html", context, status=status)
