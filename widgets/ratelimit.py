"""Fixed-window request counters in Django's cache (Redis in production), for the public profile pages."""

from __future__ import annotations

from django.core.cache import cache


def hit(key: str, window_seconds: int) -> int:
    """Count one more request under `key` in its window; returns how many so far. add + incr are atomic in Redis, so
    concurrent requests each get their own number."""
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # the window ran out between add and incr
        cache.set(key, 1, window_seconds)
        return 1


def client_ip(request) -> str:
    """The address the request came from as the web server saw it. Behind a proxy, the proxy's address unless the
    server is configured to pass on the client's (X-Forwarded-For is not trusted here: anyone can send it)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"
