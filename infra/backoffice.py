"""The operators' regions pages: every region with its health, and one region's settings, health, cloud projects,
"Check now", opening or closing it to new resources, and failure injection where its provider has it.

Only operators get these pages; anyone else signed in gets 404, as in the rest of the back office
(`tenants.views.backoffice.operator_required`). Pages read the database only: the health shown is what the last
check (`infra.tasks.check_regions`) saved, and "Check now" asks a task for a new one.
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, Table, build_table
from infra.actions.projects import link_cloud_project
from infra.actions.regions import (
    MAX_LATENCY_MS,
    MAX_SPEED,
    has_failure_injection,
    request_health_check,
    set_failure_injection,
    set_region_enabled,
)
from infra.models import CloudProject, Provider, Region, Server
from infra.providers.base import Health
from tenants.audit import Actor
from tenants.models import Project
from tenants.policy import ActionError
from tenants.views.backoffice import operator_required

VIA = "backoffice"
HEALTH_PARTIAL = "infra/regions/_health.html"
HEALTH_TONES = {Health.UP: "green", Health.DEGRADED: "yellow", Health.DOWN: "red", Health.UNKNOWN: "secondary"}
HEALTH_ICONS = {Health.UP: "circle-check", Health.DEGRADED: "alert-triangle", Health.DOWN: "alert-circle"}
HEALTH_ORDER = (Health.DOWN, Health.DEGRADED, Health.UNKNOWN, Health.UP)  # worst first when sorted by health


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, via=VIA, operator=True)


# Regions with their counts ------------------------------------------------------------------------------------------


def _count_per_region(queryset: QuerySet) -> Coalesce:
    """The number of rows of `queryset` in each region, as a correlated subquery (no join fan-out). COUNT(*), not
    of a column: the servers' region index answers it alone (index-only), with no row read."""
    counted = queryset.filter(region=OuterRef("pk")).order_by().values("region").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def regions_with_counts() -> QuerySet[Region]:
    return Region.objects.annotate(
        cloud_project_count=_count_per_region(CloudProject.objects.live()),
        server_count=_count_per_region(Server.objects.live()),
        health_rank=Case(
            *(When(health=health, then=Value(rank)) for rank, health in enumerate(HEALTH_ORDER)), default=Value(9)
        ),
    )


def health_badge(region: Region) -> str:
    tone = HEALTH_TONES.get(region.health, "secondary")
    return format_html(
        '<span class="badge bg-{}-lt" data-health="{}">{}</span>', tone, region.health, region.get_health_display()
    )


def checked_ago(region: Region) -> str:
    """ "checked 20 seconds ago", with the exact time as a tooltip; "never checked" before the first check."""
    if region.health_checked_at is None:
        return _("never checked")
    local = timezone.localtime(region.health_checked_at)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        date_format(local, "Y-m-d H:i:s"),
        _("checked %(when)s") % {"when": naturaltime(region.health_checked_at)},
    )


def enabled_badge(region: Region) -> str:
    if region.enabled:
        return format_html('<span class="badge bg-green-lt" data-testid="enabled">{}</span>', _("Open"))
    return format_html('<span class="badge bg-secondary-lt" data-testid="enabled">{}</span>', _("Closed"))


def latency(region: Region) -> str:
    if region.health_latency_ms is None:
        return "—"
    return _("%(ms)s ms") % {"ms": intcomma(region.health_latency_ms)}


class RegionFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": gettext_lazy("Name or code")}),
    )
    provider = django_filters.ChoiceFilter(
        label=gettext_lazy("Provider"), empty_label=gettext_lazy("All"), choices=Provider.choices
    )
    health = django_filters.ChoiceFilter(
        label=gettext_lazy("Health"), empty_label=gettext_lazy("All"), choices=Health.choices
    )

    class Meta:
        model = Region
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


MESSAGE_IN_LIST = 60
NUMBER = {"th": {"class": "text-end"}, "td": {"class": "text-end text-nowrap"}}


