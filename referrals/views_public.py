"""The public referral link, /r/<code>: the hottest request of the product.

No session, no CSRF token, no database write: a cached lookup, a counter, a redirect (see referrals.clicks).
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed, HttpResponseRedirect

from . import clicks
from .codes import click_token


def click(request, code: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    target = clicks.lookup(code)
    if request.method == "GET":
        # HEAD is what link previews and crawlers send to check a link; it is answered but not counted.
        clicks.count(target)
    location = target.location
    if target.is_referral:
        # The click's time travels with the friend, signed, so the booking can check the attribution window
        # without a database write here.
        base, hash_mark, fragment = location.partition("#")
        location = f"{base}&ref_t={click_token(code)}{hash_mark}{fragment}"
    response = HttpResponseRedirect(location)
    # Every click has to reach us to be counted: no browser or proxy may keep the redirect.
    response["Cache-Control"] = "no-store"
    return response
