"""Which address rate limits and fraud signals count by, behind zero, one or two trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from referrals_saas.ratelimit import client_ip, hit


def request(remote="10.0.0.5", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_HOPS = 0
    assert client_ip(request(forwarded="203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # A client that writes its own header: the trusted proxy appended the real address last.
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.5"),  # fewer entries than proxies: the connection's address
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "unknown"),
    ],
)
def test_behind_trusted_proxies_the_outermost_one_s_view_counts(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_HOPS = hops
    assert client_ip(request(forwarded=forwarded)) == expected


def test_a_window_counts_each_hit():
    assert [hit("test:window", 60) for _ in range(3)] == [1, 2, 3]
