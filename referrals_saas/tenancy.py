"""Resolve the tenant once per request and activate it as the ORM scope.

Dashboard URLs are `/b/<business_slug>/...`. The middleware checks that the signed-in user is a member of that
business (anyone else gets 404, an anonymous visitor the login page), puts the business and the membership on
the request, and runs the view, template rendering included, inside `scope(business=...)` and the business's
time zone. A query on a tenant-owned model outside any scope raises, so a forgotten filter fails closed.
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_scopes import scope, scopes_disabled

DASHBOARD_PREFIX = "/b/"
ADMIN_PREFIX = "/admin/"
LAST_BUSINESS_SESSION_KEY = "last_business_slug"


def membership_for(user, business_slug: str):
    """The user's membership of the business with this slug, or None. Looks across tenants on purpose."""
    from businesses.models import Membership

    with scopes_disabled():
        return Membership.objects.select_related("business").filter(user=user, business__slug=business_slug).first()


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.business = None
        request.membership = None
        path = request.path_info
        if path.startswith(ADMIN_PREFIX):
            # Operators see every tenant; the admin itself checks that the user is staff.
            with scopes_disabled():
                return self.get_response(request)
        if not path.startswith(DASHBOARD_PREFIX):
            return self.get_response(request)
        try:
            slug = resolve(path).kwargs.get("business_slug")
        except Resolver404:
            slug = None
        if slug is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for(request.user, slug)
        if membership is None:
            raise Http404("No such business")
        business = membership.business
        request.business = business
        request.membership = membership
        if request.session.get(LAST_BUSINESS_SESSION_KEY) != business.slug:
            request.session[LAST_BUSINESS_SESSION_KEY] = business.slug
        with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
            response = self.get_response(request)
            # A TemplateResponse renders lazily; render it while the scope is still active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response


def business_view(view=None, *, owner_only: bool = False):
    """Declare a dashboard view. The view receives `request.business`; `business_slug` is consumed here.

    `owner_only=True` answers 403 to staff. The route walker reads `owner_only` to prove it for every URL.
    """

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, business_slug: str, **kwargs):
            if request.business is None or request.business.slug != business_slug:
                # Only reachable if the URL was mounted outside /b/<business_slug>/: fail closed.
                raise Http404
            if owner_only and not request.membership.is_owner:
                raise PermissionDenied("Only the business owner can do this.")
            return func(request, *args, **kwargs)

        wrapper.business_view = True
        wrapper.owner_only = owner_only
        return wrapper

    return decorate(view) if view is not None else decorate
