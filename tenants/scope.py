"""Resolving what a request may see: the user's memberships and the project named in a URL."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.http import Http404

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


def project_scope_or_404(user: User | AnonymousUser, org_slug: str, project_slug: str) -> ProjectScope:
    """The project a URL names, if the user is a member of its organisation; 404 otherwise (never 403)."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("organization").filter(user=user, organization__slug=org_slug).first()
    )
    if membership is None:
        raise Http404
    project = (
        Project.objects.select_related("organization")
        .filter(organization=membership.organization, slug=project_slug)
        .first()
    )
    if project is None:
        raise Http404
    return ProjectScope(project=project, membership=membership)
