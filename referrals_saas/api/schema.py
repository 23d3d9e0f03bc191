"""OpenAPI details every operation shares: the bearer scheme, the error responses, the Idempotency-Key header."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .idempotency import HEADER, REPLAYED_HEADER


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="validation_error, not_found, authentication_failed, ...")
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field name (for validation_error); empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERRORS = {
    "400": "Bad input: `validation_error` with messages by field.",
    "401": "No API key, or a key that is not valid or was revoked: `authentication_failed`.",
    "403": "A read-only key tried to change something: `permission_denied`.",
    "404": "No such object in this business (another business's ids answer 404 too): `not_found`.",
    "409": "The same Idempotency-Key is still being processed: `conflict`.",
    "422": "The Idempotency-Key was used with a different request: `idempotency_key_reused`.",
    "429": "Rate limit of this key reached: `rate_limited`; retry after `Retry-After` seconds.",
}
READ_ERRORS = ("400", "401", "404", "429")
WRITE_ERRORS = ("400", "401", "403", "404", "429")
POST_ERRORS = (*WRITE_ERRORS, "409", "422")


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "referrals_saas.api.auth.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from the dashboard (Settings → API keys), read-only or read-write.",
        }


class APIAutoSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    HEADER,
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Any unique string (e.g. a UUID): a retry with the same key and body gets the first "
                    f"response again, with `{REPLAYED_HEADER}: true`. Kept 24 hours.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.method == "GET":
            codes = READ_ERRORS
        elif self.method == "POST":
            codes = POST_ERRORS
        else:
            codes = WRITE_ERRORS
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERRORS[code]
        responses["429"].setdefault("headers", {})["Retry-After"] = {
            "schema": {"type": "integer"},
            "description": "Seconds to wait before the next request.",
        }
        return responses
