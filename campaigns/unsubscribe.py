"""The one-click unsubscribe link of marketing messages: /u/<token>/, signed, with no login.

The token carries the business, the client and the channel, signed with a salt of its own (a token made for
another purpose never reads as one) and a timestamp: a link keeps working for MAX_AGE, well beyond the 30 days
the law asks for, and is refused after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Channel

SALT = "campaigns.unsubscribe"
MAX_AGE = timedelta(days=400)


@dataclass(frozen=True)
class UnsubscribeRequest:
    business_id: int
    client_id: int
    channel: str


class BadToken(Exception):
    """The link is forged, damaged or too old."""


def make_token(*, business_id: int, client_id: int, channel: str = Channel.EMAIL) -> str:
    return signing.dumps({"b": business_id, "c": client_id, "ch": str(channel)}, salt=SALT, compress=True)


def read_token(token: str) -> UnsubscribeRequest:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise BadToken(str(exc)) from None
    except Exception:  # a payload that passes the signature but does not decode: still only a bad link
        raise BadToken("Unreadable token.") from None
    if not isinstance(data, dict):
        raise BadToken("Unexpected token.")
    business_id, client_id, channel = data.get("b"), data.get("c"), data.get("ch")
    if not isinstance(business_id, int) or not isinstance(client_id, int) or channel not in Channel.values:
        raise BadToken("Unexpected token.")
    return UnsubscribeRequest(business_id, client_id, channel)


def unsubscribe_url(*, business_id: int, client_id: int, channel: str = Channel.EMAIL) -> str:
    token = make_token(business_id=business_id, client_id=client_id, channel=channel)
    return settings.SITE_URL + reverse("unsubscribe", args=[token])
