"""A project's server list (/o/<org>/<project>/servers/): a table with server-side pagination, sorting, filters and
search, counts above it, row actions and bulk operations, kept live by the project's channel.

Reads come from the mirror (never the cloud), in a constant number of queries whatever the page size. Every change
goes through `infra.actions.servers`, one server at a time, each in its own transaction: a bulk operation reports
what it did and what it skipped, and why. What a page offers comes from `infra.servers_ui`, so the list, the detail
page and the live fragments agree:

    live_row(scope, server)   # the row as this page's table draws it for `scope`, plus the counts (hx-swap-oob)

Bulk operations ask first: the bulk form posts without `confirmed` and gets the confirmation naming the servers
(a partial for htmx, a page without JavaScript); its button posts again with `confirmed=1`. A row's own menu asks in
the page's dialog (`data-confirm`) and posts with `confirmed=1` at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template import Context
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from console.core import live
from console.core.htmx import TABLE_PARTIAL, htmx_target, render_page
from console.core.tables import FilterSet, Table, build_table
from console.templatetags.console import icon
from infra import servers_ui
from infra.actions import servers as actions
from infra.backoffice_catalog import format_ram
from infra.models import Flavor, Image, Region, Server
from infra.providers.base import TRANSITIONAL, Status
from infra.templatetags.servers import server_status
from tenants.policy import ActionError, NotFound
from tenants.scope import ProjectScope, project_view
from tenants.views.base import actor_for

NARROW = {"th": {"class": "w-1"}, "td": {"class": "w-1 text-nowrap"}}

# The quick operations a row's menu offers (form operations open the server's page).
ROW_OPS = ("start", "stop", "reboot", "confirm_resize", "revert_resize", "delete")
ROW_LINKS = ("resize", "rebuild")
# The operations the bulk form offers (those marked `bulk` in servers_ui.OPS), in this order.
BULK_OPS = tuple(name for name in ("start", "stop", "reboot", "delete") if servers_ui.OPS[name].bulk)
# How many names a bulk confirmation spells out before "and N more".
NAMED_IN_CONFIRMATION = 10

# --- status groups and counts ----------------------------------------------------------------------------------------

IN_PROGRESS = frozenset(TRANSITIONAL | {Status.VERIFY_RESIZE})  # waiting for the cloud, or for the user's answer


@dataclass(frozen=True)
class StatusGroup:
    key: str
    label: Any
    statuses: frozenset[Status]


STATUS_GROUPS: tuple[StatusGroup, ...] = (
    StatusGroup("running", pgettext_lazy("servers", "Running"), frozenset({Status.ACTIVE})),
    StatusGroup("stopped", pgettext_lazy("servers", "Stopped"), frozenset({Status.STOPPED})),
    StatusGroup("in_progress", pgettext_lazy("servers", "In progress"), IN_PROGRESS),
    StatusGroup("error", pgettext_lazy("servers", "Error"), frozenset({Status.ERROR})),
)
GROUPS_BY_KEY = {group.key: group for group in STATUS_GROUPS}


def status_choices() -> list[tuple[Any, Any]]:
    """The status filter's choices: the groups the counts show, then every status a live server can have."""
    statuses = [(status.value, status.label) for status in Status if status != Status.DELETED]
    return [
        (gettext_lazy("Groups"), [(group.key, group.label) for group in STATUS_GROUPS]),
        (gettext_lazy("Statuses"), statuses),
    ]


def filter_status(queryset: QuerySet[Server], value: str) -> QuerySet[Server]:
    """A group key ("running", "in_progress"…) or one status ("BUILDING")."""
    group = GROUPS_BY_KEY.get(value)
    return queryset.filter(status__in=group.statuses if group else [value])


def server_counts(rows: QuerySet[Server]) -> dict[str, int]:
    """Total and per-group numbers of `rows`, in one aggregate query.

    Exact and never stale, read fresh for every page and live update: for a project's live servers (`rows`) it is an
    index-only scan of infra_server_live_status (project, status, …; partial on live servers), about 2 ms for 20,000
    servers (bench/server_pages.py), and the list's paginator takes its total from it instead of counting again
    (`known_count`). No cache to keep right: a status changes in many places (actions, tasks, the reconciler) and a
    cached count would need every one of them to invalidate it. It grows with the project (a scan of its index
    entries): if one project ever holds millions, a counter table maintained by a statement-level trigger is the
    next step."""
    aggregates = {"total": Count("pk")}
    for group in STATUS_GROUPS:
        aggregates[group.key] = Count("pk", filter=Q(status__in=group.statuses))
    return rows.order_by().aggregate(**aggregates)


