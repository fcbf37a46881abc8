"""Permissions beyond "signed in": the roles themselves are checked by the actions (`tenants.policy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from tenants.models import ApiToken
from tenants.policy import NotFound

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class SessionOnly(BasePermission):
    """For what an API token must not do (create organisations, mint tokens): it would reach past its scope."""

    message = _("API tokens cannot do this; sign in to the console.")
    code = "token_not_allowed"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_authenticated and not isinstance(request.auth, ApiToken)


class OperatorOnly(BasePermission):
    """Operators' endpoints (catalog curation, quotas, quota requests): an operator signed in, or an operator's API
    token with an admin or owner ceiling. Anyone else gets 404, as the back office's pages answer."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_operator):
            raise NotFound()
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if token is not None and token.role not in ("admin", "owner"):
            raise NotFound()
        return True
