"""The console shell's own pages: dashboard, project overview, health."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from console.context_processors import CURRENT_PROJECT_SESSION_KEY
from console.core import live
from infra import quotas
from infra.views_servers import count_links, project_counts
from tenants import feed
from tenants.api.errors import error_body
from tenants.models import Invitation, Membership
from tenants.scope import ProjectScope, project_view, with_projects

DASHBOARD_PAGE_SIZE = 10  # organisations per page of the dashboard


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The user's organisations with their projects, a page at a time (searchable by name, for users in many), and
    invitations addressed to one of the user's verified e-mail addresses."""
    emails = request.user.emailaddress_set.filter(verified=True).values("email")
    invitations = (
        Invitation.objects.pending()
        .filter(email__in=emails)
        .exclude(organization__memberships__user=request.user)
        .select_related("organization")
    )
    query = request.GET.get("q", "").strip()[:100]
    memberships = Membership.objects.filter(user=request.user)
    if query:
        memberships = memberships.filter(organization__name__icontains=query)
    memberships = with_projects(memberships).order_by("organization__name", "organization_id")
    page = Paginator(memberships, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "invitations": list(invitations),
        "page": page,
        "memberships": page.object_list,
        "query": query,
        "page_query": f"{urlencode({'q': query})}&" if query else "",  # the pages' links keep the search
    }
    return render(request, "console/dashboard.html", context)


@require_safe
@project_view
def project_overview(request: HttpRequest, scope: ProjectScope) -> HttpResponse:
    if not scope.operator_visit and request.session.get(CURRENT_PROJECT_SESSION_KEY) != str(scope.project.pk):
        request.session[CURRENT_PROJECT_SESSION_KEY] = str(scope.project.pk)
    member_count = Membership.objects.filter(organization_id=scope.project.organization_id).count()
    activity_url = None
    if scope.can_audit:
        activity_url = (
            reverse("activity", kwargs={"org_slug": scope.organization.slug}) + f"?project={scope.project.pk}"
        )
    context = {
        "scope": scope,
        "project": scope.project,
        "membership": scope.membership,
        "member_count": member_count,
        "feed": feed.recent(scope),
        "feed_size": feed.FEED_SIZE,
        "activity_url": activity_url,
        "live_url": live.socket_path(scope.project),
        "quota_regions": quotas.overview(scope.project, quotas.COMPUTE),
    }
    counts = project_counts(scope)
    servers_url = reverse("servers", kwargs={"org_slug": scope.organization.slug, "project_slug": scope.project.slug})
    context.update(counts=counts, count_links=count_links(servers_url, counts), servers_url=servers_url)
    return render(request, "console/project_overview.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the console's own services, for load balancers and `make run`'s start-up check."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means unhealthy; say which
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "1" else "error: value not read back"
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


API_PREFIX = "/api/"
API_ERROR_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 500: "server_error"}


def _error_page(request: HttpRequest, status: int, title: str, text: str, *, code: str = "") -> HttpResponse:
    """Our error page; under /api/ the API's JSON error instead (an address no endpoint matches, a 500)."""
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(error_body(code or API_ERROR_CODES[status], text), status=status)
    context = {"error_code": status, "error_title": title, "error_text": text}
    return render(request, "console/error_page.html", context, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(
        request,
        404,
        _("Page not found"),
        _("There is nothing here, or you do not have access to it. Check the address, or go back to the console."),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 403, _("Not allowed"), _("Your role does not allow this action."))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its security token (most often a page left open too long): our page, not Django's."""
    return _error_page(
        request,
        403,
        _("This page has expired"),
        _("The form was open too long or cookies are blocked. Go back, reload the page and try again."),
        code="csrf_failed",
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 400, _("Bad request"), _("The request could not be understood. Please try again."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error_page(
        request,
        500,
        _("Something went wrong"),
        _("The error has been logged. Please try again in a moment."),
    )
