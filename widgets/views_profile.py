"""The client profile, /w/<business_slug>/me/: magic-link sign-in, then the client's referral link, friends and
rewards. A first-party page in the client's own browser tab (never inside the host page's frame), so the session
and CSRF cookies are ordinary first-party cookies.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from businesses.forms import add_errors
from businesses.models import Business
from clients.models import Client
from referrals_saas.ratelimit import client_ip, hit

from .client_session import client_sign_in, client_sign_out, signed_in_client
from .forms_profile import InviteForm, SignInForm
from .invitations import friend_invite
from .magic_links import SeenFrom, magic_link_check, magic_link_consume, magic_link_request, sign_in_request_allowed
from .profile import client_profile
from .selectors import widget_theme
from .views_public import public_business_view

# Attempts, successful or refused, a client may make on the invite form per day (refusals tell whether an address
# is a client's, so they are bounded too).
INVITE_ATTEMPTS_PER_DAY = 30
TOKEN_MAX = 100


def _page(request, business: Business, template: str, context: dict | None = None, *, status: int = 200):
    context = {"business": business, "theme": widget_theme(business), **(context or {})}
    return render(request, f"widgets/profile/{template}", context, status=status)


def _sign_in_page(request, business: Business, form: SignInForm | None = None, *, status=200, error=""):
    return _page(request, business, "sign_in.html", {"form": form or SignInForm(), "error": error}, status=status)


def _profile_page(request, business: Business, client: Client, invite_form: InviteForm | None = None, status=200):
    context = {
        "profile": client_profile(business=business, client=client),
        "invite_form": invite_form or InviteForm(),
        "signed_in": True,
    }
    return _page(request, business, "profile.html", context, status=status)


def _profile_url(business: Business) -> str:
    return reverse("widget_public:profile", args=[business.slug])


@never_cache
@require_http_methods(["GET", "POST"])
@public_business_view
def profile(request, business: Business):
    """GET: the signed-in client's profile, or the form asking for a sign-in link. POST: ask for a link."""
    if request.method == "POST":
        return _request_link(request, business)
    client = signed_in_client(request, business=business)
    if client is None:
        return _sign_in_page(request, business)
    return _profile_page(request, business, client)


def _request_link(request, business: Business):
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, business, form, status=400)
    email = form.cleaned_data["email"]
    if not sign_in_request_allowed(business=business, email=email, ip_address=client_ip(request)):
        error = _("Too many sign-in requests. Please wait 15 minutes, then try again.")
        return _sign_in_page(request, business, form, status=429, error=error)
    magic_link_request(business=business, email=email)
    # The same answer whether or not the address is a client's.
    return redirect("widget_public:profile_link_sent", business_slug=business.slug)


@never_cache
@require_GET
@public_business_view
def link_sent(request, business: Business):
    return _page(request, business, "sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
@public_business_view
def login(request, business: Business, token: str):
    """GET shows a "Sign in" button and uses nothing (mail scanners open links); POST uses the link, once."""
    token = token if len(token) <= TOKEN_MAX else ""
    if request.method == "GET":
        valid = magic_link_check(business=business, token=token) is not None
        response = _page(request, business, "login.html", {"valid": valid}, status=200 if valid else 400)
    else:
        seen = SeenFrom(ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:500])
        client = magic_link_consume(business=business, token=token, seen=seen)
        if client is None:
            response = _page(request, business, "login.html", {"valid": False}, status=400)
        else:
            client_sign_in(request, business=business, client=client)
            response = redirect(_profile_url(business))
    # The token is in this page's address: never send it to another site in a Referer header ("no-referrer" would
    # also blank the Origin of the page's own POST, which the CSRF check needs).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_POST
@public_business_view
def sign_out(request, business: Business):
    client_sign_out(request, business=business)
    messages.info(request, _("You are signed out."))
    return redirect(_profile_url(business))


@never_cache
@require_POST
@public_business_view
def invite(request, business: Business):
    client = signed_in_client(request, business=business)
    if client is None:
        messages.info(request, _("Please sign in again to invite a friend."))
        return redirect(_profile_url(business))
    form = InviteForm(request.POST)
    if hit(f"widgets:invite:{business.pk}:{client.pk}", 24 * 60 * 60) > INVITE_ATTEMPTS_PER_DAY:
        form.is_valid()
        form.add_error(None, _("That's a lot of invitations for one day. Please try again tomorrow."))
        return _profile_page(request, business, client, form, status=429)
    if not form.is_valid():
        return _profile_page(request, business, client, form, status=400)
    try:
        invitation = friend_invite(
            business=business,
            referrer=client,
            first_name=form.cleaned_data["first_name"],
            email=form.cleaned_data["email"],
        )
    except ValidationError as exc:
        add_errors(form, exc)
        return _profile_page(request, business, client, form, status=400)
    messages.success(request, _("Invitation sent to %(name)s.") % {"name": invitation.first_name})
    return redirect(_profile_url(business) + "#friends")
