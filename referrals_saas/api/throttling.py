"""Rate limits per API key (not per address): reads and writes counted apart, in the cache. The rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read on each request, so a test or an operator can change them."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from businesses.models import BusinessAPIKey


class _KeyThrottle(SimpleRateThrottle):
    safe: bool

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        if (request.method in SAFE_METHODS) != self.safe:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        key = request.auth
        if not isinstance(key, BusinessAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.prefix}


class ReadThrottle(_KeyThrottle):
    scope = "api_read"
    safe = True


class WriteThrottle(_KeyThrottle):
    scope = "api_write"
    safe = False
