"""/u/<token>/: unsubscribing from a business's marketing e-mail, without logging in.

GET shows a page with one button (mail scanners that open links must not unsubscribe anyone); POST unsubscribes,
from that button or from the mail app's one-click (RFC 8058: a POST with `List-Unsubscribe=One-Click`). The
signed token is the authority, so there is no CSRF token: a mail app has none to send. A forged, damaged or
expired link gets a friendly 400 page.
"""

from __future__ import annotations

from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope

from businesses.models import Business
from clients.models import Client

from .services import client_unsubscribe
from .unsubscribe import BadToken, read_token

TEMPLATE = "campaigns/unsubscribe.html"


@csrf_exempt
@never_cache
def unsubscribe(request, token: str):
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    try:
        wanted = read_token(token)
    except BadToken:
        return render(request, TEMPLATE, {"state": "invalid"}, status=400)
    business = Business.objects.filter(pk=wanted.business_id).first()
    if business is None:
        return render(request, TEMPLATE, {"state": "invalid"}, status=400)
    context = {"business_name": business.name}
    with scope(business=business):
        client = Client.objects.filter(business=business, pk=wanted.client_id).first()
        if client is None or client.erased_at:
            # Nobody left to write to: nothing to withdraw, and nothing to tell about who it was.
            return render(request, TEMPLATE, {**context, "state": "done"})
        if request.method != "POST":
            return render(request, TEMPLATE, {**context, "state": "confirm"})
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        client_unsubscribe(
            business=business,
            client=client,
            channel=wanted.channel,
            reason="one_click" if one_click else "unsubscribe_link",
        )
    return render(request, TEMPLATE, {**context, "state": "done"})
