"""The operators' quota pages: the queue of quota increase requests (decide: approve or reject with a reason), a
project's own limits per region, and a region's default limits. Only operators; anyone else gets 404."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, Table, build_table
from infra import quotas
from infra.actions import quotas as actions
from infra.models import QuotaRequest, Region, Resource
from infra.models.quotas import UNLIMITED
from tenants.audit import Actor
from tenants.models import Project
from tenants.policy import ActionError
from tenants.views.backoffice import operator_required


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, via="backoffice", operator=True)


def _limit_display(value: int) -> str:
    return _("unlimited") if value == UNLIMITED else str(value)


# The queue ----------------------------------------------------------------------------------------------------------


class QuotaRequestFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Organization or project")}),
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), empty_label=gettext_lazy("All"), choices=QuotaRequest.Status.choices
    )
    region = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Region"),
        empty_label=gettext_lazy("All"),
        queryset=Region.objects.order_by("name"),
        to_field_name="slug",
    )

    class Meta:
        model = QuotaRequest
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(project__name__icontains=value)
            | Q(project__organization__name__icontains=value)
            | Q(project__organization__slug__icontains=value)
        )


class QuotaRequestTable(Table):
    created_at = tables.Column(verbose_name=gettext_lazy("Asked"), order_by=("created_at",))
    project = tables.Column(
        verbose_name=gettext_lazy("Project"), order_by=("project__organization__name", "project__name")
    )
    region = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("region__name",))
    resource = tables.Column(verbose_name=gettext_lazy("Resource"))
    requested_limit = tables.Column(
        verbose_name=gettext_lazy("Limit"), orderable=False, attrs={"td": {"class": "text-nowrap"}}
    )
    status = tables.Column(verbose_name=gettext_lazy("Status"))

    empty_icon = "inbox"
    empty_title = gettext_lazy("No quota requests")
    empty_description = gettext_lazy("Requests tenants send from their Quotas page wait here for a decision.")
    filtered_empty_title = gettext_lazy("No requests here")
    filtered_empty_description = gettext_lazy(
        "Nothing matches these filters. The queue shows pending requests: choose another status to see decided ones."
    )

    def render_created_at(self, record: QuotaRequest) -> str:
        return format_html(
            '<time datetime="{}">{}</time><div class="small text-secondary">{}</div>',
            record.created_at.isoformat(),
            naturaltime(record.created_at),
            record.requested_by.display_name if record.requested_by else "—",
        )

    def render_project(self, record: QuotaRequest) -> str:
        url = reverse("operator_quota_request", kwargs={"request_id": record.pk})
        return format_html(
            '<a class="fw-medium" href="{}">{}</a><div class="small text-secondary">{}</div>',
            url,
            record.project.name,
            record.project.organization.name,
        )

    def render_region(self, record: QuotaRequest) -> str:
        return record.region.name

    def render_resource(self, record: QuotaRequest) -> str:
        return record.get_resource_display()

    def render_requested_limit(self, record: QuotaRequest) -> str:
        return format_html(
            "{} → <strong>{}</strong>", _limit_display(record.current_limit), _limit_display(record.requested_limit)
        )

    def render_status(self, record: QuotaRequest) -> str:
        return status_badge(record)


STATUS_TONES = {"pending": "yellow", "approved": "green", "rejected": "red", "cancelled": "secondary"}


def status_badge(record: QuotaRequest) -> str:
    return format_html(
        '<span class="badge bg-{}-lt" data-status="{}">{}</span>',
        STATUS_TONES.get(record.status, "secondary"),
        record.status,
        record.get_status_display(),
    )


@operator_required
@require_GET
def requests(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = QuotaRequest.Status.PENDING  # the queue: what waits for a decision
    rows = QuotaRequest.objects.select_related("project__organization", "region", "requested_by")
    filters = QuotaRequestFilter(data, queryset=rows)
    table = build_table(
        request, QuotaRequestTable, filters.qs, filters=filters, order_by=("created_at",), caption=_("Quota requests")
    )
    pending = QuotaRequest.objects.pending().count()
    return render_page(
        request,
        "infra/quotas/requests.html",
        {"table": table, "pending": pending},
        partials={"table": TABLE_PARTIAL},
    )


# One request --------------------------------------------------------------------------------------------------------


class ApproveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note to the requester"),
        required=False,
        max_length=actions.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=actions.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The requester reads it in the console and by e-mail."),
    )


@operator_required
@require_http_methods(["GET", "POST"])
def request_detail(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    item = get_object_or_404(
        QuotaRequest.objects.select_related("project__organization", "region", "requested_by", "decided_by"),
        pk=request_id,
    )
    chosen = request.POST.get("form") if request.method == "POST" else None
    approve_form = ApproveForm(request.POST if chosen == "approve" else None)
    reject_form = RejectForm(request.POST if chosen == "reject" else None)
    status = 200
    if chosen in ("approve", "reject"):
        form = approve_form if chosen == "approve" else reject_form
        if form.is_valid():
            try:
                if chosen == "approve":
                    actions.approve_quota_request(actor=_actor(request), request=item, note=form.cleaned_data["note"])
                    messages.success(request, _("Approved: the new limit is being pushed to the cloud."))
                else:
                    actions.reject_quota_request(
                        actor=_actor(request), request=item, reason=form.cleaned_data["reason"]
                    )
                    messages.success(request, _("Rejected; the requester has been told why."))
            except ActionError as error:
                form.add_error(None, error.message)
            else:
                return redirect(reverse("operator_quota_requests"))
        status = 400
    region_quotas = next((entry for entry in quotas.overview(item.project) if entry.region.pk == item.region_id), None)
    context = {
        "item": item,
        "approve_form": approve_form,
        "reject_form": reject_form,
        "region_quotas": region_quotas,
        "status_badge": status_badge(item),
        "others_pending": QuotaRequest.objects.pending().filter(project=item.project).exclude(pk=item.pk).count(),
    }
    return render_page(request, "infra/quotas/request_detail.html", context, status=status)


# A project's limits ------------------------------------------------------------------------------------------------


def limits_form(
    *, data: Any = None, required: bool, prefix: str | None = None, initial: dict | None = None
) -> forms.Form:
    """One integer field per resource (-1: unlimited); blank allowed where `required` is False (use the default)."""
    fields = {
        resource.value: forms.IntegerField(label=resource.label, required=required, min_value=UNLIMITED)
        for resource in Resource
    }
    form_class = type("LimitsForm", (forms.Form,), fields)
    return form_class(data=data, prefix=prefix, initial=initial)


@operator_required
@require_http_methods(["GET", "POST"])
def project_quotas(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = get_object_or_404(Project.objects.select_related("organization"), pk=project_id)
    chosen = request.POST.get("form") if request.method == "POST" else None
    entries = []
    status = 200
    for entry in quotas.overview(project):
        region = entry.region
        own = {line.resource.value: (line.limit if line.custom else None) for line in entry.lines}
        defaults = quotas.region_defaults(region)
        posted = chosen == region.slug
        form = limits_form(data=request.POST if posted else None, required=False, prefix=region.slug, initial=own)
        for resource in Resource:
            form.fields[resource.value].widget.attrs["placeholder"] = _("default: %(value)s") % {
                "value": _limit_display(getattr(defaults, resource.value))
            }
        if posted:
            if form.is_valid():
                try:
                    actions.set_project_quota(
                        actor=_actor(request), project=project, region=region, limits=form.cleaned_data
                    )
                except ActionError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(
                        request,
                        _("Limits in %(region)s saved; they are being pushed to the cloud.") % {"region": region.name},
                    )
                    return redirect(request.path)
            status = 400
        entries.append({"entry": entry, "form": form})
    context = {"project": project, "entries": entries}
    return render_page(request, "infra/quotas/project_operator.html", context, status=status)


@operator_required
@require_http_methods(["GET", "POST"])
def region_defaults(request: HttpRequest, region_slug: str) -> HttpResponse:
    region = get_object_or_404(Region, slug=region_slug)
    defaults = quotas.region_defaults(region)
    initial = {resource.value: getattr(defaults, resource.value) for resource in Resource}
    form = limits_form(data=request.POST or None, required=True, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.set_region_quota_defaults(actor=_actor(request), region=region, limits=form.cleaned_data)
            except ActionError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Default quotas of %(region)s saved.") % {"region": region.name})
                return redirect(request.path)
        status = 400
    own_limit = Q()
    for resource in Resource:
        own_limit |= Q(**{f"quotas__{resource.value}__isnull": False})
    custom = (
        Project.objects.filter(own_limit, quotas__region=region)
        .select_related("organization")
        .order_by("organization__name", "name")
        .distinct()
    )
    context = {"region": region, "form": form, "custom_projects": list(custom[:50])}
    return render_page(request, "infra/quotas/region_defaults.html", context, status=status)
