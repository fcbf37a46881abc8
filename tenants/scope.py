"""Resolving what a request may see: the user's memberships and the project named in a URL."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.http import Http404, HttpRequest

from tenants.models import Membership, Project, User


@dataclass(frozen=True)
class ProjectScope:
    project: Project
    membership: Membership


def memberships_with_projects(user: User | AnonymousUser) -> list[Membership]:
    """The user's memberships, each with its organisation and that organisation's projects (two queries)."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .prefetch_related(Prefetch("organization__projects", queryset=Project.objects.order_by("name")))
        .order_by("organization__name")
    )


def request_memberships(request: HttpRequest) -> list[Membership]:
    """`memberships_with_projects` for the request's user, loaded once per request (shell and views share it)."""
    cached = getattr(request, "_haneul_memberships", None)
    if cached is None:
        cached = memberships_with_projects(request.user)
        request._haneul_memberships = cached
    return cached


def project_scope_or_404(request: HttpRequest, org_slug: str, project_slug: str) -> ProjectScope:
    """The project a URL names, if the user is a member of its organisation; 404 otherwise (never 403)."""
    for membership in request_memberships(request):
        if membership.organization.slug == org_slug:
            for project in membership.organization.projects.all():
                if project.slug == project_slug:
                    return ProjectScope(project=project, membership=membership)
            break
    raise Http404