class RegionTable(Table):
    name = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("name", "slug"))
    provider = tables.Column(verbose_name=gettext_lazy("Provider"), order_by=("provider", "name"))
    health = tables.Column(verbose_name=gettext_lazy("Health"), order_by=("health_rank", "name"))
    health_latency_ms = tables.Column(
        verbose_name=gettext_lazy("Response time"),
        empty_values=(),
        order_by=("health_latency_ms", "name"),
        attrs=NUMBER,
    )
    cloud_project_count = tables.Column(verbose_name=gettext_lazy("Cloud projects"), attrs=NUMBER)
    server_count = tables.Column(verbose_name=gettext_lazy("Instances"), attrs=NUMBER)
    enabled = tables.Column(verbose_name=gettext_lazy("New resources"), order_by=("-enabled", "name"))

    empty_icon = "map-pin"
    empty_title = gettext_lazy("No regions yet")
    empty_description = gettext_lazy(
        "Add one with manage.py add_openstack_region, or run manage.py seed_demo for the sandbox region."
    )

    def render_name(self, record: Region) -> str:
        url = reverse("operator_region", kwargs={"region_slug": record.slug})
        return format_html(
            '<a class="fw-medium" href="{}">{}</a><div class="text-secondary small">{}</div>',
            url,
            record.name,
            record.slug,
        )

    def render_provider(self, record: Region) -> str:
        return record.get_provider_display()

    def render_health(self, record: Region) -> str:
        detail = ""
        if record.health_message:  # cut short here (the whole message in the tooltip and on the region's page)
            short = Truncator(record.health_message).chars(MESSAGE_IN_LIST)
            detail = format_html('<div class="text-secondary small" title="{}">{}</div>', record.health_message, short)
        return format_html(
            '{}{}<div class="text-secondary small">{}</div>', health_badge(record), detail, checked_ago(record)
        )

    def render_health_latency_ms(self, record: Region) -> str:
        return latency(record)

    def render_cloud_project_count(self, value: int) -> str:
        return intcomma(value)

    def render_server_count(self, value: int) -> str:
        return intcomma(value)

    def render_enabled(self, record: Region) -> str:
        return enabled_badge(record)


@operator_required
@require_GET
def regions(request: HttpRequest) -> HttpResponse:
    filters = RegionFilter(request.GET, queryset=regions_with_counts())
    table = build_table(request, RegionTable, filters.qs, filters=filters, order_by=("name",), caption=_("Regions"))
    return render_page(request, "infra/regions/list.html", {"table": table}, partials={"table": TABLE_PARTIAL})


# One region ---------------------------------------------------------------------------------------------------------

CLOUDS_YAML_HTML = mark_safe('<code translate="no">clouds.yaml</code>')

# What the detail page shows of each provider's settings, by key (docs/operator.md); nothing else is shown, so a
# value that should never have been put there (a password) never reaches a page.
SETTING_LABELS: dict[str, dict[str, str | Promise]] = {
    Provider.OPENSTACK: {
        "cloud": gettext_lazy("Entry in %(file)s"),
        "clouds_file": gettext_lazy("Path of %(file)s"),
        "region_name": gettext_lazy("OpenStack region"),
        "public_network": gettext_lazy("Public network"),
        "default_cidr": gettext_lazy("Default network range"),
        "service_role": gettext_lazy("Role on projects"),
        "timeout": gettext_lazy("Timeout per call (s)"),
    },
    Provider.SANDBOX: {
        "speed": gettext_lazy("Speed"),
        "error_rate": gettext_lazy("Error rate"),
        "latency_ms": gettext_lazy("Added latency (ms)"),
        "outage": gettext_lazy("Outage"),
        "faults": gettext_lazy("One-shot faults waiting"),
    },
}


def shown_settings(region: Region) -> tuple[list[dict[str, Any]], list[str]]:
    """The known settings of the region's provider with their values (`is_default` when unset), and the names only
    of any other keys."""
    labels = SETTING_LABELS.get(region.provider, {})
    values = region.settings or {}
    shown = []
    for key, label in labels.items():
        value = values.get(key)
        is_default = value is None or value == ""
        is_data = False  # the operator's own text (a name, a path): shown as is, never translated
        if is_default:
            text: str | Promise = pgettext_lazy("region setting", "default")
        elif isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif isinstance(value, list | dict):
            text = intcomma(len(value))
        else:
            text, is_data = str(value), True
        if "%(file)s" in str(label):  # the file's name as code, in any language
            label = mark_safe(conditional_escape(str(label)) % {"file": CLOUDS_YAML_HTML})  # noqa: S308
        shown.append({"key": key, "label": label, "value": text, "is_default": is_default, "is_data": is_data})
    return shown, sorted(key for key in values if key not in labels)


