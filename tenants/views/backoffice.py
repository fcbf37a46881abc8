"""The operators' back office: every organisation (search, filter, sort, pages), one organisation's detail
(members, projects, status, recent activity), suspend and resume, and the activity of all organisations.

Only operators (staff users in the operators group) get these pages; anyone else signed in gets 404.
Opening an organisation's detail is an operator visit and is audit-logged, like a read-only visit to its console.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import django_filters
import django_tables2 as tables
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.core.htmx import TABLE_PARTIAL, render_page
from console.core.tables import FilterSet, LazyPaginator, Table, build_table
from tenants.actions import record_operator_visit, resume_organization, suspend_organization
from tenants.audit import Actor
from tenants.models import AuditEvent, Invitation, Membership, Organization, Project, Role
from tenants.policy import ActionError
from tenants.views.activity import AuditEventFilter, AuditEventTable

VIA = "backoffice"
RECENT_EVENTS = 20


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in operators only; anyone else signed in gets 404 (the back office does not say it exists)."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_operator:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, via=VIA, operator=True)


# Organisations list -------------------------------------------------------------------------------------------------


def _count_of(model: type, **filters: Any) -> Coalesce:
    """The number of `model` rows of each organisation, as a correlated subquery (no join fan-out)."""
    counted = (
        model.objects.filter(organization=OuterRef("pk"), **filters)
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def organizations_with_counts() -> QuerySet[Organization]:
    return Organization.objects.annotate(
        member_count=_count_of(Membership),
        project_count=_count_of(Project),
        status_rank=Case(When(suspended_at__isnull=True, then=Value(0)), default=Value(1)),
    )


class OrganizationFilter(FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=gettext_lazy("Search"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Name, address or a member's e-mail")}
        ),
    )
    status = django_filters.ChoiceFilter(
        method="filter_status",
        label=gettext_lazy("Status"),
        empty_label=gettext_lazy("All"),
        choices=(("active", gettext_lazy("Active")), ("suspended", gettext_lazy("Suspended"))),
    )

    class Meta:
        model = Organization
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        member = Membership.objects.filter(organization=OuterRef("pk"), user__email__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value) | Exists(member))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(suspended_at__isnull=value != "suspended")


def status_badge(organization: Organization) -> str:
    if organization.is_suspended:
        return format_html('<span class="badge bg-red-lt">{}</span>', _("Suspended"))
    return format_html('<span class="badge bg-green-lt">{}</span>', _("Active"))


class OrganizationTable(Table):
    name = tables.Column(verbose_name=gettext_lazy("Organization"), order_by=("name", "slug"))
    status = tables.Column(
        verbose_name=gettext_lazy("Status"), empty_values=(), order_by=("status_rank", "-suspended_at", "name")
    )
    member_count = tables.Column(
        verbose_name=gettext_lazy("Members"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}}
    )
    project_count = tables.Column(
        verbose_name=gettext_lazy("Projects"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}}
    )
    created_at = tables.Column(verbose_name=gettext_lazy("Created"), initial_sort_descending=True)

    empty_icon = "building"
    empty_title = gettext_lazy("No organizations yet")
    empty_description = gettext_lazy("Organizations appear here as soon as someone creates one.")

    def render_name(self, record: Organization) -> str:
        url = reverse("operator_organization", kwargs={"pk": record.pk})
        return format_html(
            '<a class="fw-medium" href="{}">{}</a><div class="text-secondary small">/o/{}/</div>',
            url,
            record.name,
            record.slug,
        )

    def render_status(self, record: Organization) -> str:
        return status_badge(record)

    def render_created_at(self, value: Any) -> str:
        return date_format(timezone.localtime(value), "DATE_FORMAT")


@operator_required
@require_GET
def organizations(request: HttpRequest) -> HttpResponse:
    filters = OrganizationFilter(request.GET, queryset=organizations_with_counts())
    table = build_table(
        request, OrganizationTable, filters.qs, filters=filters, order_by=("name",), caption=_("Organizations")
    )
    return render_page(
        request, "tenants/backoffice/organizations.html", {"table": table}, partials={"table": TABLE_PARTIAL}
    )


# One organisation ---------------------------------------------------------------------------------------------------

ROLE_ORDER = Case(*(When(role=role, then=Value(rank)) for rank, role in enumerate(reversed(Role))), default=Value(9))


def _organization_or_404(pk: Any) -> Organization:
    return get_object_or_404(organizations_with_counts(), pk=pk)


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Kept with the organization and in its activity log."),
    )


def _detail_context(organization: Organization) -> dict[str, Any]:
    has_mfa = Authenticator.objects.filter(user=OuterRef("user")).exclude(type=Authenticator.Type.RECOVERY_CODES)
    members = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(has_mfa=Exists(has_mfa), role_order=ROLE_ORDER)
        .order_by("role_order", "user__email")
    )
    return {
        "organization": organization,
        "members": members,
        "projects": organization.projects.order_by("name"),
        "pending_invitations": Invitation.objects.filter(organization=organization).pending().count(),
        "events": AuditEvent.objects.filter(organization=organization).select_related("project")[:RECENT_EVENTS],
    }


@operator_required
@require_GET
def organization_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    organization = _organization_or_404(pk)
    record_operator_visit(actor=_actor(request), organization=organization, path=request.get_full_path())
    context = _detail_context(organization)
    context["suspend_form"] = SuspendForm()
    context["events_table"] = AuditEventTable(
        context["events"], exclude=("organization", "ip"), caption=_("Recent activity")
    )
    return render(request, "tenants/backoffice/organization.html", context)


@operator_required
@require_http_methods(["GET", "POST"])
def organization_suspend(request: HttpRequest, pk: Any) -> HttpResponse:
    """The confirmation page (the detail page's modal without JavaScript), then the suspension."""
    organization = get_object_or_404(Organization, pk=pk)
    form = SuspendForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            suspend_organization(actor=_actor(request), organization=organization, reason=form.cleaned_data["reason"])
        except ActionError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("%(org)s is suspended: its members can view, stop and delete, but not create or change.")
                % {"org": organization.name},
            )
        return redirect("operator_organization", pk=organization.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "tenants/backoffice/suspend.html", {"organization": organization, "form": form}, status=status
    )


@operator_required
@require_POST
def organization_resume(request: HttpRequest, pk: Any) -> HttpResponse:
    organization = get_object_or_404(Organization, pk=pk)
    try:
        resume_organization(actor=_actor(request), organization=organization)
    except ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(org)s is active again.") % {"org": organization.name})
    return redirect("operator_organization", pk=organization.pk)


# Activity of every organisation -------------------------------------------------------------------------------------


@operator_required
@require_GET
def activity(request: HttpRequest) -> HttpResponse:
    """All audit events, newest first. Counting a table this size would cost more than the page: no total."""
    filters = AuditEventFilter(request.GET, queryset=AuditEvent.objects.select_related("organization", "project"))
    table = build_table(
        request,
        AuditEventTable,
        filters.qs,
        filters=filters,
        paginator_class=LazyPaginator,
        caption=_("Activity of all organizations"),
    )
    return render_page(request, "tenants/backoffice/activity.html", {"table": table}, partials={"table": TABLE_PARTIAL})
