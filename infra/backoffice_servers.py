"""The operators' all-tenants server list (/operators/servers/): every tenant's live servers, newest first, searched
by tenant (organisation name or slug, project name) and by name or IP address, filtered by region and status.

It holds 100,000 rows and more, so it never counts them and never skips rows with an OFFSET: pages are keyset pages
(`keyset_page`) over (created_at, id), the order of the index infra_server_live_all. "Older" continues after the
page's last row (`?after=`), "newer" before its first (`?before=`), "oldest" reads the index from its other end
(`?last=1`): each page is one query of at most per_page + 1 rows, the first as the last. Each row links to the
tenant's server page, which operators visit read-only (the visit is audit-logged). Only operators get this page;
anyone else signed in gets 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, Table, per_page_from
from infra import servers_ui
from infra.models import Region, Server
from infra.views_servers import addresses_cell, created_cell, filter_status, flavor_cell, status_cell, status_choices
from tenants.views.backoffice import operator_required


def all_servers() -> QuerySet[Server]:
    """Every tenant's live servers with what the columns show (one query per page)."""
    return (
        Server.objects.live()
        .select_related("project__organization", "region", "flavor", "created_by")
        .defer("user_data")
    )


# --- keyset pages ----------------------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE_PARAMETERS = ("after", "before", "last")


def position(server: Server) -> str:
    """A row's place in the order: its creation time in microseconds and its id ("1732692449344331-8a52d94f…")."""
    return f"{(server.created_at - EPOCH) // timedelta(microseconds=1)}-{server.pk.hex}"


def parse_position(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) of a `position`, or None for anything else (a page link typed by hand starts over)."""
    micros, _dash, pk = (value or "").partition("-")
    try:
        return EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=pk)
    except (ValueError, OverflowError):
        return None


def older_than(at: tuple[datetime, uuid.UUID]) -> Q:
    """(created_at, id) < at, written so that the index's range starts at `at` (created_at <= …) and the rows of the
    same microsecond are told apart by id."""
    created_at, pk = at
    return Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(id__lt=pk))


def newer_than(at: tuple[datetime, uuid.UUID]) -> Q:
    created_at, pk = at
    return Q(created_at__gte=created_at) & (Q(created_at__gt=created_at) | Q(id__gt=pk))


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, newest first, and where the pages around it start (query parameters to add)."""

    rows: list[Server]
    newer: dict[str, str] | None  # None: this is the first page
    older: dict[str, str] | None  # None: this is the last page
    is_first: bool
    is_last: bool


def keyset_page(rows: QuerySet[Server], params: Mapping[str, str], per_page: int) -> KeysetPage:
    """The page that `params` (`after`, `before` or `last`) asks of `rows`, newest first; the first page without
    them. A page that would come out short at either end is that end's full page instead."""
    newest_first, oldest_first = ("-created_at", "-id"), ("created_at", "id")
    if params.get("last"):
        found = list(rows.order_by(*oldest_first)[: per_page + 1])
        shown = found[:per_page][::-1]
        return _page(shown, newer=len(found) > per_page, older=False)
    before = parse_position(params.get("before"))
    if before is not None:
        found = list(rows.filter(newer_than(before)).order_by(*oldest_first)[: per_page + 1])
        if len(found) <= per_page:  # back at the top
            return keyset_page(rows, {}, per_page)
        return _page(found[:per_page][::-1], newer=True, older=True)
    after = parse_position(params.get("after"))
    found = list((rows.filter(older_than(after)) if after else rows).order_by(*newest_first)[: per_page + 1])
    if after is not None and not found:  # past the end (rows went away): the oldest page
        return keyset_page(rows, {"last": "1"}, per_page)
    return _page(found[:per_page], newer=after is not None, older=len(found) > per_page)


