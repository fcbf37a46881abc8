"""The OpenAPI schema's view of the API: every operation documents the JSON errors it may answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `not_found`, `permission_denied`, `throttled`.")
    message = serializers.CharField(help_text="For people, in the caller's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid input only: the messages of each field.",
    )

    class Meta:
        ref_name = "Error"


ERRORS = {
    "400": "Invalid input (`invalid`, with `fields`) or a refused change (`refused`).",
    "401": "No credentials, or the token is not valid, expired or revoked.",
    "403": "Your role or the token's role ceiling does not allow this (`permission_denied`), or two-factor "
    "authentication is required (`mfa_required`).",
    "404": "Not found, or not yours to see (another organization's objects look exactly like missing ones); for a "
    "list, a page or cursor that does not exist.",
    "409": "A conflict (`conflict`, `organization_suspended`, `idempotency_in_progress`).",
    "422": "The Idempotency-Key was used with another body (`idempotency_key_reused`).",
    "429": "Too many requests (`throttled`); see the Retry-After header.",
}


class ApiAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429"]
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            codes.append("404")  # an object not found, or a page/cursor of a list that does not exist
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += ["400", "409"]
        if self.method == "POST" and any(p.get("name") == "Idempotency-Key" for p in self._get_parameters()):
            codes.append("422")
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self.path.startswith("/api/v1/"):
            return responses
        for code in self._error_codes():
            if code not in responses:
                error = OpenApiResponse(ErrorSerializer, description=ERRORS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses
