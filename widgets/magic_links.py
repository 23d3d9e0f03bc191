"""Magic-link sign-in to the client profile: a single-use link e-mailed to a client, valid for 15 minutes.

Only the token's sha256 is stored (businesses.models.hash_token). Asking for a link answers the same whether or not
the address belongs to a client (no account enumeration); requests are rate-limited per IP address and per
address. Opening the link does not use it (mail scanners prefetch links): the client presses "Sign in", and that
POST uses it with a conditional UPDATE, so two presses at once sign in one browser only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from businesses.models import Business, hash_token, new_token
from campaigns.services import outbox_enqueue
from clients.identity import canonical_email
from clients.models import Client, ClientLoginToken
from referrals.services import sighting_hashes, sighting_record
from referrals_saas.ratelimit import hit

from .emails import render_email

VALID_FOR = timedelta(minutes=15)
RATE_WINDOW_SECONDS = 15 * 60
REQUESTS_PER_ADDRESS = 3
REQUESTS_PER_IP = 10
TEMPLATE = "client_sign_in"


def sign_in_request_allowed(*, business: Business, email: str, ip_address: str) -> bool:
    """Count a request for a sign-in link and say whether it is within the limits. The address's limit counts
    every address, a client's or not, so a refusal says nothing about who is a client. Keys hold hashes only."""
    address = hashlib.sha256(f"{business.pk}:{canonical_email(email)}".encode()).hexdigest()
    network = hashlib.sha256(ip_address.encode()).hexdigest()
    by_ip = hit(f"widgets:sign-in:ip:{network}", RATE_WINDOW_SECONDS)
    by_address = hit(f"widgets:sign-in:address:{address}", RATE_WINDOW_SECONDS)
    return by_ip <= REQUESTS_PER_IP and by_address <= REQUESTS_PER_ADDRESS


def _profile_client(business: Business, email_canonical: str) -> Client | None:
    if not email_canonical:
        return None
    return Client.objects.filter(
        business=business, email_canonical=email_canonical, erased_at__isnull=True, is_test=False
    ).first()


def sign_in_link(business: Business, token: str) -> str:
    return settings.SITE_URL + reverse("widget_public:profile_login", args=[business.slug, token])


@transaction.atomic
def magic_link_request(*, business: Business, email: str, now: datetime | None = None) -> ClientLoginToken | None:
    """If a client of `business` (not erased, not a test record) has this address, store a new token's hash and
    write the sign-in e-mail to the outbox (transactional), in one transaction; else do nothing. Returns the row."""
    client = _profile_client(business, canonical_email(email))
    if client is None:
        return None
    now = now or timezone.now()
    token = new_token()
    row = ClientLoginToken.objects.create(
        business=business, client=client, token_hash=hash_token(token), created_at=now, expires_at=now + VALID_FOR
    )
    context = {
        "business_name": business.name,
        "first_name": client.first_name,
        "link": sign_in_link(business, token),
        "minutes": int(VALID_FOR.total_seconds() // 60),
    }
    outbox_enqueue(
        business=business,
        key=f"magic-link:{row.pk}",
        template=TEMPLATE,
        content=render_email(TEMPLATE, context),
        client=client,
        marketing=False,
    )
    return row


def _usable(business: Business, token: str, now: datetime):
    return ClientLoginToken.objects.filter(
        business=business, token_hash=hash_token(token or ""), used_at__isnull=True, expires_at__gt=now
    )


def _live_client(business: Business, client_id: int) -> Client | None:
    return Client.objects.filter(business=business, pk=client_id, erased_at__isnull=True, is_test=False).first()


def magic_link_check(*, business: Business, token: str, now: datetime | None = None) -> Client | None:
    """The client a still-usable link would sign in, without using it (what GET shows)."""
    row = _usable(business, token, now or timezone.now()).only("client_id").first()
    return _live_client(business, row.client_id) if row is not None else None


@dataclass(frozen=True)
class SeenFrom:
    ip_address: str = ""
    user_agent: str = ""


@transaction.atomic
def magic_link_consume(
    *, business: Business, token: str, now: datetime | None = None, seen: SeenFrom | None = None
) -> Client | None:
    """Use the link: the client to sign in, or None if it is unknown, used, expired, of another business, or its
    client was erased. Single use by a conditional UPDATE on the token row's own columns (a concurrent use waits
    for the row lock, re-checks `used_at` and changes nothing). Records where the client signed in from (hashed),
    which the referral engine compares with a friend's booking."""
    now = now or timezone.now()
    rows = _usable(business, token, now)
    client_id = rows.values_list("client_id", flat=True).first()
    if client_id is None or not rows.update(used_at=now):
        return None
    client = _live_client(business, client_id)
    if client is not None and seen is not None:
        fingerprint = sighting_hashes(business=business, ip_address=seen.ip_address, user_agent=seen.user_agent)
        sighting_record(business=business, client=client, fingerprint=fingerprint)
    return client


def merge_login_tokens(*, business: Business, keep: Client, merge: Client) -> None:
    """A client merged away loses their sign-in links: they were sent for a record that no longer exists."""
    ClientLoginToken.objects.filter(business=business, client=merge).delete()
