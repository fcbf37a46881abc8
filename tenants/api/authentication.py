"""Who calls: a personal API token (`Authorization: Bearer hnl_…`) or the console's session (CSRF checked).

A token authenticates only while it is neither expired nor revoked and its user is still an active member of the
token's organisation; if that organisation requires two-factor authentication, the user must have set it up.
Its last use is written at most once a minute, not on every request.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.actions import api_token_hash
from tenants.audit import client_ip
from tenants.models import ApiToken, Membership, User

LAST_USED_INTERVAL = timedelta(minutes=1)
KEYWORD = "Bearer"


class TokenRefused(exceptions.AuthenticationFailed):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(detail=message, code=code)


class MfaRequired(exceptions.PermissionDenied):
    default_code = "mfa_required"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`request.user` is the token's user, `request.auth` the `ApiToken` (with `member_role` loaded)."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != KEYWORD.lower():
            return None
        if len(parts) != 2:
            raise TokenRefused(_("Send the token as “Authorization: Bearer <token>”."), "token_invalid")
        secret = parts[1].decode(errors="replace")
        member_role = Membership.objects.filter(user=OuterRef("user"), organization=OuterRef("organization"))
        token = (
            ApiToken.objects.select_related("user", "organization")
            .annotate(member_role=Subquery(member_role.values("role")[:1]))
            .filter(secret_hash=api_token_hash(secret))
            .first()
        )
        if token is None or not token.user.is_active:
            raise TokenRefused(_("This API token is not valid."), "token_invalid")
        if token.revoked_at is not None:
            raise TokenRefused(_("This API token was revoked."), "token_revoked")
        if token.status == ApiToken.Status.EXPIRED:
            raise TokenRefused(_("This API token has expired."), "token_expired")
        if token.member_role is None:
            raise TokenRefused(_("This API token's user is no longer a member of its organization."), "token_invalid")
        if token.organization.require_mfa and not (
            Authenticator.objects.filter(user=token.user, type=Authenticator.Type.TOTP).exists()
        ):
            raise MfaRequired(
                _("%(org)s requires two-factor authentication. Set it up in the console to use this token.")
                % {"org": token.organization.name}
            )
        self._touch(token, request)
        _use_preferences(token.user)
        return token.user, token

    def _touch(self, token: ApiToken, request: Request) -> None:
        now = timezone.now()
        if token.last_used_at is not None and token.last_used_at > now - LAST_USED_INTERVAL:
            return
        ip = client_ip(request)
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
        ).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


def _use_preferences(user: User) -> None:
    """Answer in the token user's language and time zone, as the console does for a signed-in session
    (`tenants.middleware.UserPreferencesMiddleware` runs before the token is read, and resets the zone after)."""
    if user.language and user.language in dict(settings.LANGUAGES):
        translation.activate(user.language)
    if user.time_zone:
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))


class SessionAuthentication(authentication.SessionAuthentication):
    """The console's session, for calls from its own pages; unsafe methods need the CSRF token (X-CSRFToken)."""


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hnl_<prefix>_<secret>",
            "description": "A personal API token from Settings → API tokens: `Authorization: Bearer hnl_…`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The console's session; POST, PATCH and DELETE also need the `X-CSRFToken` header.",
        }
