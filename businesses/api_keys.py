"""Use cases for the REST API's keys: create (the whole key is returned once and never stored) and revoke."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import APIKeyScope, Business, BusinessAPIKey
from .services import audit_record

NAME_MAX = BusinessAPIKey._meta.get_field("name").max_length


@transaction.atomic
def api_key_create(*, business: Business, name: str, scope: str, actor=None) -> tuple[BusinessAPIKey, str]:
    """A new key for `business`; returns it and the whole key, which only its hash is kept of."""
    name = " ".join((name or "").split())
    errors = {}
    if not name:
        errors["name"] = "Name the key after the system that uses it, e.g. “Booking system”."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    if scope not in APIKeyScope.values:
        errors["scope"] = "Choose read only or read and write."
    if errors:
        raise ValidationError(errors)
    key, raw = BusinessAPIKey.objects.create_key(business=business, name=name, scope=scope, created_by=actor)
    audit_record(business=business, actor=actor, action="api_key.created", subject=None, prefix=key.prefix, name=name)
    return key, raw


@transaction.atomic
def api_key_revoke(*, business: Business, key: BusinessAPIKey, actor=None) -> BusinessAPIKey:
    """Revoke a key for good. Locks the row; revoking twice changes nothing."""
    locked = BusinessAPIKey.objects.select_for_update().get(business=business, pk=key.pk)
    if locked.revoked:
        return locked
    locked.revoked = True
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked", "revoked_at"])
    audit_record(business=business, actor=actor, action="api_key.revoked", subject=None, prefix=locked.prefix)
    return locked
