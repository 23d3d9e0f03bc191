"""Who may frame the public widget pages: `Content-Security-Policy: frame-ancestors` from the business's settings.

Every response under /w/<business_slug>/ (the logo excepted) says which origins may put it in an iframe: this
site and the origins the owner listed on the Widget page; nobody else, so a stranger's site cannot frame the
booking flow. X-Frame-Options is removed from these responses: it cannot express an allow-list, and a DENY next
to the CSP would contradict it.

The allowed origins are read with one query per business and kept in the cache; saving the widget settings
forgets them (widgets.services), and a short lifetime bounds what a slug change could leave behind.
"""

from __future__ import annotations

import re

from django.core.cache import cache
from django_scopes import scopes_disabled

from .origins import frame_ancestors

CACHE_KEY = "widgets:frame-origins:{slug}"
CACHE_SECONDS = 300
# The slug converter's alphabet; anything else is not a business's widget page.
_WIDGET_PATH = re.compile(r"^/w/(?P<slug>[-a-zA-Z0-9_]+)/(?P<rest>.*)$")
# Not documents, so never framed: the logo image.
_UNFRAMED = ("logo/",)


def allowed_origins(slug: str) -> list[str]:
    """The normalised origins that may frame the widget of the business with `slug` ([] if none or no business)."""
    key = CACHE_KEY.format(slug=slug)
    origins = cache.get(key)
    if origins is None:
        from .models import WidgetSettings

        # The business is not resolved yet: look across tenants for this one row, on purpose.
        with scopes_disabled():
            text = WidgetSettings.objects.filter(business__slug=slug).values_list("allowed_origins", flat=True).first()
        origins = [line for line in (text or "").splitlines() if line]
        cache.set(key, origins, CACHE_SECONDS)
    return origins


def forget(slug: str) -> None:
    cache.delete(CACHE_KEY.format(slug=slug))


class WidgetFramingMiddleware:
    """Listed before XFrameOptionsMiddleware, so it sees the response after that one has added its header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = _WIDGET_PATH.match(request.path_info)
        if match is None or match.group("rest").startswith(_UNFRAMED):
            return response
        policy = frame_ancestors(allowed_origins(match.group("slug")))
        if response.has_header("Content-Security-Policy"):
            # A page with a policy of its own keeps it; only the framing directive is ours.
            kept = [
                directive.strip()
                for directive in response["Content-Security-Policy"].split(";")
                if directive.strip() and directive.split()[0].lower() != "frame-ancestors"
            ]
            policy = "; ".join([*kept, policy])
        response["Content-Security-Policy"] = policy
        if response.has_header("X-Frame-Options"):
            del response["X-Frame-Options"]
        return response
