"""Shared by the client-profile tests: a referrer with an address, asking for a sign-in link, signing in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django_scopes import scope

from campaigns.models import OutboxMessage

from ..referrals.conftest import make_client, make_program, make_service

LINK = re.compile(r"https?://\S+/me/login/(?P<token>[A-Za-z0-9_-]+)/")


def profile_url(business) -> str:
    return f"/w/{business.slug}/me/"


def ask_for_link(http, business, email: str, **extra):
    return http.post(profile_url(business), {"email": email}, **extra)


def last_sign_in_link(business) -> tuple[str, str]:
    """(path, token) of the newest sign-in e-mail in the outbox, taken from its text as a client would."""
    with scope(business=business):
        message = OutboxMessage.objects.filter(business=business, template="client_sign_in").order_by("-id").first()
    assert message is not None, "no sign-in e-mail was written"
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return urlsplit(match.group(0)).path, match.group("token")


def sign_in(http, business, email: str) -> None:
    """Ask for a link, open it and press "Sign in", as the client would."""
    assert ask_for_link(http, business, email).status_code == 302
    path, _ = last_sign_in_link(business)
    assert http.get(path).status_code == 200
    response = http.post(path)
    assert response.status_code == 302 and response["Location"] == profile_url(business), response


def referrer_setup(business, email="anna.berg@gmail.com", **fields):
    """A running program over one service and a referrer with an address; returns (referrer, service)."""
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, "Anna", "Berg", email=email, **fields)
    return anna, massage
