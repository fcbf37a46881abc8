"""`Idempotency-Key` for creates: a retry with the same key replays the first response instead of creating again.

Keys are scoped to (token or user, method, path) and kept `API_IDEMPOTENCY_HOURS` (24 h). The first request claims
the key (a row committed before the work starts); its work and the stored response commit together, so either both
exist or neither. A repeat with the same body replays the stored response (header `Idempotent-Replayed: true`); a
repeat with a different body answers 422; a repeat while the first is still running answers 409. Only successful
(2xx) responses are kept: after a refusal or an error the key is released, so a corrected request may reuse it.

Use it on any create endpoint's handler method:

    @idempotent
    def post(self, request, ...): ...
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.errors import ApiError
from tenants.api.scope import request_token
from tenants.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("Location",)

PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) up to 255 characters. A retry with the same key and body within 24 hours "
        "replays the first response (header `Idempotent-Replayed: true`) instead of creating again; the same key "
        "with a different body answers 422, and while the first request is still running, 409."
    ),
)


def scope_of(request: Request) -> str:
    token = request_token(request)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


def body_hash(data: Any) -> str:
    """A hash of a parsed request body (key order and spacing do not matter)."""
    if hasattr(data, "lists"):  # a QueryDict
        data = {key: values for key, values in data.lists()}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def fingerprint(request: Request) -> str:
    return body_hash(request.data)


def _expired_before() -> timezone.datetime:
    return timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def purge_expired() -> int:
    """Delete records past their keeping time (Celery beat runs it hourly); returns how many went."""
    deleted, _counts = IdempotencyRecord.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted


def _claim(request: Request, key: str, request_hash: str) -> tuple[IdempotencyRecord | None, Response | None]:
    """Claim the key (returns the new record), or answer for it (a replay, 409 or 422)."""
    lookup = {"scope": scope_of(request), "method": request.method, "path": request.path[:500], "key": key}
    IdempotencyRecord.objects.filter(**lookup, created_at__lt=_expired_before()).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(**lookup, request_hash=request_hash), None
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(**lookup).first()
    if existing is None:  # released meanwhile: try once more
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(**lookup, request_hash=request_hash), None
        except IntegrityError:
            existing = IdempotencyRecord.objects.get(**lookup)
    if existing.request_hash != request_hash:
        raise ApiError(
            _("This Idempotency-Key was already used with a different request body. Use a new key."),
            code="idempotency_key_reused",
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if existing.status_code is None:
        abandoned_before = timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_LOCK_SECONDS)
        taken = IdempotencyRecord.objects.filter(
            pk=existing.pk, status_code__isnull=True, created_at__lt=abandoned_before
        ).update(created_at=timezone.now())
        if taken:
            return existing, None
        raise ApiError(
            _("A request with this Idempotency-Key is still in progress. Retry in a moment."),
            code="idempotency_in_progress",
            status_code=status.HTTP_409_CONFLICT,
        )
    headers = {**existing.response_headers, REPLAYED_HEADER: "true"}
    body = json.loads(existing.response_body) if existing.response_body else None
    return None, Response(body, status=existing.status_code, headers=headers)


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a create handler (`post`) of an APIView to honour `Idempotency-Key` (and document the header)."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                _("The Idempotency-Key header must be 1 to %(max)s characters.") % {"max": MAX_KEY_LENGTH},
                code="idempotency_key_invalid",
            )
        record, replay = _claim(request, key, fingerprint(request))
        if replay is not None:
            return replay
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if status.is_success(response.status_code):
                    record.status_code = response.status_code
                    record.response_body = JSONRenderer().render(response.data).decode()
                    record.response_headers = {name: response[name] for name in KEPT_HEADERS if name in response}
                    record.save(update_fields=["status_code", "response_body", "response_headers"])
        except BaseException:
            _release(record)
            raise
        if record.status_code is None:
            _release(record)
        return response

    return extend_schema(parameters=[PARAMETER])(wrapper)
