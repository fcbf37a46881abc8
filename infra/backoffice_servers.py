"""The operators' all-tenants server list (/operators/servers/): every tenant's live servers, newest first, searched
by tenant (organisation name or slug, project name) and by name or IP address, filtered by region and status.

It will hold 100,000 rows and more, so it never counts them: pages go forward and back (LazyPaginator) and the page
costs the same few queries whatever its size. Each row links to the tenant's server page, which operators visit
read-only (the visit is audit-logged). Only operators get this page; anyone else signed in gets 404.
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, LazyPaginator, Table, build_table
from infra.models import Region, Server
from infra.views_servers import (
    created_cell,
    filter_status,
    flavor_summary,
    progress_text,
    search_name_or_address,
    status_choices,
)
from tenants.views.backoffice import operator_required


def all_servers() -> QuerySet[Server]:
    """Every tenant's live servers with what the columns show (one query per page)."""
    return Server.objects.live().select_related("project__organization", "region", "flavor", "created_by")


class OperatorServerFilter(FilterSet):
    tenant = django_filters.CharFilter(
        method="search_tenant",
        label=gettext_lazy("Tenant"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Organization or project")}),
    )
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Instance"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name or IP address")}),
    )
    region = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Region"), empty_label=gettext_lazy("All"), queryset=Region.objects.order_by("name")
    )
    status = django_filters.ChoiceFilter(
        method="filter_by_status", label=gettext_lazy("Status"), empty_label=gettext_lazy("All"), choices=()
    )

    class Meta:
        model = Server
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["status"].extra["choices"] = status_choices()

    def search_tenant(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        value = value.strip()
        return queryset.filter(
            Q(project__organization__name__icontains=value)
            | Q(project__organization__slug__icontains=value)
            | Q(project__name__icontains=value)
        )

    def search(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        return search_name_or_address(queryset, value)

    def filter_by_status(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        return filter_status(queryset, value)


class OperatorServerTable(Table):
    organization = tables.Column(
        verbose_name=gettext_lazy("Organization"), accessor="project__organization", orderable=False
    )
    project = tables.Column(verbose_name=gettext_lazy("Project"), orderable=False)
    name = tables.Column(verbose_name=gettext_lazy("Name"), orderable=False)
    status = tables.Column(verbose_name=gettext_lazy("Status"), orderable=False)
    region = tables.Column(verbose_name=gettext_lazy("Region"), orderable=False)
    flavor = tables.Column(verbose_name=gettext_lazy("Instance type"), orderable=False)
    addresses = tables.TemplateColumn(
        template_name="infra/servers/_col_addresses.html",
        verbose_name=gettext_lazy("IP addresses"),
        orderable=False,
        empty_values=(),
    )
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), orderable=False)

    empty_icon = "server"
    empty_title = gettext_lazy("No instances")
    empty_description = gettext_lazy("Tenants' instances appear here as soon as they launch them.")
    filtered_empty_description = gettext_lazy("No instance matches these filters. Change or clear them to see more.")

    def render_organization(self, record: Server) -> str:
        organization = record.project.organization
        url = reverse("operator_organization", kwargs={"pk": organization.pk})
        suspended = (
            format_html(' <span class="badge bg-red-lt">{}</span>', _("Suspended")) if organization.is_suspended else ""
        )
        return format_html(
            '<a class="text-nowrap" href="{}">{}</a>{}<div class="small text-secondary" translate="no">{}</div>',
            url,
            organization.name,
            suspended,
            organization.slug,
        )

    def render_project(self, record: Server) -> str:
        return format_html('<span class="text-nowrap">{}</span>', record.project.name)

    def render_name(self, record: Server) -> str:
        url = reverse(
            "server",
            kwargs={
                "org_slug": record.project.organization.slug,
                "project_slug": record.project.slug,
                "server_id": record.pk,
            },
        )
        return format_html('<a class="fw-medium text-break" href="{}" translate="no">{}</a>', url, record.name)

    def render_status(self, record: Server) -> str:
        return render_to_string("infra/servers/_col_status.html", {"record": record, "progress": progress_text(record)})

    def render_region(self, record: Server) -> str:
        return format_html('<span class="text-nowrap">{}</span>', record.region.name)

    def render_flavor(self, record: Server) -> str:
        return format_html(
            '<div class="text-nowrap" translate="no">{}</div><div class="small text-secondary text-nowrap">{}</div>',
            record.flavor.name,
            flavor_summary(record.flavor),
        )

    def render_created_at(self, record: Server) -> str:
        return created_cell(record)


@operator_required
@require_GET
def servers(request: HttpRequest) -> HttpResponse:
    """All tenants' live servers, newest first, without counting them."""
    filters = OperatorServerFilter(request.GET, queryset=all_servers().order_by("-created_at", "-pk"))
    table = build_table(
        request,
        OperatorServerTable,
        filters.qs,
        filters=filters,
        paginator_class=LazyPaginator,
        caption=_("Instances of all tenants"),
    )
    return render_page(request, "infra/servers/operator_list.html", {"table": table}, partials={"table": TABLE_PARTIAL})
