"""What a business's own website loads from us: the embed script (/w/embed.js) and the widget's logo."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from businesses.models import Business

from .selectors import widget_logo
from .views_public import public_business_view

EMBED_CACHE_SECONDS = 60 * 60
LOGO_CACHE_SECONDS = 60 * 60 * 24 * 365


def site_origin() -> str:
    """scheme://host[:port] of SITE_URL: where the iframes point and the only origin the script listens to."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


@require_safe
def embed_script(request):
    body = render_to_string("widgets/embed.js", {"origin": site_origin()})
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        body, content_type="application/javascript; charset=utf-8"
    )
    response["ETag"] = etag
    # Not versioned in its URL (the snippet on the business's site never changes), so cached for an hour only.
    response["Cache-Control"] = f"public, max-age={EMBED_CACHE_SECONDS}"
    return response


@require_safe
@public_business_view
def logo(request, business: Business, digest: str):
    found = widget_logo(business, digest)
    if found is None:
        raise Http404("No such logo")
    data, content_type = found
    response = HttpResponse(data, content_type=content_type)
    # The digest in the URL changes with the image, so the response never needs checking again.
    response["Cache-Control"] = f"public, max-age={LOGO_CACHE_SECONDS}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