class FailureInjectionForm(forms.Form):
    speed = forms.FloatField(
        label=gettext_lazy("Speed"),
        min_value=0,
        max_value=MAX_SPEED,
        widget=forms.NumberInput(attrs={"step": "any"}),
        help_text=gettext_lazy("A multiplier of the cloud's timings: 1 is realistic, 10 is ten times faster."),
    )
    error_rate = forms.FloatField(
        label=gettext_lazy("Error rate"),
        min_value=0,
        max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text=gettext_lazy("The share of cloud calls that fail with a transient error, from 0 to 1."),
    )
    latency_ms = forms.IntegerField(
        label=gettext_lazy("Added latency (ms)"),
        min_value=0,
        max_value=MAX_LATENCY_MS,
        help_text=gettext_lazy("A delay added to every cloud call."),
    )
    outage = forms.BooleanField(
        label=gettext_lazy("Outage: the region does not answer at all"),
        required=False,
    )

    def clean_speed(self) -> float:
        speed = self.cleaned_data["speed"]
        if speed <= 0:
            raise forms.ValidationError(_("Speed must be more than 0."))
        return speed

    @classmethod
    def initial_for(cls, region: Region) -> dict[str, Any]:
        values = region.settings or {}
        return {
            "speed": values.get("speed", 1.0),
            "error_rate": values.get("error_rate", 0.0),
            "latency_ms": values.get("latency_ms", 0),
            "outage": bool(values.get("outage", False)),
        }


