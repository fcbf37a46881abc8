"""The console shell's context: navigation, the current project and the switcher, computed only when used."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, When, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest

from console.navigation import ResolvedSection, resolve_menu
from tenants.models import Membership, Organization, Project
from tenants.scope import OrganizationScope

CURRENT_PROJECT_SESSION_KEY = "haneul.current_project"


SWITCHER_ORGANIZATIONS = 8  # the switcher shows this many organisations (the page's first), then "All …"
SWITCHER_PROJECTS = 8  # and this many projects of each, then "All … projects"


@dataclass(frozen=True)
class SwitcherEntry:
    organization: Organization
    projects: list[Project]  # the first SWITCHER_PROJECTS, by name
    project_count: int

    @property
    def more_projects(self) -> bool:
        return self.project_count > len(self.projects)


class Shell:
    """What the shell shows around every page, in a constant number of queries however many organisations and
    projects the user has: the switcher is bounded, and its "All organizations" link opens the dashboard (paged)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def is_operator(self) -> bool:
        user = self.request.user
        return bool(user.is_authenticated and user.is_operator)

    @cached_property
    def organization_count(self) -> int:
        if not self.request.user.is_authenticated:
            return 0
        return Membership.objects.filter(user=self.request.user).count()

    @cached_property
    def switcher(self) -> list[SwitcherEntry]:
        """The page's organisation first, then the user's others by name, up to SWITCHER_ORGANIZATIONS; each with
        its first projects (one query for the organisations, one for their projects)."""
        user = self.request.user
        if not user.is_authenticated:
            return []
        current = self.scope.organization.pk if self.scope is not None and not self.scope.operator_visit else None
        first = [Case(When(organization_id=current, then=0), default=1)] if current else []
        memberships = list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .annotate(project_count=Count("organization__projects"))
            .order_by(*first, "organization__name")[:SWITCHER_ORGANIZATIONS]
        )
        ranked = (
            Project.objects.filter(organization__in=[m.organization_id for m in memberships])
            .annotate(rank=Window(RowNumber(), partition_by=F("organization_id"), order_by=F("name").asc()))
            .filter(rank__lte=SWITCHER_PROJECTS)
            .order_by("name")
        )
        projects: dict[object, list[Project]] = {}
        for project in ranked:
            projects.setdefault(project.organization_id, []).append(project)
        entries = []
        for membership in memberships:
            organization = membership.organization
            for project in projects.get(organization.pk, []):
                project.organization = organization
            entries.append(SwitcherEntry(organization, projects.get(organization.pk, []), membership.project_count))
        return entries

    @cached_property
    def more_organizations(self) -> bool:
        return self.organization_count > len(self.switcher)

    @cached_property
    def project(self) -> Project | None:
        """The project in the URL, else the one last visited while the user is still a member, else the first."""
        scope = self.scope
        if scope is not None and getattr(scope, "project", None) is not None:
            return scope.project
        user = self.request.user
        if not user.is_authenticated:
            return None
        remembered = self.request.session.get(CURRENT_PROJECT_SESSION_KEY) if hasattr(self.request, "session") else None
        if remembered:
            try:
                project = (
                    Project.objects.filter(pk=remembered, organization__memberships__user=user)
                    .select_related("organization")
                    .first()
                )
            except ValidationError:
                project = None
            if project is not None:
                return project
        if scope is not None:  # an organisation's page: stay in that organisation
            if scope.operator_visit:
                return None
            projects = list(scope.organization.projects.all())  # loaded with the scope
            return projects[0] if projects else None
        return next((project for entry in self.switcher for project in entry.projects), None)

    @cached_property
    def scope(self) -> OrganizationScope | None:
        """The organisation or project the URL names (set by `organization_view` / `project_view`)."""
        return getattr(self.request, "tenant_scope", None)

    @cached_property
    def organization(self) -> Organization | None:
        """The organisation of the page, else of the current project."""
        if self.scope is not None:
            return self.scope.organization
        project = self.project
        return project.organization if project is not None else None

    @cached_property
    def nav(self) -> list[ResolvedSection]:
        match = getattr(self.request, "resolver_match", None)
        project = self.project
        kwargs = {"org_slug": project.organization.slug, "project_slug": project.slug} if project else None
        organization = self.organization
        return resolve_menu(
            current_url_name=match.url_name if match else None,
            project_kwargs=kwargs,
            organization_kwargs={"org_slug": organization.slug} if organization else None,
            is_operator=self.is_operator,
        )


def shell(request: HttpRequest) -> dict[str, Shell]:
    return {"shell": Shell(request)}
