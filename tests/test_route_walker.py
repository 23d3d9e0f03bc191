"""Walk every dashboard URL as each persona and prove tenant isolation.

URLs are discovered from the URL configuration, so pages added by later issues are covered without editing
this file: an anonymous visitor is sent to log in, a member of another business gets 404 (also when using
this business's ids under their own business), staff get 403 on owner-only pages, and the owner gets the page.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from businesses.models import Role

from .factories import make_member
from .route_samples import build_samples

DASHBOARD_PREFIX = "b/<slug:business_slug>/"
CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# Everything outside the dashboard must be one of these on purpose (public pages, auth, operators).
PUBLIC_PREFIXES = (
    "",
    "healthz",
    "r/",
    "w/",
    "u/",
    "c/",
    "dashboard/",
    "businesses/new/",
    "invitations/",
    "accounts/",
    "admin/",
    "stripe/",
    # The REST API: every endpoint but the schema and docs needs an API key (tests/api/).
    "api/v1/",
)


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


ALL_ROUTES = list(walk(get_resolver().url_patterns))
DASHBOARD_ROUTES = [(route, view) for route, view in ALL_ROUTES if route.startswith(DASHBOARD_PREFIX)]
OBJECT_ROUTES = [route for route, _ in DASHBOARD_ROUTES if len(CONVERTER.findall(route)) > 1]


def fill(route: str, samples: dict) -> str:
    def value(match):
        name = match.group("name")
        if name not in samples:
            pytest.fail(f"Route walker: add a sample for <{name}> (route {route}) in tests/route_samples.py")
        return str(samples[name])

    return "/" + CONVERTER.sub(value, route)


def test_every_route_is_either_dashboard_or_declared_public():
    stray = [
        route
        for route, _ in ALL_ROUTES
        if not route.startswith(DASHBOARD_PREFIX)
        and not any(route.startswith(p) if p else route == "" for p in PUBLIC_PREFIXES)
    ]
    assert not stray, f"Routes outside /b/<slug>/ that nobody declared public: {stray}"


def test_every_dashboard_view_is_declared_with_business_view():
    undeclared = [route for route, view in DASHBOARD_ROUTES if not getattr(view, "business_view", False)]
    assert not undeclared, f"Wrap these views in @business_view: {undeclared}"


@pytest.fixture
def victim(business, owner):
    return {"business": business, "owner": owner, "samples": build_samples(business, owner)}


@pytest.mark.parametrize("route,view", DASHBOARD_ROUTES, ids=[r for r, _ in DASHBOARD_ROUTES])
class TestEveryDashboardRoute:
    def test_anonymous_visitor_is_sent_to_log_in(self, client, victim, route, view):
        url = fill(route, victim["samples"])
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next="), url

    def test_member_of_another_business_gets_404(self, client, victim, outsider, route, view):
        client.force_login(outsider)
        url = fill(route, victim["samples"])
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url

    def test_staff_get_403_on_owner_only_pages(self, client, victim, route, view):
        staff = make_member(victim["business"], Role.STAFF)
        client.force_login(staff)
        url = fill(route, victim["samples"])
        if view.owner_only:
            assert client.post(url).status_code == 403, url
            assert client.get(url).status_code in (403, 405), url
        else:
            assert client.get(url).status_code in (200, 405), url

    def test_owner_reaches_the_page(self, client, victim, route, view):
        client.force_login(victim["owner"])
        url = fill(route, victim["samples"])
        assert client.get(url).status_code in (200, 405), url


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_ids_of_one_business_under_another_business_get_404(client, victim, outsider, other_business, route):
    """The outsider owns their own business; using the victim's ids under it must find nothing."""
    client.force_login(outsider)
    url = fill(route, {**victim["samples"], "business_slug": other_business.slug})
    assert client.get(url).status_code in (404, 405), url
    assert client.post(url).status_code == 404, url
