"""One error format for every API error:

    {"error": {"code": "validation_error", "message": "...", "fields": {"email": ["..."]}}}

Django ValidationErrors raised by services become 400s with their fields; Http404 and missing rows 404; DRF's own
exceptions keep their status (and headers such as Retry-After and WWW-Authenticate).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.html import strip_tags
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD_KEYS = (api_settings.NON_FIELD_ERRORS_KEY, "__all__")

CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "validation_error"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "authentication_failed"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another request (method, path or body)."
    default_code = "idempotency_key_reused"


def _text(value) -> str:
    # Some service messages carry a dashboard link (HTML): the API gives the words only.
    return strip_tags(str(value))


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "rules.0.value": [...]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            key = f"{prefix}.{name}" if prefix else str(name)
            for sub_key, messages in _flatten(value, key).items():
                fields.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            fields[prefix or api_settings.NON_FIELD_ERRORS_KEY] = [_text(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for sub_key, messages in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    fields.setdefault(sub_key, []).extend(messages)
    else:
        fields[prefix or api_settings.NON_FIELD_ERRORS_KEY] = [_text(detail)]
    return fields


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _validation_body(detail) -> dict:
    fields = _flatten(detail)
    general = []
    for key in NON_FIELD_KEYS:
        general.extend(fields.pop(key, []))
    message = " ".join(general) or "Some fields are not valid."
    return error_body("validation_error", message, fields)


def _from_django_validation(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError({name: [_text(m) for m in msgs] for name, msgs in error.message_dict.items()})
    return exceptions.ValidationError([_text(m) for m in error.messages])


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound(str(exc) if str(exc) and isinstance(exc, Http404) else "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handling and logging take it
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
        return response
    code = getattr(exc, "default_code", "error")
    for cls, name in CODES:
        if isinstance(exc, cls):
            code = name
            break
    detail = exc.detail
    message = _text(detail if not isinstance(detail, dict | list) else " ".join(_flatten(detail).get("detail", [])))
    if isinstance(exc, exceptions.Throttled):
        message = "Too many requests for this API key; retry after the number of seconds in Retry-After."
    response.data = error_body(code, message)
    return response


def not_found_view(request, *args, **kwargs):
    """Any /api/v1/ address that names no endpoint: a JSON 404 in the API's format, not the HTML page."""
    return JsonResponse(error_body("not_found", "No API endpoint at this address."), status=404)
