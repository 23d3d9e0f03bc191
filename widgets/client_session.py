"""Who is signed in to a business's client profile: a first-party session entry per business, never a cookie the
host page's iframe would need (third-party cookies are not relied on).

The entry holds the client's id and a version derived from the client's e-mail and erasure: erasing the client or
changing their address signs every browser out, and a client merged into another is gone with their id. A client of
one business is nobody at another: the entry is keyed by the business.
"""

from __future__ import annotations

from django.utils.crypto import constant_time_compare, salted_hmac

from businesses.models import Business
from clients.models import Client

SALT = "widgets.client_session"


def _key(business: Business) -> str:
    return f"widget_client:{business.pk}"


def _version(client: Client) -> str:
    erased = client.erased_at.isoformat() if client.erased_at else ""
    return salted_hmac(SALT, f"{client.pk}:{client.email_canonical}:{erased}").hexdigest()[:24]


def client_sign_in(request, *, business: Business, client: Client) -> None:
    # A new session key on sign-in: a session id planted before it (fixation) does not become a signed-in one.
    request.session.cycle_key()
    request.session[_key(business)] = {"id": client.pk, "v": _version(client)}


def client_sign_out(request, *, business: Business) -> None:
    request.session.pop(_key(business), None)


def signed_in_client(request, *, business: Business) -> Client | None:
    """The client signed in to `business`'s profile in this browser, or None. A stale entry (erased, merged away,
    e-mail changed, test record) is dropped."""
    entry = request.session.get(_key(business))
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
        return None
    client = Client.objects.filter(business=business, pk=entry["id"], erased_at__isnull=True, is_test=False).first()
    if client is None or not constant_time_compare(str(entry.get("v", "")), _version(client)):
        client_sign_out(request, business=business)
        return None
    return client