class LinkCloudProjectForm(forms.Form):
    """Map an existing cloud project to a console project (operators only: it hands the cloud project over)."""

    project = forms.CharField(
        label=gettext_lazy("Console project"),
        max_length=130,
        help_text=gettext_lazy("As organization/project: the two codes in the console project's address."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    provider_id = forms.CharField(
        label=gettext_lazy("Cloud project ID"),
        max_length=64,
        help_text=gettext_lazy("The project's id in the cloud, as its own tools show it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, region: Region, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_project(self) -> Project:
        org_slug, _slash, project_slug = self.cleaned_data["project"].strip().strip("/").partition("/")
        project = (
            Project.objects.select_related("organization")
            .filter(organization__slug=org_slug.lower(), slug=project_slug.lower())
            .first()
        )
        if project is None:
            raise forms.ValidationError(_("No project at “%(path)s”.") % {"path": self.cleaned_data["project"]})
        return project


class CloudProjectTable(Table):
    project = tables.Column(verbose_name=gettext_lazy("Console project"), order_by=("project__name", "created_at"))
    organization = tables.Column(
        accessor="project__organization__name",
        verbose_name=gettext_lazy("Organization"),
        order_by=("project__organization__name", "project__name"),
    )
    provider_id = tables.Column(verbose_name=gettext_lazy("Cloud project ID"), empty_values=())
    status = tables.Column(verbose_name=gettext_lazy("Status"))
    linked = tables.Column(verbose_name=gettext_lazy("Origin"), order_by=("linked", "project__name"))
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), initial_sort_descending=True)

    empty_icon = "cloud"
    empty_title = gettext_lazy("No cloud projects in this region")
    empty_description = gettext_lazy(
        "A console project gets its cloud project here when it is activated in this region, or linked to one."
    )

    def render_project(self, record: CloudProject) -> str:
        return record.project.name

    def render_organization(self, value: str, record: CloudProject) -> str:
        url = reverse("operator_organization", kwargs={"pk": record.project.organization_id})
        return format_html('<a href="{}">{}</a>', url, value)

    def render_provider_id(self, record: CloudProject) -> str:
        if not record.provider_id:
            return format_html('<span class="text-secondary">{}</span>', _("not created yet"))
        return format_html('<code translate="no">{}</code>', record.provider_id)

    def render_status(self, record: CloudProject) -> str:
        tone = {
            CloudProject.Status.ACTIVE: "green",
            CloudProject.Status.ERROR: "red",
            CloudProject.Status.VANISHED: "orange",
        }.get(record.status, "blue")
        badge = format_html('<span class="badge bg-{}-lt">{}</span>', tone, record.get_status_display())
        if record.error_message:
            return format_html(
                '{}<div class="text-secondary small" title="{}">{}</div>',
                badge,
                record.error_message,
                Truncator(record.error_message).chars(MESSAGE_IN_LIST),
            )
        return badge

    def render_linked(self, record: CloudProject) -> str:
        return _("Linked existing project") if record.linked else _("Made by the console")

    def render_created_at(self, value: Any) -> str:
        return date_format(timezone.localtime(value), "DATE_FORMAT")


def _region_or_404(region_slug: str) -> Region:
    return get_object_or_404(regions_with_counts(), slug=region_slug)


@operator_required
@require_http_methods(["GET", "POST"])
def region_detail(request: HttpRequest, region_slug: str) -> HttpResponse:
    """The region's page. A POST is one of its forms: failure injection (where the provider has it), or linking an
    existing cloud project (`form=link`)."""
    region = _region_or_404(region_slug)
    has_injection = has_failure_injection(region)
    posted = request.POST if request.method == "POST" else None
    which = request.POST.get("form", "injection") if posted is not None else None
    form = None
    link_form = LinkCloudProjectForm(posted if which == "link" else None, region=region)
    status = 200
    if has_injection:
        form = FailureInjectionForm(
            posted if which == "injection" else None, initial=FailureInjectionForm.initial_for(region)
        )
    if which == "link":
        if link_form.is_valid():
            try:
                link_cloud_project(
                    actor=_actor(request),
                    project=link_form.cleaned_data["project"],
                    region=region,
                    provider_id=link_form.cleaned_data["provider_id"],
                )
            except ActionError as error:
                link_form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Linked to %(project)s. Its servers appear after the next reconcile, within a minute or two.")
                    % {"project": link_form.cleaned_data["project"]},
                )
                return redirect("operator_region", region_slug=region.slug)
        status = 400
    elif which is not None:
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                set_failure_injection(actor=_actor(request), region=region, **form.cleaned_data)
            except ActionError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    _("Failure injection of %(region)s saved. Its health is being checked again.")
                    % {"region": region.name},
                )
            return redirect("operator_region", region_slug=region.slug)
        status = 400
    cloud_projects = CloudProject.objects.live().filter(region=region).select_related("project__organization")
    table = build_table(
        request, CloudProjectTable, cloud_projects, order_by=("-created_at",), caption=_("Cloud projects")
    )
    settings_shown, other_settings = shown_settings(region)
    context = {
        "region": region,
        "table": table,
        "settings_shown": settings_shown,
        "other_settings": other_settings,
        "injection_form": form,
        "link_form": link_form,
        "health_badge": health_badge(region),
        "checked_ago": checked_ago(region),
        "latency": latency(region),
        "enabled_badge": enabled_badge(region),
    }
    return render_page(
        request,
        "infra/regions/detail.html",
        context,
        partials={"table": TABLE_PARTIAL, "region-health": HEALTH_PARTIAL},
        status=status,
    )


@operator_required
@require_POST
def region_check(request: HttpRequest, region_slug: str) -> HttpResponse:
    region = get_object_or_404(Region, slug=region_slug)
    request_health_check(actor=_actor(request), region=region)
    messages.info(request, _("Checking %(region)s: the result shows here in a few seconds.") % {"region": region.name})
    return redirect("operator_region", region_slug=region.slug)


def _set_enabled(request: HttpRequest, region_slug: str, *, enabled: bool) -> HttpResponse:
    region = get_object_or_404(Region, slug=region_slug)
    try:
        set_region_enabled(actor=_actor(request), region=region, enabled=enabled)
    except ActionError as error:
        messages.error(request, error.message)
    else:
        if enabled:
            done = _("%(region)s is open to new resources again.")
        else:
            done = _("%(region)s is closed to new resources. What runs there keeps running.")
        messages.success(request, done % {"region": region.name})
    return redirect("operator_region", region_slug=region.slug)


@operator_required
@require_POST
def region_enable(request: HttpRequest, region_slug: str) -> HttpResponse:
    return _set_enabled(request, region_slug, enabled=True)


@operator_required
@require_POST
def region_disable(request: HttpRequest, region_slug: str) -> HttpResponse:
    return _set_enabled(request, region_slug, enabled=False)
