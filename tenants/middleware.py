"""Per-user request setup: the signed-in user's language and time zone, and organisations' two-factor policy.

Both run after Django's AuthenticationMiddleware (and allauth's), see `MIDDLEWARE` in console/settings.py.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.db.models import Exists
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from tenants.models import Organization, User

# Pages a member of an organisation that requires two-factor authentication may still open without it: setting it
# up (allauth's account and MFA pages, signing out), the account pages, choosing a language, accepting invitations,
# static files and the health check.
MFA_EXEMPT_PREFIXES: tuple[str, ...] = (
    "/accounts/",
    "/account/",
    "/i18n/",
    "/invitations/",
    "/healthz",
    "/api/schema/",
    "/api/docs/",
)
# API requests signed in by session get a JSON 403 instead of a redirect. (Requests with an API token are not signed
# in here: the token authentication refuses them itself when the token's organisation requires it.)
API_PREFIX = "/api/"


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class UserPreferencesMiddleware:
    """Activate the signed-in user's time zone and, when they chose one, their language (else the browser's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        timezone.deactivate()
        if user is not None and user.is_authenticated:
            zone = _zone(user.time_zone) if user.time_zone else None
            if zone is not None:
                timezone.activate(zone)
            if user.language and user.language in dict(settings.LANGUAGES):
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # a thread serves other users next


def organizations_requiring_mfa(user: User) -> list[str]:
    """Names of the user's organisations that require two-factor authentication while the user has no
    authenticator app; empty when nothing is required or it is set up. One query."""
    has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP)
    return list(
        Organization.objects.filter(memberships__user=user, require_mfa=True)
        .exclude(Exists(has_totp))
        .order_by("name")
        .values_list("name", flat=True)
    )


def mfa_required_message(names: list[str]) -> str:
    """“Demo Studio requires two-factor authentication. Set it up to continue.”"""
    organizations = ", ".join(names)
    return ngettext(
        "%(organizations)s requires two-factor authentication. Set it up to continue.",
        "%(organizations)s require two-factor authentication. Set it up to continue.",
        len(names),
    ) % {"organizations": organizations}


class RequireMFAMiddleware:
    """Send members of an organisation that requires two-factor authentication to set it up first.

    Anonymous requests and the exempt pages cost no query; any other signed-in request costs one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = settings.STATIC_URL or "/static/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._exempt(request.path_info):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        names = organizations_requiring_mfa(user)
        if not names:
            return self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse({"code": "mfa_required", "message": mfa_required_message(names)}, status=403)
        messages.warning(request, mfa_required_message(names), fail_silently=True)
        target = reverse("mfa_activate_totp")
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)

    def _exempt(self, path: str) -> bool:
        return path.startswith(self.static_prefix) or path.startswith(MFA_EXEMPT_PREFIXES)
