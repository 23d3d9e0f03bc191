"""`Idempotency-Key` on POST: a retried request gets the first response again; a concurrent duplicate gets 409.

The in-progress record is inserted in its own transaction before the handler runs, so the unique constraint on
(API key, Idempotency-Key) decides which of two simultaneous requests runs. Only successful responses are kept:
a refused request (4xx raised by the handler) changed nothing, so its record is dropped and a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from businesses.models import IdempotencyRecord, IdempotencyStatus

from .errors import Conflict, IdempotencyKeyReused

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = IdempotencyRecord._meta.get_field("key").max_length


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _checked_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise exceptions.ValidationError({HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters."]})
    return key


def _claim(request, key: str, print_: str) -> IdempotencyRecord | Response:
    """Insert the in-progress record, or answer from the one that exists (replay, 409 or 422)."""
    api_key = request.auth
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    business=request.business, api_key=api_key, key=key, fingerprint=print_
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(business=request.business, api_key=api_key, key=key).first()
        if existing is None:
            continue  # deleted meanwhile (its request failed, or it expired): try to claim it again
        if existing.created_at < timezone.now() - KEEP_FOR:
            IdempotencyRecord.objects.filter(business=request.business, pk=existing.pk).delete()
            continue
        if existing.fingerprint != print_:
            raise IdempotencyKeyReused()
        if existing.status == IdempotencyStatus.IN_PROGRESS:
            raise Conflict()
        return Response(existing.response_body, status=existing.response_status, headers={REPLAYED_HEADER: "true"})
    raise Conflict()


def run_idempotent(request, handler, *args, **kwargs):
    """Call `handler` under the request's Idempotency-Key, if it sent one."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return handler(request, *args, **kwargs)
    print_ = fingerprint(request)
    claimed = _claim(request, _checked_key(raw), print_)
    if isinstance(claimed, Response):
        return claimed
    try:
        response = handler(request, *args, **kwargs)
    except BaseException:
        IdempotencyRecord.objects.filter(business=request.business, pk=claimed.pk).delete()
        raise
    if response.status_code >= 400:
        IdempotencyRecord.objects.filter(business=request.business, pk=claimed.pk).delete()
        return response
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    IdempotencyRecord.objects.filter(business=request.business, pk=claimed.pk).update(
        status=IdempotencyStatus.DONE, response_status=response.status_code, response_body=body
    )
    return response


def idempotency_records_expire(now=None) -> int:
    """Delete records past the replay window, across businesses; returns how many."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    with scopes_disabled():
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
