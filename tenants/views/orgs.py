"""Organisation and project pages: create, overview, settings (rename, MFA policy), delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from console.core import live
from tenants import actions, feed
from tenants.forms import ConfirmSlugForm, MfaPolicyForm, OrganizationForm, ProjectForm
from tenants.models import Invitation, Membership, Role
from tenants.policy import ActionError, Conflict
from tenants.resources import remaining_resources
from tenants.scope import OrganizationScope, ProjectScope, organization_view, project_view
from tenants.views.base import actor_for, refuse


def _read_only(*forms: Form) -> None:
    """Show the values without offering a change (the actions refuse a change anyway)."""
    for form in forms:
        for field in form.fields.values():
            field.disabled = True


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = actions.create_organization(
                actor=actor_for(request), name=form.cleaned_data["name"], slug=form.cleaned_data["slug"]
            )
        except Conflict as error:
            form.add_error("slug", error.message)
        else:
            messages.success(request, _("%(org)s is ready. Create its first project.") % {"org": organization.name})
            return redirect("project_create", org_slug=organization.slug)
    return render(request, "tenants/org/create.html", {"form": form})


@require_safe
@organization_view
def organization_overview(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    organization = scope.organization
    projects = list(organization.projects.all())
    members = Membership.objects.filter(organization=organization)
    context = {
        "scope": scope,
        "organization": organization,
        "projects": projects,
        "member_count": members.count(),
        "owners": [m.user for m in members.filter(role=Role.OWNER).select_related("user")],
        "pending_invitations": Invitation.objects.filter(organization=organization).pending().count()
        if scope.can(Role.OWNER)
        else None,
        "feed": feed.recent(scope),
        "feed_size": feed.FEED_SIZE,
        "activity_url": reverse("activity", kwargs={"org_slug": organization.slug}) if scope.can_audit else None,
        "live_url": live.socket_path(organization),
    }
    return render(request, "tenants/org/overview.html", context)


@organization_view
def organization_settings(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    organization = scope.organization
    form_name = request.POST.get("form") if request.method == "POST" else None
    general = OrganizationForm(
        request.POST if form_name == "general" else None,
        initial={"name": organization.name, "slug": organization.slug},
        edit=True,
    )
    security = MfaPolicyForm(
        request.POST if form_name == "security" else None, initial={"require_mfa": organization.require_mfa}
    )
    delete = ConfirmSlugForm(request.POST if form_name == "delete" else None, expected=organization.slug)
    actor = actor_for(request)
    if form_name and not scope.can(Role.OWNER):
        raise PermissionDenied(_("Only an owner can change the organization's settings."))
    try:
        if form_name == "general" and general.is_valid():
            try:
                organization = actions.update_organization(
                    actor=actor, organization=organization, **general.cleaned_data
                )
            except Conflict as error:
                general.add_error("slug", error.message)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("organization_settings", org_slug=organization.slug)
        elif form_name == "security" and security.is_valid():
            actions.set_mfa_policy(
                actor=actor, organization=organization, required=security.cleaned_data["require_mfa"]
            )
            messages.success(request, _("Two-factor policy saved."))
            return redirect("organization_settings", org_slug=organization.slug)
        elif form_name == "delete" and delete.is_valid():
            actions.delete_organization(actor=actor, organization=organization)
            messages.success(request, _("%(org)s was deleted.") % {"org": organization.name})
            return redirect("dashboard")
    except ActionError as error:
        refuse(request, error)
    if not scope.can(Role.OWNER):
        _read_only(general, security)
    context = {
        "scope": scope,
        "organization": organization,
        "general": general,
        "security": security,
        "delete": delete,
        "project_names": [p.name for p in organization.projects.all()],
        "can_manage": scope.can(Role.OWNER),
    }
    return render(request, "tenants/org/settings.html", context, status=400 if form_name else 200)


@organization_view
def project_create(request: HttpRequest, scope: OrganizationScope) -> HttpResponse:
    if not scope.can(Role.ADMIN):
        raise PermissionDenied(_("Only owners and admins can create projects."))
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = actions.create_project(
                actor=actor_for(request), organization=scope.organization, **form.cleaned_data
            )
        except Conflict as error:
            form.add_error("slug", error.message)
        except ActionError as error:
            refuse(request, error)
        else:
            messages.success(request, _("Project %(project)s created.") % {"project": project.name})
            return redirect("project_overview", org_slug=scope.organization.slug, project_slug=project.slug)
    return render(
        request, "tenants/org/project_create.html", {"scope": scope, "organization": scope.organization, "form": form}
    )


@project_view
def project_settings(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    project = scope.project
    form_name = request.POST.get("form") if request.method == "POST" else None
    general = ProjectForm(
        request.POST if form_name == "general" else None,
        initial={"name": project.name, "slug": project.slug, "description": project.description},
        edit=True,
    )
    delete = ConfirmSlugForm(request.POST if form_name == "delete" else None, expected=project.slug)
    if form_name and not scope.can(Role.ADMIN):
        raise PermissionDenied(_("Only owners and admins can change a project's settings."))
    actor = actor_for(request)
    try:
        if form_name == "general" and general.is_valid():
            try:
                project = actions.update_project(actor=actor, project=project, **general.cleaned_data)
            except Conflict as error:
                general.add_error("slug", error.message)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("project_settings", org_slug=scope.organization.slug, project_slug=project.slug)
        elif form_name == "delete" and delete.is_valid():
            actions.delete_project(actor=actor, project=project)
            messages.success(request, _("Project %(project)s was deleted.") % {"project": project.name})
            return redirect(reverse("organization_overview", kwargs={"org_slug": scope.organization.slug}))
    except ActionError as error:
        refuse(request, error)
    if not scope.can(Role.ADMIN):
        _read_only(general)
    context = {
        "scope": scope,
        "project": project,
        "organization": scope.organization,
        "general": general,
        "delete": delete,
        "remaining": remaining_resources(project),
        "can_manage": scope.can(Role.ADMIN),
    }
    return render(request, "tenants/project/settings.html", context, status=400 if form_name else 200)
