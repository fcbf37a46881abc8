"""An organisation's activity (its audit log): filters, a table with before → after changes, and a CSV export.

Owners and admins see it, and operators on a read-only visit; members and viewers are refused (403: they are
members, so the page's existence is no secret). The operators' all-organisations view reuses the filters and table.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import django_filters
import django_tables2 as tables
from asgiref.sync import sync_to_async
from django import forms
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from console.core.htmx import render_page
from console.core.tables import FilterSet, Table, build_table
from tenants.audit_labels import action_choices, action_label, action_tone, field_label, value_label
from tenants.models import AuditEvent, Organization, Project, Role
from tenants.scope import OrganizationScope, organization_view

CSV_CHUNK = 1000
# A cell that starts with one of these is a formula to a spreadsheet: prefix it so that it stays text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AuditEventFilter(FilterSet):
    """Filters of an activity list. With an organisation: its projects; without (operators): any organisation."""

    action = django_filters.ChoiceFilter(label=gettext_lazy("Action"), empty_label=gettext_lazy("All actions"))
    actor = django_filters.CharFilter(
        field_name="actor_email", lookup_expr="icontains", label=gettext_lazy("Actor e-mail")
    )
    organization = django_filters.CharFilter(method="filter_organization", label=gettext_lazy("Organization"))
    project = django_filters.ModelChoiceFilter(
        queryset=Project.objects.none(), label=gettext_lazy("Project"), empty_label=gettext_lazy("All projects")
    )
    date_from = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label=gettext_lazy("From"), widget=DateInput()
    )
    date_to = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label=gettext_lazy("To"), widget=DateInput()
    )
    q = django_filters.CharFilter(
        method="search_target",
        label=gettext_lazy("Target"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name, e-mail or id")}),
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(
        self, data: Any = None, queryset: QuerySet | None = None, *, organization: Organization | None = None
    ) -> None:
        super().__init__(data, queryset=queryset)
        self.filters["action"].extra["choices"] = action_choices()
        if organization is not None:
            self.filters["project"].queryset = Project.objects.filter(organization=organization).order_by("name")
            del self.filters["organization"]
        else:
            del self.filters["project"]

    def search_target(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(target_repr__icontains=value) | Q(target_id=value))

    def filter_organization(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(organization__name__icontains=value) | Q(organization__slug__icontains=value))


# Where a change was made from (`AuditEvent.via`), as the activity page shows it (the CSV keeps the codes).
VIA_LABELS: dict[str, str | Promise] = {
    "console": gettext_lazy("Console"),
    "api": gettext_lazy("API"),
    "backoffice": gettext_lazy("Back office"),
    "operator": gettext_lazy("Operator visit"),
    "system": gettext_lazy("System"),
}


def via_label(via: str) -> str:
    return str(VIA_LABELS.get(via, via))


def _value(value: Any, key: str = "") -> str:
    """A before/after value as a person reads it: roles by their label, yes/no for flags."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "role" and value in Role.values:
        return str(Role(value).label)
    if isinstance(value, str):
        return value_label(key, value)
    return json.dumps(value, ensure_ascii=False)


