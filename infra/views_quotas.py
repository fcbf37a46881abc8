"""A project's quotas (tenant pages): usage against limits in each region it uses, asking for more, and the
project's requests with their decisions. Every member reads; members and above ask; the requester or an admin
withdraws a pending request. Operators decide in the back office (`infra/backoffice_quotas.py`)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from console.core.htmx import render_page
from infra import quotas
from infra.actions import quotas as actions
from infra.models import QuotaRequest, Region, Resource
from tenants.policy import ActionError
from tenants.scope import ProjectScope, project_view
from tenants.views.base import actor_for, refuse


class QuotaRequestForm(forms.Form):
    region = forms.ChoiceField(label=gettext_lazy("Region"))
    resource = forms.ChoiceField(label=gettext_lazy("Resource"), choices=Resource.choices)
    requested_limit = forms.IntegerField(
        label=gettext_lazy("New limit"),
        min_value=1,
        help_text=gettext_lazy("The limit you need in total, not the amount to add. RAM is in MiB."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why you need it"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=actions.REASON_MAX,
        help_text=gettext_lazy("e.g. the launch of a new game server fleet on 12 December."),
    )

    def __init__(self, *args: object, regions: list[Region], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(region.slug, region.name) for region in regions]


def _quotas_url(scope: ProjectScope) -> str:
    return reverse("quotas", kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug})


@project_view
def project_quotas(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    overview = quotas.overview(scope.project)
    regions = [entry.region for entry in overview]
    can_request = scope.can_operate and bool(regions)
    initial = {}
    if request.method == "GET":
        initial = {key: request.GET[key] for key in ("region", "resource") if key in request.GET}
    form = QuotaRequestForm(request.POST or None, regions=regions, initial=initial)
    status = 200
    if request.method == "POST":
        if not scope.can_operate:
            raise PermissionDenied(_("Your role does not allow asking for more quota."))
        if not regions:
            messages.error(request, _("This project does not use any region yet."))
            return redirect(_quotas_url(scope))
        if form.is_valid():
            region = next(r for r in regions if r.slug == form.cleaned_data["region"])
            try:
                created = actions.request_quota(
                    actor=actor_for(request),
                    project=scope.project,
                    region=region,
                    resource=form.cleaned_data["resource"],
                    requested_limit=form.cleaned_data["requested_limit"],
                    reason=form.cleaned_data["reason"],
                )
            except ActionError as error:
                if error.status in (403, 404):
                    refuse(request, error)
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Your request for %(resource)s in %(region)s is sent. Operators decide; you will be notified.")
                    % {"resource": created.get_resource_display(), "region": region.name},
                )
                return redirect(_quotas_url(scope) + "#requests")
        status = 400
    requests = list(
        QuotaRequest.objects.filter(project=scope.project)
        .select_related("region", "requested_by", "decided_by")
        .order_by("-created_at")[:50]
    )
    context = {
        "scope": scope,
        "project": scope.project,
        "regions": overview,
        "form": form,
        "can_request": can_request,
        "requests": requests,
        "own_user_id": request.user.pk,
    }
    return render_page(request, "infra/quotas/project.html", context, status=status)


@require_POST
@project_view
def quota_request_cancel(request: HttpRequest, scope: ProjectScope, request_id: uuid.UUID) -> HttpResponse:
    quota_request = get_object_or_404(QuotaRequest, pk=request_id, project=scope.project)
    try:
        actions.cancel_quota_request(actor=actor_for(request), request=quota_request)
    except ActionError as error:
        refuse(request, error)
    else:
        messages.success(request, _("Request withdrawn."))
    return redirect(_quotas_url(scope) + "#requests")
