"""Resolving what a request may see: the user's memberships and the organisation or project named in a URL.

Tenant pages are wrapped in `organization_view` or `project_view`: they resolve the scope from the URL (404 for
anyone who is not a member: never 403, never a hint), follow a renamed slug with a redirect, and let operators in
read-only (every such visit is audit-logged; their POSTs are refused).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from tenants.models import Membership, Organization, OrganizationSlugRedirect, Project, ProjectSlugRedirect, Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class OrganizationScope:
    organization: Organization
    membership: Membership | None  # None on an operator's read-only visit
    operator_visit: bool = False

    @property
    def role(self) -> Role:
        return self.membership.role_enum if self.membership else Role.VIEWER

    def can(self, minimum: Role | str) -> bool:
        """Whether the page may offer an action that needs `minimum` (the action checks again on submit)."""
        return not self.operator_visit and self.role.at_least(Role(minimum))

    # For templates, which cannot pass arguments: what the page may offer.
    @property
    def can_own(self) -> bool:
        return self.can(Role.OWNER)

    @property
    def can_admin(self) -> bool:
        return self.can(Role.ADMIN)

    @property
    def can_operate(self) -> bool:
        return self.can(Role.MEMBER)

    @property
    def can_audit(self) -> bool:
        """Owners, admins and visiting operators read the activity log."""
        return self.operator_visit or self.can(Role.ADMIN)


@dataclass(frozen=True)
class ProjectScope(OrganizationScope):
    project: Project | None = None


class Moved(Exception):
    """The URL used a former slug: redirect to the same page at the current one."""

    def __init__(self, old_prefix: str, new_prefix: str) -> None:
        super().__init__(new_prefix)
        self.old_prefix, self.new_prefix = old_prefix, new_prefix


def with_projects(memberships: QuerySet[Membership]) -> QuerySet[Membership]:
    """`memberships` with each organisation and that organisation's projects by name (two queries)."""
    return memberships.select_related("organization").prefetch_related(
        Prefetch("organization__projects", queryset=Project.objects.order_by("name"))
    )


def request_membership(request: HttpRequest, org_slug: str) -> Membership | None:
    """The user's membership in the organisation `org_slug`, with the organisation and its projects (two queries,
    however many organisations the user belongs to), loaded once per request."""
    cache: dict[str, Membership | None] = request.__dict__.setdefault("_haneul_membership", {})
    if org_slug not in cache:
        cache[org_slug] = (
            None
            if not request.user.is_authenticated
            else with_projects(Membership.objects.filter(user=request.user, organization__slug=org_slug)).first()
        )
    return cache[org_slug]


def _operator_organization(request: HttpRequest, org_slug: str) -> Organization | None:
    if not (request.user.is_authenticated and request.user.is_operator):
        return None
    return Organization.objects.prefetch_related("projects").filter(slug=org_slug).first()


def organization_scope_or_404(request: HttpRequest, org_slug: str) -> OrganizationScope:
    """The organisation a URL names, if the user is a member (or an operator visiting); 404 otherwise."""
    membership = request_membership(request, org_slug)
    if membership is not None:
        return OrganizationScope(organization=membership.organization, membership=membership)
    organization = _operator_organization(request, org_slug)
    if organization is not None:
        return OrganizationScope(organization=organization, membership=None, operator_visit=True)
    redirect = OrganizationSlugRedirect.objects.filter(slug=org_slug).select_related("organization").first()
    if redirect is not None and (
        Membership.objects.filter(user=request.user, organization_id=redirect.organization_id).exists()
        or _operator_organization(request, redirect.organization.slug)
    ):
        raise Moved(f"/o/{org_slug}/", f"/o/{redirect.organization.slug}/")
    raise Http404


def project_scope_or_404(request: HttpRequest, org_slug: str, project_slug: str) -> ProjectScope:
    """The project a URL names, if the user may see its organisation; 404 otherwise (never 403)."""
    org_scope = organization_scope_or_404(request, org_slug)
    organization = org_scope.organization
    for project in organization.projects.all():
        if project.slug == project_slug:
            return ProjectScope(
                organization=organization,
                membership=org_scope.membership,
                operator_visit=org_scope.operator_visit,
                project=project,
            )
    redirect = ProjectSlugRedirect.objects.filter(organization=organization, slug=project_slug).first()
    if redirect is not None:
        new_slug = next(p.slug for p in organization.projects.all() if p.pk == redirect.project_id)
        raise Moved(f"/o/{org_slug}/{project_slug}/", f"/o/{org_slug}/{new_slug}/")
    raise Http404


def organization_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a view of `/o/<org_slug>/…`: it is called as `view(request, scope, **other_url_kwargs)`."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, org_slug: str, **kwargs: object) -> HttpResponse:
        return _enter(request, lambda: organization_scope_or_404(request, org_slug), view, kwargs)

    return wrapper


def project_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a view of `/o/<org_slug>/<project_slug>/…`: called as `view(request, scope, **other_url_kwargs)`."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, org_slug: str, project_slug: str, **kwargs: object) -> HttpResponse:
        return _enter(request, lambda: project_scope_or_404(request, org_slug, project_slug), view, kwargs)

    return wrapper


def _enter(
    request: HttpRequest,
    resolve: Callable[[], OrganizationScope],
    view: Callable[..., HttpResponse],
    kwargs: dict[str, object],
) -> HttpResponse:
    try:
        scope = resolve()
    except Moved as moved:
        return HttpResponseRedirect(request.get_full_path().replace(moved.old_prefix, moved.new_prefix, 1))
    if scope.operator_visit:
        if request.method not in SAFE_METHODS:
            raise PermissionDenied(_("Operators visit tenants read-only."))
        from tenants.actions import record_operator_visit
        from tenants.audit import Actor

        record_operator_visit(
            actor=Actor.from_request(request, via="operator", operator=True),
            organization=scope.organization,
            project=getattr(scope, "project", None),
            path=request.get_full_path(),
        )
    request.tenant_scope = scope
    return view(request, scope, **kwargs)