def diff_rows(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) for the fields the event's before or after mentions, in their order; when it has
    both, only the fields whose value changed."""
    before, after = event.before or {}, event.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    if before and after:
        keys = [key for key in keys if before.get(key) != after.get(key)] or keys
    return [
        (field_label(key), _value(before.get(key), key) if before else "", _value(after.get(key), key) if after else "")
        for key in keys
    ]


class AuditEventTable(Table):
    """Newest first, always: the order the (organization, -at) index serves; the table only grows."""

    at = tables.Column(verbose_name=gettext_lazy("Time"))
    organization = tables.Column(accessor="organization__name", verbose_name=gettext_lazy("Organization"), default="—")
    actor = tables.Column(accessor="actor_email", verbose_name=gettext_lazy("Actor"), empty_values=())
    action = tables.Column(verbose_name=gettext_lazy("Action"))
    target = tables.Column(
        accessor="target_repr",
        verbose_name=gettext_lazy("Target"),
        default="—",
        attrs={"td": {"class": "console-activity-target"}},
    )
    project = tables.Column(accessor="project__name", verbose_name=gettext_lazy("Project"), default="—")
    ip = tables.Column(verbose_name=gettext_lazy("IP address · via"), empty_values=())
    changes = tables.Column(
        verbose_name=gettext_lazy("Changes"), empty_values=(), attrs={"td": {"class": "console-activity-changes"}}
    )

    empty_title = gettext_lazy("No activity yet")
    empty_description = gettext_lazy(
        "Changes to the organization, its projects and members, and operators' visits appear here."
    )

    class Meta(Table.Meta):
        orderable = False
        attrs = {"class": "table table-vcenter card-table console-activity"}

    def render_at(self, value: Any) -> str:
        local = timezone.localtime(value)
        return format_html(
            '<time class="text-nowrap" datetime="{}" title="{}">{}<div class="text-secondary small">{}</div></time>',
            local.isoformat(),
            date_format(local, "Y-m-d H:i:s"),  # the exact time, sortable, in the tooltip
            date_format(local, "DATE_FORMAT"),  # "2026년 11월 26일" / "Nov. 26, 2026"
            date_format(local, "H:i:s"),  # 24-hour with seconds reads the same in every language
        )

    def render_organization(self, value: str, record: AuditEvent) -> str:
        url = reverse("operator_organization", kwargs={"pk": record.organization_id})
        return format_html('<a href="{}">{}</a>', url, value)

    def render_actor(self, record: AuditEvent) -> str:
        badge = format_html('<span class="badge bg-purple-lt">{}</span>', _("Operator")) if record.operator else ""
        email = record.actor_email or _("System")
        return format_html('<div class="console-activity-actor" title="{}">{}</div>{}', email, email, badge)

    def render_action(self, value: str) -> str:
        return format_html(
            '<span class="badge bg-{}-lt" data-action="{}">{}</span>', action_tone(value), value, action_label(value)
        )

    def render_target(self, value: str, record: AuditEvent) -> str:
        kind = target_kind(record.target_type)
        if not kind:
            return value
        return format_html('<div class="text-break">{}</div><div class="text-secondary small">{}</div>', value, kind)

    def render_ip(self, record: AuditEvent) -> str:
        return format_html(
            '<div class="text-nowrap">{}</div><div class="text-secondary small">{}</div>',
            record.ip or "—",
            via_label(record.via),
        )

    def render_changes(self, record: AuditEvent) -> str:
        rows = diff_rows(record)
        if not rows:
            return "—"
        lines = []
        for name, before, after in rows:
            if record.before and record.after:
                change = format_html(
                    '<del class="console-diff-before">{}</del> <span aria-hidden="true">→</span>'
                    '<span class="visually-hidden">{}</span> <ins class="console-diff-after">{}</ins>',
                    before,
                    _("changed to"),
                    after,
                )
            elif record.after:
                change = format_html('<ins class="console-diff-after">{}</ins>', after)
            else:
                change = format_html('<del class="console-diff-before">{}</del>', before)
            lines.append(format_html('<li><span class="console-diff-key">{}</span> {}</li>', name, change))
        return format_html(
            '<details class="console-diff"><summary>{}</summary><ul class="console-diff-list">{}</ul></details>',
            summary(rows),
            format_html_join("", "{}", ((line,) for line in lines)),
        )


def target_kind(target_type: str) -> str:
    """The target's kind in the active language ("tenants.project" → "Project"); its name if no model has it."""
    if not target_type:
        return ""
    try:
        return capfirst(apps.get_model(target_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return target_type.rsplit(".", 1)[-1]


def summary(rows: list[tuple[str, str, str]]) -> str:
    names = ", ".join(name for name, _before, _after in rows[:3])
    return names + ("…" if len(rows) > 3 else "")


# The organisation's activity page -----------------------------------------------------------------------------------


def _ensure_may_see_activity(scope: OrganizationScope) -> None:
    if not (scope.operator_visit or scope.can(Role.ADMIN)):
        raise PermissionDenied(_("Only owners and admins can see the organization's activity."))


def _filtered_events(request: HttpRequest, scope: OrganizationScope) -> AuditEventFilter:
    rows = AuditEvent.objects.all() if scope.operator_visit else AuditEvent.objects.for_user(request.user)
    rows = rows.filter(organization=scope.organization).select_related("project")
    return AuditEventFilter(request.GET, queryset=rows, organization=scope.organization)


@organization_view
@require_GET
def activity(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    _ensure_may_see_activity(scope)
    filters = _filtered_events(request, scope)
    table = build_table(
        request,
        AuditEventTable,
        filters.qs,
        filters=filters,
        exclude=("organization",),
        caption=_("Activity of %(org)s") % {"org": scope.organization.name},
    )
    export_url = reverse("activity_export", kwargs={"org_slug": scope.organization.slug})
    query = request.GET.copy()
    for name in ("page", "per_page", "sort"):
        query.pop(name, None)
    if query:
        export_url += "?" + query.urlencode()
    return render_page(
        request,
        "tenants/activity/activity.html",
        {"scope": scope, "organization": scope.organization, "table": table, "export_url": export_url},
        partials={"table": "tenants/activity/_table.html"},
    )


# CSV export ---------------------------------------------------------------------------------------------------------

CSV_HEADER = (
    "time",
    "actor_email",
    "operator",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target",
    "project",
    "project_id",
    "ip",
    "via",
    "before",
    "after",
)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_row(event: AuditEvent) -> list[str]:
    return [
        _cell(value)
        for value in (
            timezone.localtime(event.at).isoformat(),
            event.actor_email,
            "yes" if event.operator else "no",
            event.action,
            action_label(event.action),
            event.target_type,
            event.target_id,
            event.target_repr,
            event.project.name if event.project else "",
            event.project_id or "",
            event.ip or "",
            event.via,
            json.dumps(event.before, ensure_ascii=False) if event.before is not None else "",
            json.dumps(event.after, ensure_ascii=False) if event.after is not None else "",
        )
    ]


class _Line:
    """A file-like object whose write returns what was written: the csv writer then yields lines."""

    def write(self, value: str) -> str:
        return value


def _chunks(queryset: QuerySet) -> Iterator[list[AuditEvent]]:
    """The rows newest first, CSV_CHUNK at a time by keyset (at, id): no server-side cursor, no OFFSET."""
    last: AuditEvent | None = None
    while True:
        page = queryset.order_by("-at", "-id")
        if last is not None:
            page = page.filter(Q(at__lt=last.at) | Q(at=last.at, id__lt=last.id))
        rows = list(page[:CSV_CHUNK])
        if rows:
            yield rows
        if len(rows) < CSV_CHUNK:
            return
        last = rows[-1]


def _csv_lines(queryset: QuerySet, render_row: Callable[[AuditEvent], list[str]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    for rows in _chunks(queryset):
        yield "".join(writer.writerow(render_row(event)) for event in rows)


async def _csv_lines_async(queryset: QuerySet, render_row: Callable[[AuditEvent], list[str]]) -> AsyncIterator[str]:
    """The same lines for an ASGI server, which buffers a synchronous iterator whole; each chunk in a thread."""
    lines = _csv_lines(queryset, render_row)
    take = sync_to_async(next, thread_sensitive=True)
    while (line := await take(lines, None)) is not None:
        yield line


def csv_response(request: HttpRequest, queryset: QuerySet, filename: str) -> StreamingHttpResponse:
    """A streamed UTF-8 CSV (with a BOM, for Excel) of the queryset's events, newest first."""
    if isinstance(request, ASGIRequest):
        content: Any = _csv_lines_async(queryset, csv_row)
    else:
        content = _csv_lines(queryset, csv_row)
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@organization_view
@require_GET
def activity_export(request: HttpRequest, scope: OrganizationScope) -> StreamingHttpResponse:
    _ensure_may_see_activity(scope)
    filters = _filtered_events(request, scope)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(request, filters.qs, f"{scope.organization.slug}-activity-{stamp}.csv")