def _page(shown: list[Server], *, newer: bool, older: bool) -> KeysetPage:
    return KeysetPage(
        rows=shown,
        newer={"before": position(shown[0])} if newer and shown else None,
        older={"after": position(shown[-1])} if older and shown else None,
        is_first=not newer,
        is_last=not older,
    )


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
        return servers_ui.search_name_or_address(queryset, value)

    def filter_by_status(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        return filter_status(queryset, value)


class OperatorServerTable(servers_ui.QuickRows, Table):
    organization = tables.Column(
        verbose_name=gettext_lazy("Organization"), accessor="project__organization", orderable=False
    )
    project = tables.Column(verbose_name=gettext_lazy("Project"), orderable=False)
    name = tables.Column(verbose_name=gettext_lazy("Name"), orderable=False)
    status = tables.Column(verbose_name=gettext_lazy("Status"), orderable=False)
    region = tables.Column(verbose_name=gettext_lazy("Region"), orderable=False)
    flavor = tables.Column(verbose_name=gettext_lazy("Instance type"), orderable=False)
    addresses = tables.Column(verbose_name=gettext_lazy("IP addresses"), orderable=False, empty_values=())
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), orderable=False)

    footer_template = "infra/servers/_keyset_pages.html"

    empty_icon = "server"
    empty_title = gettext_lazy("No instances")
    empty_description = gettext_lazy("Tenants' instances appear here as soon as they launch them.")
    filtered_empty_description = gettext_lazy("No instance matches these filters. Change or clear them to see more.")

    def __init__(self, *args: Any, keyset: KeysetPage, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keyset = keyset
        # What many rows share, drawn once per page: an organisation's cell, a project's list URL, a type, a region.
        self._shared: dict[Any, str] = {}
        self._badges: dict[tuple[str, str], str] = {}

    def _once(self, key: Any, draw: Callable[[], str]) -> str:
        if key not in self._shared:
            self._shared[key] = draw()
        return self._shared[key]

    def render_organization(self, record: Server) -> str:
        organization = record.project.organization

        def draw() -> str:
            url = reverse("operator_organization", kwargs={"pk": organization.pk})
            suspended = (
                format_html(' <span class="badge bg-red-lt">{}</span>', _("Suspended"))
                if organization.is_suspended
                else ""
            )
            return format_html(
                '<a class="text-nowrap" href="{}">{}</a>{}<div class="small text-secondary" translate="no">{}</div>',
                url,
                organization.name,
                suspended,
                organization.slug,
            )

        return self._once(("organization", organization.pk), draw)

    def render_project(self, record: Server) -> str:
        return format_html('<span class="text-nowrap">{}</span>', record.project.name)

    def render_name(self, record: Server) -> str:
        project = record.project
        servers_url = self._once(
            ("servers", project.pk),
            lambda: reverse("servers", kwargs={"org_slug": project.organization.slug, "project_slug": project.slug}),
        )
        # The server's page is its project's list URL plus its id (infra/urls_server.py): no reverse() per row.
        return format_html(
            '<a class="fw-medium console-name" href="{}{}/" translate="no">{}</a>', servers_url, record.pk, record.name
        )

    def render_status(self, record: Server) -> str:
        return status_cell(record, self._badges)

    def render_region(self, record: Server) -> str:
        return self._once(
            ("region", record.region_id),
            lambda: format_html('<span class="text-nowrap">{}</span>', record.region.name),
        )

    def render_flavor(self, record: Server) -> str:
        return self._once(("flavor", record.flavor_id), lambda: flavor_cell(record.flavor))

    def render_addresses(self, record: Server) -> str:
        return addresses_cell(record)

    def render_created_at(self, record: Server) -> str:
        return created_cell(record)


def page_links(request: HttpRequest, page: KeysetPage) -> dict[str, str | None]:
    """The footer's links, each keeping the filters and the page size: newest, newer, older, oldest."""
    kept = request.GET.copy()
    for name in PAGE_PARAMETERS:
        kept.pop(name, None)

    def link(extra: dict[str, str] | None) -> str | None:
        if extra is None:
            return None
        query = kept.copy()
        query.update(extra)
        return "?" + query.urlencode()

    return {
        "newest": None if page.is_first else link({}),
        "newer": link(page.newer),
        "older": link(page.older),
        "oldest": None if page.is_last else link({"last": "1"}),
    }


@operator_required
@require_GET
def servers(request: HttpRequest) -> HttpResponse:
    """All tenants' live servers, newest first, without counting them: a keyset page (see the module's docstring)."""
    filters = OperatorServerFilter(request.GET, queryset=all_servers())
    per_page = per_page_from(request)
    page = keyset_page(filters.qs, request.GET, per_page)
    table = OperatorServerTable(page.rows, filters=filters, caption=_("Instances of all tenants"), keyset=page)
    table.request = request
    table.links = page_links(request, page)
    table.page_size = per_page
    return render_page(request, "infra/servers/operator_list.html", {"table": table}, partials={"table": TABLE_PARTIAL})
