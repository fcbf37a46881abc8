"""The console shell's context: navigation, the current project and the switcher, computed only when used."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from console.navigation import ResolvedSection, resolve_menu
from tenants.models import Membership, Organization, Project
from tenants.scope import OrganizationScope, request_memberships

CURRENT_PROJECT_SESSION_KEY = "haneul.current_project"


class Shell:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def is_operator(self) -> bool:
        user = self.request.user
        return bool(user.is_authenticated and user.is_operator)

    @cached_property
    def memberships(self) -> list[Membership]:
        """The user's memberships, each with its organisation and that organisation's projects loaded."""
        return request_memberships(self.request)

    @cached_property
    def switcher(self) -> list[tuple[Organization, list[Project]]]:
        return [(m.organization, list(m.organization.projects.all())) for m in self.memberships]

    @cached_property
    def project(self) -> Project | None:
        """The project in the URL, else the one last visited while the user is still a member, else the first."""
        scope = self.scope
        if scope is not None and getattr(scope, "project", None) is not None:
            return scope.project
        remembered = self.request.session.get(CURRENT_PROJECT_SESSION_KEY) if hasattr(self.request, "session") else None
        if remembered:
            for _org, projects in self.switcher:
                for project in projects:
                    if str(project.pk) == remembered:
                        return project
        if scope is not None:  # an organisation's page: stay in that organisation
            if scope.operator_visit:
                return None
            for org, projects in self.switcher:
                if org.pk == scope.organization.pk:
                    return projects[0] if projects else None
        return next((project for _org, projects in self.switcher for project in projects), None)

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
        if project is None:
            return None
        return next((org for org, _projects in self.switcher if org.pk == project.organization_id), None)

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
