"""A project's regions (tenant page): every region open to tenants, its health, and the project's state there (not
set up, queued, setting up, active with its private network, error), with **Activate** for admins and owners.

A project launches instances only where it has a usable cloud project; activating a region asks
`infra.actions.projects.activate_region`, and a task makes the cloud project with a default private network routed to
the public network. Members read the states and are told an admin can activate; viewers and visiting operators read
only; a suspended organisation sees the button disabled with the reason. The page is a live root: each
`cloud_project` event re-renders that region's card for the connection's role (`live_region`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from console.core import live
from console.core.htmx import render_page
from infra import catalog
from infra.actions import projects as actions
from infra.models import CloudProject
from infra.project_regions import RegionState, region_states
from tenants.models import Role
from tenants.policy import ActionError, Operation, Suspended, ensure_not_suspended
from tenants.scope import ProjectScope, project_view
from tenants.views.base import actor_for, refuse


def activation_refusal(scope: ProjectScope, item: RegionState) -> str:
    """Why the Activate button is disabled for an admin ("" when it is not): the organisation is suspended, or the
    region does not take new projects. The action checks again on submit."""
    try:
        ensure_not_suspended(scope.organization, Operation.CREATE)
    except Suspended as error:
        return str(error.message)
    if not item.region.is_available:
        return item.health_reason or _("This region does not take new projects right now.")
    return ""


def _url(name: str, scope: ProjectScope, **kwargs: object) -> str:
    return reverse(name, kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug, **kwargs})


def _card_context(scope: ProjectScope, item: RegionState, *, live_update: bool = False) -> dict[str, object]:
    can_activate = scope.can(Role.ADMIN) and item.activatable
    page_url = _url("project_regions", scope)
    return {
        "scope": scope,
        "project": scope.project,
        "item": item,
        "can_activate": can_activate,
        "refusal": activation_refusal(scope, item) if can_activate else "",
        "member_hint": item.activatable and scope.can(Role.MEMBER) and not scope.can(Role.ADMIN),
        "activate_url": _url("project_region_activate", scope, region_slug=item.region.slug),
        "launch_url": _url("server_launch", scope),
        "can_launch": item.usable and scope.can(Role.MEMBER) and not scope.organization.is_suspended,
        "row_url": f"{page_url}?region={item.region.slug}",
        "live": live_update,
    }


@project_view
@require_http_methods(["GET", "HEAD"])
def project_regions(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    """The regions page; `?region=<slug>` answers that region's card alone (a live card reloading its forms)."""
    states = region_states(scope.project)
    only = request.GET.get("region")
    if only is not None:
        item = next((state for state in states if state.region.slug == only), None)
        if item is None:
            raise Http404
        return render(request, "infra/project_regions/_region.html", _card_context(scope, item))
    context = {
        "scope": scope,
        "organization": scope.organization,
        "project": scope.project,
        "cards": [_card_context(scope, item) for item in states],
        "live_url": live.socket_path(scope.project),
        "active_count": sum(1 for item in states if item.usable),
        "is_admin": scope.can(Role.ADMIN),
    }
    return render_page(request, "infra/project_regions/list.html", context)


@require_POST
@project_view
def project_region_activate(request: HttpRequest, scope: ProjectScope, region_slug: str) -> HttpResponse:
    """Activate the region for the project (or try again after an error); refusals come back as messages."""
    region = catalog.open_regions().filter(slug=region_slug).first()
    if region is None:
        raise Http404
    try:
        actions.activate_region(actor=actor_for(request), project=scope.project, region=region)
    except ActionError as error:
        refuse(request, error)
    else:
        messages.success(
            request,
            _("Setting up %(project)s in %(region)s. This page shows when it is ready.")
            % {"project": scope.project.name, "region": region.name},
        )
    return redirect(_url("project_regions", scope) + f"#region-{region.slug}")


# --- live ------------------------------------------------------------------------------------------------------------


def live_region(scope: object, pk: str) -> str | None:
    """The region's card for this connection (its role decides the buttons), as an `hx-swap-oob` fragment, when the
    project's cloud project `pk` changed; None for any other page's scope or a cloud project it does not hold.
    Rendered once for the watchers of a role and language (`infra.live`): its form has no CSRF token, which
    console.js fills in when it is submitted."""
    if not isinstance(scope, ProjectScope) or scope.project is None:
        return None
    try:
        cloud_project = (
            CloudProject.objects.live()
            .select_related("region")
            .filter(pk=pk, project=scope.project, region__enabled=True)
            .first()
        )
    except (ValidationError, ValueError):
        return None
    if cloud_project is None:
        return None
    item = RegionState(cloud_project.region, cloud_project)
    return render_to_string("infra/project_regions/_region.html", _card_context(scope, item, live_update=True))