# --- the table -------------------------------------------------------------------------------------------------------


def server_url(scope: ProjectScope, server: Server) -> str:
    """The server's page: the list's URL plus its id (infra/urls_server.py), without a reverse() per row."""
    return f"{_url('servers', scope)}{server.pk}/"


def _url(name: str, scope: ProjectScope) -> str:
    return _project_url(name, scope.organization.slug, scope.project.slug, get_script_prefix())


@lru_cache(maxsize=4096)
def _project_url(name: str, org_slug: str, project_slug: str, prefix: str) -> str:
    """reverse() of a project's page, remembered: a list asks for the same few URLs in every row (about 40 µs each)."""
    return reverse(name, kwargs={"org_slug": org_slug, "project_slug": project_slug})


PROGRESS: dict[str, Any] = {
    Status.PENDING: gettext_lazy("Waiting for its turn…"),
    Status.CREATING: gettext_lazy("Sending the request to the cloud…"),
    Status.BUILDING: gettext_lazy("The cloud is building it…"),
    Status.STARTING: gettext_lazy("Booting…"),
    Status.STOPPING: gettext_lazy("Shutting down…"),
    Status.REBOOTING: gettext_lazy("Restarting…"),
    Status.RESIZING: gettext_lazy("Moving to the new instance type…"),
    Status.VERIFY_RESIZE: gettext_lazy("Check it, then confirm or revert the type change."),
    Status.REVERTING: gettext_lazy("Going back to the former instance type…"),
    Status.REBUILDING: gettext_lazy("Reinstalling from the image…"),
    Status.DELETING: gettext_lazy("Releasing its disk and addresses…"),
}


def progress_text(server: Server) -> str:
    """A line under a waiting server's badge saying what the console waits for."""
    return str(PROGRESS.get(server.status, ""))


def flavor_summary(flavor: Flavor) -> str:
    """ "2 vCPU · 4 GiB RAM" """
    return _("%(vcpus)s vCPU · %(ram)s RAM") % {"vcpus": flavor.vcpus, "ram": format_ram(flavor.ram_mb)}


def created_cell(server: Server) -> str:
    local = localtime(server.created_at)
    by = server.created_by.display_name if server.created_by else ""
    return format_html(
        '<time datetime="{}" class="text-nowrap" title="{}">{}</time>{}',
        local.isoformat(),
        date_format(local, "DATETIME_FORMAT"),
        date_format(local, "SHORT_DATE_FORMAT"),
        format_html('<div class="small text-secondary text-truncate cell-truncate">{}</div>', by) if by else "",
    )


def _row_attrs() -> dict[str, Callable[[Server], str]]:
    return {
        "id": lambda record: f"server-row-{record.pk}",
        "data-status": lambda record: record.status,
        "class": lambda record: "server-row-deleted text-secondary" if record.status == Status.DELETED else "",
    }


class ServerFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name or IP address")}),
    )
    status = django_filters.ChoiceFilter(
        method="filter_by_status", label=gettext_lazy("Status"), empty_label=gettext_lazy("All"), choices=()
    )
    region = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Region"), empty_label=gettext_lazy("All"), queryset=Region.objects.none()
    )
    flavor = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Instance type"), empty_label=gettext_lazy("All"), queryset=Flavor.objects.none()
    )
    image = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Image"), empty_label=gettext_lazy("All"), queryset=Image.objects.none()
    )

    class Meta:
        model = Server
        fields: list[str] = []

    def __init__(self, *args: Any, scope: ProjectScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["status"].extra["choices"] = status_choices()
        mine = Server.objects.filter(project=scope.project).live().order_by()
        # Choices from the project's own data: the regions it uses and the types and images its servers have.
        self.filters["region"].queryset = Region.objects.filter(cloud_projects__project=scope.project).distinct()
        self.filters["flavor"].queryset = Flavor.objects.filter(pk__in=mine.values("flavor")).order_by(
            "vcpus", "ram_mb", "name"
        )
        self.filters["image"].queryset = Image.objects.filter(pk__in=mine.values("image")).order_by("name")

    def search(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        return servers_ui.search_name_or_address(queryset, value)

    def filter_by_status(self, queryset: QuerySet[Server], name: str, value: str) -> QuerySet[Server]:
        return filter_status(queryset, value)


def status_cell(server: Server, badges: dict[tuple[str, str], str] | None = None) -> str:
    """The status badge, then the error's message or what the console waits for. `badges` memoises the badges of
    one page (a badge depends only on the status and, in ERROR, the message)."""
    key = (server.status, server.error_message if server.status == Status.ERROR else "")
    badge = badges.get(key) if badges is not None else None
    if badge is None:
        badge = server_status(server)
        if badges is not None:
            badges[key] = badge
    if server.status == Status.ERROR and server.error_message:
        line = format_html(
            '<div class="small text-danger text-truncate cell-truncate" title="{}">{}</div>',
            server.error_message,
            server.error_message,
        )
    else:
        progress = progress_text(server)
        line = format_html('<div class="small text-secondary text-nowrap">{}</div>', progress) if progress else ""
    return format_html("{}{}", badge, line)


def addresses_cell(server: Server) -> str:
    """Each address on its line, public ones marked."""
    if not server.addresses:
        return format_html('<span class="text-secondary">{}</span>', "—")
    public = _("public")
    return format_html_join(
        "",
        '<div class="text-nowrap"><code class="small" translate="no">{}</code>{}</div>',
        (
            (
                address.get("ip", ""),
                format_html(' <span class="badge bg-azure-lt">{}</span>', public)
                if address.get("kind") == "floating"
                else "",
            )
            for address in server.addresses
        ),
    )


def flavor_cell(flavor: Flavor) -> str:
    return format_html(
        '<div class="text-nowrap" translate="no">{}</div><div class="small text-secondary text-nowrap">{}</div>',
        flavor.name,
        flavor_summary(flavor),
    )


class ServerTable(servers_ui.QuickRows, Table):
    select = tables.Column(verbose_name="", orderable=False, empty_values=(), attrs=NARROW)
    name = tables.Column(verbose_name=gettext_lazy("Name"), order_by=("name", "created_at"))
    status = tables.Column(verbose_name=gettext_lazy("Status"), order_by=("status", "-created_at"))
    addresses = tables.Column(verbose_name=gettext_lazy("IP addresses"), orderable=False, empty_values=())
    flavor = tables.Column(
        verbose_name=gettext_lazy("Instance type"), order_by=("flavor__vcpus", "flavor__ram_mb", "flavor__name", "name")
    )
    image = tables.Column(verbose_name=gettext_lazy("Image"), orderable=False, empty_values=())
    region = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("region__name", "name"))
    keypair = tables.Column(verbose_name=gettext_lazy("Key pair"), orderable=False, empty_values=())
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), order_by=("created_at", "id"))
    actions = tables.Column(
        verbose_name="",
        orderable=False,
        empty_values=(),
        attrs={"th": {"class": "w-1"}, "td": {"class": "text-end w-1"}},
    )

    empty_icon = "server"
    empty_title = gettext_lazy("No instances yet")
    empty_description = gettext_lazy("Launch instances to run your software in the cloud.")
    filtered_empty_description = gettext_lazy("No instance matches these filters. Change or clear them to see more.")

    class Meta(Table.Meta):
        row_attrs = _row_attrs()

    def __init__(
        self,
        *args: Any,
        scope: ProjectScope,
        live: bool = False,
        next_url: str = "",
        row_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.scope, self.live, self.next_url = scope, live, next_url
        self.row_count = row_count  # how many rows the filters leave, when the counts already say (no COUNT query)
        self.can_operate = servers_ui.can_operate(scope)
        self.bulk_url = _url("servers_bulk", scope)
        self.list_url = _url("servers", scope)
        # What many rows share, drawn once per table: cells of a type, an image, a region; status badges.
        self._shared: dict[Any, str] = {}
        self._badges: dict[tuple[str, str], str] = {}
        self._menus: dict[Any, str] = {}  # row menus by shape (row_menu's `drawn`)
        exclude = [] if self.can_operate else ["select", "actions"]
        super().__init__(*args, exclude=exclude, **kwargs)
        if self.can_operate:
            self.columns["select"].column.verbose_name = render_to_string("infra/servers/_col_select_all.html")
            self.columns["actions"].column.verbose_name = format_html(
                '<span class="visually-hidden">{}</span>', _("Actions")
            )

    def _once(self, key: Any, draw: Callable[[], str]) -> str:
        if key not in self._shared:
            self._shared[key] = draw()
        return self._shared[key]

    def render_select(self, record: Server) -> str:
        if record.status == Status.DELETED:
            return ""
        return format_html(
            '<input type="checkbox" class="form-check-input m-0 align-middle" name="ids" value="{}" form="bulk-form"'
            ' data-select-row aria-label="{}"><input type="hidden" name="page_ids" value="{}" form="bulk-form">',
            record.pk,
            _("Select %(name)s") % {"name": record.name},
            record.pk,
        )

    def render_name(self, record: Server) -> str:
        # The server's page is the list's URL plus its id (infra/urls_server.py): no reverse() per row.
        locked = self._once(
            "locked",
            lambda: format_html(
                '<span class="text-secondary" title="{}">{}<span class="visually-hidden">{}</span></span>',
                _("Locked: unlock it before changing it."),
                icon("lock", "icon-sm"),
                _("Locked"),
            ),
        )
        return format_html(
            '<div class="d-flex align-items-center gap-1"><a class="fw-medium console-name" href="{}{}/"'
            ' translate="no">{}</a>{}</div>',
            self.list_url,
            record.pk,
            record.name,
            locked if record.locked else "",
        )

    def render_status(self, record: Server) -> str:
        return status_cell(record, self._badges)

    def render_addresses(self, record: Server) -> str:
        return addresses_cell(record)

    def render_flavor(self, record: Server) -> str:
        return self._once(("flavor", record.flavor_id), lambda: flavor_cell(record.flavor))

    def render_image(self, record: Server) -> str:
        if record.image is None:
            return format_html('<span class="text-secondary">{}</span>', _("Deleted image"))
        image = record.image
        return self._once(
            ("image", image.pk),
            lambda: format_html(
                '<div class="d-flex align-items-center gap-2">{}<span class="text-nowrap">{}</span></div>',
                render_to_string("infra/catalog/_logo.html", {"logo": image.shown_logo}),
                image.display_name,
            ),
        )

    def render_region(self, record: Server) -> str:
        return self._once(
            ("region", record.region_id),
            lambda: format_html('<span class="text-nowrap">{}</span>', record.region.name),
        )

    def render_keypair(self, record: Server) -> str:
        name = record.keypair.name if record.keypair else record.keypair_name
        return format_html('<span class="text-nowrap">{}</span>', name) if name else "—"

    def render_created_at(self, record: Server) -> str:
        return created_cell(record)

    def render_actions(self, record: Server) -> str:
        if record.status == Status.DELETED:
            return ""
        return row_menu(
            self.scope,
            record,
            live=self.live,
            next_url=self.next_url,
            request=getattr(self, "request", None),
            drawn=self._menus,
        )


# Stand-ins for a server's id and name while a row menu is drawn once for every row of the same shape.
_MENU_PK = "0f0f0f0f-menu-4d1d-8c0d-5e7e7e7e7e7e"
_MENU_NAME = "menu-server-name-0f0f0f0f"


def row_menu(
    scope: ProjectScope,
    server: Server,
    *,
    live: bool,
    next_url: str,
    request: HttpRequest | None,
    drawn: dict[Any, str] | None = None,
) -> str:
    """A row's operations menu: the quick operations (each behind the confirmation its op defines) and links to the
    server's page for the form operations. A live row's (`live`, no request) is the same menu without a CSRF token:
    console.js fills in the page's when a form is submitted.

    With `drawn` (a dict the caller keeps for one page), rows whose menus have the same shape (the same operations,
    each enabled or refused for the same reason) share one drawing: it is drawn once with stand-ins for the id and
    the name, which each row then replaces with its own (escaped as the template would). A page of 25 rows draws its
    few shapes, not 25 menus."""
    offers = servers_ui.offers(scope, server, names=ROW_OPS)
    links = servers_ui.offers(scope, server, names=ROW_LINKS)
    if drawn is None:
        return _draw_row_menu(scope, server.pk, server.name, offers, links, live, next_url, request)
    shape = (
        tuple((o.name, o.enabled, str(o.reason)) for o in offers),
        tuple((o.name, o.enabled, str(o.reason)) for o in links),
    )
    if shape not in drawn:
        drawn[shape] = _draw_row_menu(scope, _MENU_PK, _MENU_NAME, offers, links, live, next_url, request)
    return mark_safe(  # noqa: S308 (the drawing is the template's output; the name is escaped as it would be)
        drawn[shape].replace(_MENU_PK, str(server.pk)).replace(_MENU_NAME, escape(server.name))
    )


def _draw_row_menu(
    scope: ProjectScope,
    pk: object,
    name: str,
    offers: list[servers_ui.Offer],
    links: list[servers_ui.Offer],
    live: bool,
    next_url: str,
    request: HttpRequest | None,
) -> str:
    list_url = _url("servers", scope)
    context = {
        "server": {"pk": pk, "name": name},
        "offers": [
            {
                "name": offer.name,
                "op": offer.op,
                "enabled": offer.enabled,
                "reason": offer.reason,
                "confirm": str(offer.op.confirm) % {"name": name} if offer.op.confirm else "",
            }
            for offer in offers
        ],
        "links": links,
        "bulk_url": _url("servers_bulk", scope),
        "detail_url": f"{list_url}{pk}/",
        "next": next_url or list_url,
        "live": live,
    }
    return render_to_string("infra/servers/_col_actions.html", context, request=request)


# --- the page --------------------------------------------------------------------------------------------------------


def launch_refusal(scope: ProjectScope) -> str:
    """Why the page's "Launch instances" is disabled ("" when it is not)."""
    if scope.organization.is_suspended:
        return _(
            "%(org)s is suspended: new instances cannot be launched. Existing ones can be stopped and deleted."
        ) % {"org": scope.organization.name}
    return ""


def shown_url(request: HttpRequest, list_url: str) -> str:
    """The list URL the browser shows (filters, sort and page), for forms to come back to: the request's own, or for
    an htmx request (a table partial) the page it came from."""
    if htmx_target(request) is not None or request.headers.get("HX-Request") == "true":
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.path == list_url:
            return f"{current.path}?{current.query}" if current.query else current.path
    path = request.get_full_path()
    return path if path.startswith(list_url) else list_url


def known_count(filters: ServerFilter, counts: dict[str, int]) -> int | None:
    """How many rows the list's filters leave, when the counts above the table already say: none set (the total), or
    only the status set to one of the counts' groups."""
    if not filters.form.is_valid():
        return None
    chosen = {name: value for name, value in filters.form.cleaned_data.items() if value not in (None, "")}
    if not chosen:
        return counts["total"]
    if set(chosen) == {"status"} and chosen["status"] in GROUPS_BY_KEY:
        return counts[chosen["status"]]
    return None


def _page_context(request: HttpRequest, scope: ProjectScope) -> dict[str, Any]:
    rows = servers_ui.project_servers(scope).defer("user_data")
    counts = project_counts(scope)
    list_url = _url("servers", scope)
    here = shown_url(request, list_url)
    filters = ServerFilter(request.GET, queryset=rows, scope=scope)
    table = build_table(
        request,
        ServerTable,
        filters.qs,
        filters=filters,
        order_by=("-created_at",),
        paginator_class=servers_ui.ReversiblePaginator,
        caption=_("Instances"),
        scope=scope,
        next_url=here,
        row_count=known_count(filters, counts),
    )
    return {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "table": table,
        "counts": counts,
        "count_links": count_links(list_url, counts),
        "can_operate": servers_ui.can_operate(scope),
        "launch_url": _url("server_launch", scope),
        "launch_refusal": launch_refusal(scope),
        "bulk_url": _url("servers_bulk", scope),
        "bulk_ops": [servers_ui.OPS[name] for name in BULK_OPS],
        "live_url": live.socket_path(scope.project),
        "here": here,
        "list_url": list_url,
    }


def count_links(list_url: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The counts above the table, each a link that filters the list by its group."""
    links = [{"key": "total", "label": _("Total"), "n": counts["total"], "url": list_url}]
    for group in STATUS_GROUPS:
        links.append(
            {"key": group.key, "label": group.label, "n": counts[group.key], "url": f"{list_url}?status={group.key}"}
        )
    return links


@project_view
@require_http_methods(["GET", "HEAD"])
def servers(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    context = _page_context(request, scope)
    return render_page(
        request,
        "infra/servers/list.html",
        context,
        partials={"table": TABLE_PARTIAL, "server-counts": "infra/servers/_list_counts.html"},
    )


# --- bulk ------------------------------------------------------------------------------------------------------------


def done_message(op: str, n: int) -> str:
    """What a bulk operation did, as a sentence ("3 instances are stopping.")."""
    messages_by_op = {
        "start": ngettext("%(n)s instance is starting.", "%(n)s instances are starting.", n),
        "stop": ngettext("%(n)s instance is stopping.", "%(n)s instances are stopping.", n),
        "reboot": ngettext("%(n)s instance is rebooting.", "%(n)s instances are rebooting.", n),
        "reboot_hard": ngettext("%(n)s instance is rebooting.", "%(n)s instances are rebooting.", n),
        "confirm_resize": ngettext(
            "The type change of %(n)s instance is being confirmed.",
            "The type changes of %(n)s instances are being confirmed.",
            n,
        ),
        "revert_resize": ngettext(
            "The type change of %(n)s instance is being reverted.",
            "The type changes of %(n)s instances are being reverted.",
            n,
        ),
        "lock": ngettext("%(n)s instance is locked.", "%(n)s instances are locked.", n),
        "unlock": ngettext("%(n)s instance is unlocked.", "%(n)s instances are unlocked.", n),
        "delete": ngettext("%(n)s instance is being deleted.", "%(n)s instances are being deleted.", n),
    }
    return messages_by_op[op] % {"n": n}


def confirmation_question(op: str, names: list[str], total: int) -> str:
    """ "Delete 3 instances: web-1, web-2, web-3?" (the first few names, then how many more)."""
    shown = ", ".join(names[:NAMED_IN_CONFIRMATION])
    if total > NAMED_IN_CONFIRMATION:
        shown = ngettext(
            "%(names)s and %(more)s more", "%(names)s and %(more)s more", total - NAMED_IN_CONFIRMATION
        ) % {
            "names": shown,
            "more": total - NAMED_IN_CONFIRMATION,
        }
    questions = {
        "start": ngettext("Start %(n)s instance: %(names)s?", "Start %(n)s instances: %(names)s?", total),
        "stop": ngettext("Stop %(n)s instance: %(names)s?", "Stop %(n)s instances: %(names)s?", total),
        "reboot": ngettext("Reboot %(n)s instance: %(names)s?", "Reboot %(n)s instances: %(names)s?", total),
        "delete": ngettext("Delete %(n)s instance: %(names)s?", "Delete %(n)s instances: %(names)s?", total),
    }
    return questions[op] % {"n": total, "names": shown}


def confirmation_button(op: str, total: int) -> str:
    buttons = {
        "start": ngettext("Start %(n)s instance", "Start %(n)s instances", total),
        "stop": ngettext("Stop %(n)s instance", "Stop %(n)s instances", total),
        "reboot": ngettext("Reboot %(n)s instance", "Reboot %(n)s instances", total),
        "delete": ngettext("Delete %(n)s instance", "Delete %(n)s instances", total),
    }
    return buttons[op] % {"n": total}


def _ids(request: HttpRequest) -> list[uuid.UUID]:
    """The posted server ids (every row of the page when "select all on this page" is ticked); bad ones ignored."""
    field = "page_ids" if request.POST.get("all_on_page") else "ids"
    ids = []
    for value in request.POST.getlist(field):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


def _back(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    """Back to the list the user came from (its filters, sort and page kept), or the project's list."""
    list_url = _url("servers", scope)
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    if target and safe and target.startswith(list_url):
        return redirect(target)
    return redirect(list_url)


def perform(scope: ProjectScope, actor: Any, op: str, chosen: Iterable[Server]) -> tuple[list[Server], list[str]]:
    """Run `op` on each server, each through its action in its own transaction: (done, why each other was skipped)."""
    done, skipped = [], []
    for server in chosen:
        try:
            done.append(actions.run_one_click(actor=actor, server=server, op=op))
        except NotFound:
            skipped.append(_("%(name)s is no longer there.") % {"name": server.name})
        except ActionError as error:
            skipped.append(str(error.message))
    return done, skipped


@require_POST
@project_view
def servers_bulk(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    """One operation on the chosen servers of the project (ids of other projects are simply not found)."""
    if not servers_ui.can_operate(scope):
        raise PermissionDenied(_("Your role does not allow operating instances."))
    op_name = request.POST.get("op", "")
    op = servers_ui.OPS.get(op_name)
    if op is None or op.form:
        return HttpResponseBadRequest(_("Unknown operation."))
    ids = _ids(request)
    chosen = list(servers_ui.project_servers(scope).filter(pk__in=ids).order_by("name", "created_at")) if ids else []
    is_htmx = htmx_target(request) is not None
    if not chosen:
        if is_htmx:
            return render(request, "infra/servers/_list_bulk_confirm.html", {"nothing": True})
        messages.warning(request, _("Select one or more instances first."))
        return _back(request, scope)
    if request.POST.get("confirmed") != "1":
        if op_name not in BULK_OPS:
            return HttpResponseBadRequest(_("Unknown operation."))
        context = bulk_confirmation(request, scope, op, chosen)
        if is_htmx:
            return render(request, "infra/servers/_list_bulk_confirm.html", context)
        return render(request, "infra/servers/list.html", {**context, "confirm_page": True})
    done, skipped = perform(scope, actor_for(request), op_name, chosen)
    if done:
        messages.success(request, done_message(op_name, len(done)))
    if skipped:
        report = _("Skipped: %(reasons)s") % {"reasons": " ".join(skipped)}
        (messages.warning if done else messages.error)(request, report)
    return _back(request, scope)


def bulk_confirmation(request: HttpRequest, scope: ProjectScope, op: servers_ui.Op, chosen: list[Server]) -> dict:
    names = [server.name for server in chosen]
    foreseen = [(server, servers_ui.refusal(scope, server, op)) for server in chosen]
    return {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "op": op,
        "chosen": chosen,
        "question": confirmation_question(op.name, names, len(chosen)),
        "detail": op.confirm_detail,
        "button": confirmation_button(op.name, len(chosen)),
        "foreseen_skips": [(server, reason) for server, reason in foreseen if reason],
        "bulk_url": _url("servers_bulk", scope),
        "next": request.POST.get("next", "") or _url("servers", scope),
    }


# --- live ------------------------------------------------------------------------------------------------------------

CREATING = frozenset({Status.PENDING, Status.CREATING, Status.BUILDING})


def project_counts(scope: ProjectScope) -> dict[str, int]:
    """The counts above the project's list (its page, the project's overview, and live updates: `infra.live` reads
    them once per event for every watcher)."""
    return server_counts(servers_ui.project_servers(scope))


def live_row(scope: ProjectScope, server: Server, *, counts: dict[str, int] | None = None) -> str | None:
    """The server's row as this scope's list draws it, and the counts above the table (`counts`, else read now), as
    hx-swap-oob fragments. A server still being created that the page does not show raises the "new instances" notice
    instead. Rendered once for all the watchers of a role and language (infra.live): nothing in it is the user's."""
    table = ServerTable([server], scope=scope, live=True)
    table.context = Context({"table": table})  # what TemplateColumn cells read (render_table does this for pages)
    if counts is None:
        counts = project_counts(scope)
    list_url = _url("servers", scope)
    return render_to_string(
        "infra/servers/_list_live.html",
        {
            "table": table,
            "row": table.rows[0],
            "counts": counts,
            "count_links": count_links(list_url, counts),
            "new": server.status in CREATING,
            "server": server,
            "list_url": list_url,
            "oob": True,
        },
    )
