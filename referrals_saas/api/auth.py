"""`Authorization: Bearer <key>`: the key names its business, so the lookup runs across tenants on purpose."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework_api_key.permissions import KeyParser

from businesses.models import BusinessAPIKey

LAST_USED_EVERY = timedelta(minutes=1)


class BearerKeyParser(KeyParser):
    keyword = "Bearer"


def key_from_raw(raw: str) -> BusinessAPIKey | None:
    """The usable key `raw` spells (not revoked, not expired, hash matching), with its business; else None."""
    prefix, dot, _ = raw.partition(".")
    if not dot or not prefix or len(raw) > 200:
        return None
    with scopes_disabled():
        key = BusinessAPIKey.objects.select_related("business").filter(prefix=prefix, revoked=False).first()
    if key is None or key.has_expired or not key.is_valid(raw):
        return None
    return key


def touch(key: BusinessAPIKey) -> None:
    """Record that the key was used, at most once a minute (a conditional UPDATE: no read-modify-write)."""
    now = timezone.now()
    with scopes_disabled():
        BusinessAPIKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ).update(last_used_at=now)


class APIKeyAuthentication(BaseAuthentication):
    """No Authorization header: not authenticated (401). A wrong, revoked or expired key: 401 as well."""

    keyword = "Bearer"
    parser = BearerKeyParser()

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        raw = self.parser.get(request)
        if not raw:
            raise exceptions.AuthenticationFailed("Send the API key as `Authorization: Bearer <key>`.")
        key = key_from_raw(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or was revoked.")
        touch(key)
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'
