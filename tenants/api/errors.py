"""Every API error is JSON: `{"code": "...", "message": "..."}`, plus `"fields"` for invalid input.

Refusals of the actions layer (`tenants.policy.ActionError`) keep their code and status; Django's 404 and 403
become the API's; anything else is a 500 that Django reports as usual.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tenants.policy import ActionError


class ApiError(exceptions.APIException):
    """An API error with its own code and status: `raise ApiError(message, code="…", status_code=409)`."""

    def __init__(self, message: str, *, code: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": str(message), **extra}


def _code_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    code = getattr(detail, "code", None)
    return str(code or exc.default_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: the JSON shape above for every error the API answers itself."""
    if isinstance(exc, ActionError):
        set_rollback()
        return Response(error_body(exc.code, str(exc.message)), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body("invalid", _("Some fields are not valid; see “fields”."), fields=fields)
    elif isinstance(exc, exceptions.Throttled):
        body = error_body(
            "throttled",
            _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": headers.get("Retry-After", "1")},
        )
    else:
        body = error_body(_code_of(exc), str(exc.detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


@csrf_exempt  # it changes nothing: a POST to an unknown address is a 404, not a CSRF failure
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any /api/ address that names no endpoint."""
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)
