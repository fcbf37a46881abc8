"""Throttling per API token (per user for sessions, per IP address for anonymous requests), counted in the Redis
cache. Rates come from settings at request time (`HANEUL_API_THROTTLE_RATE`, `HANEUL_API_ANON_THROTTLE_RATE`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiToken

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ApiRateThrottle(SimpleRateThrottle):
    """A 429 with `Retry-After` once the caller has used up its rate in the current window."""

    scope = "api"

    def __init__(self) -> None:  # the rate is chosen per request: no THROTTLE_RATES lookup here
        self.rate = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiToken):
            self.ident, self.rate = f"token:{request.auth.pk}", settings.API_THROTTLE_RATE
        elif request.user and request.user.is_authenticated:
            self.ident, self.rate = f"user:{request.user.pk}", settings.API_THROTTLE_RATE
        else:
            self.ident, self.rate = f"ip:{self.get_ident(request)}", settings.API_ANON_THROTTLE_RATE
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return f"api-throttle:{self.ident}"
