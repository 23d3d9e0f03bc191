"""Fixed-window request counters in Django's cache (Redis in production) and the client's address they count by."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.cache import cache


def hit(key: str, window_seconds: int) -> int:
    """Count one more request under `key` in its window; returns how many so far. add + incr are atomic in Redis, so
    concurrent requests each get their own number, and every web process counts together."""
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # the window ran out between add and incr
        cache.set(key, 1, window_seconds)
        return 1


def client_ip(request) -> str:
    """The visitor's address. Behind TRUSTED_PROXY_HOPS proxies it is the address the outermost trusted proxy saw,
    read from the right of X-Forwarded-For (what a client writes there itself lies further left and is ignored);
    without proxies, or without the header, the connection's address. "unknown" when neither is an address."""
    hops = settings.TRUSTED_PROXY_HOPS
    candidate = request.META.get("REMOTE_ADDR", "")
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return "unknown"
