"""What the widget's booking flow carries from step to step without cookies: parameters, signed tokens, limits.

The widget runs in a cross-site iframe where cookies may be blocked, so nothing here uses the session or the CSRF
cookie. Each token is signed with the site's secret and a salt naming its purpose and the business, so a token
made for one business or one purpose is worthless for another.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from django.core.signing import BadSignature, Signer, TimestampSigner
from django.urls import reverse

from bookings.models import Booking
from businesses.models import Business
from clients.models import Client
from clients.params import day_in_range, parse_id
from referrals_saas.ratelimit import hit

# Parameters that ride along, unchanged, through every step: the referral link's code and signed click time
# (referrals.codes.click_token) and a promotion code. Longer values are cut, not refused: they only ever
# come from links.
CARRIED = {"ref": 64, "ref_t": 200, "promo": 40}

# A form page may be left open this long before its POST is refused as expired.
FORM_TOKEN_MAX_AGE = 2 * 60 * 60
# The "you're booked" page's link works this long.
DONE_TOKEN_MAX_AGE = 24 * 60 * 60
# Confirmations per IP address per window; generous for a family booking together, tight for a script.
CONFIRM_LIMIT = 10
CONFIRM_WINDOW = 60 * 60


def carried(params) -> dict[str, str]:
    """The carried parameters present in `params` (a QueryDict), trimmed; empty ones are left out."""
    values = {name: (params.get(name) or "").strip()[:limit] for name, limit in CARRIED.items()}
    return {name: value for name, value in values.items() if value}


def step_url(business: Business, step: str, **params) -> str:
    """The URL of a step with its query parameters (empty ones left out)."""
    query = urlencode({name: value for name, value in params.items() if value not in (None, "")})
    url = reverse(f"widget_public:{step}", args=[business.slug])
    return f"{url}?{query}" if query else url


# --- Form token: the POST steps' protection instead of a CSRF cookie --------------------------------------------


def _form_signer(business: Business) -> TimestampSigner:
    return TimestampSigner(salt=f"widgets.booking-form.{business.pk}")


def form_token(business: Business) -> str:
    """A fresh token for a booking form. Its random part also names this booking attempt (see `booked_key`)."""
    return _form_signer(business).sign(secrets.token_urlsafe(12))


def form_token_nonce(business: Business, token: str) -> str | None:
    """The token's random part if it was made for this business within FORM_TOKEN_MAX_AGE, else None."""
    try:
        return _form_signer(business).unsign((token or "")[:200], max_age=FORM_TOKEN_MAX_AGE)
    except BadSignature:
        return None


def booked_key(business: Business, nonce: str) -> str:
    """Cache key of the booking a form token already made: a double submit shows that booking, not a second one."""
    return f"widgets:booked:{business.pk}:{nonce}"


# --- Named referrer: a client id the page may hold without showing it ---------------------------------------


def _referrer_signer(business: Business) -> Signer:
    return Signer(salt=f"widgets.named-referrer.{business.pk}")


def referrer_token(business: Business, client_id: int) -> str:
    return _referrer_signer(business).sign(str(client_id))


def referrer_from_token(business: Business, token: str) -> Client | None:
    """The referrer a "who referred you?" answer names, if the token is genuine and the client still refers."""
    try:
        client_id = parse_id(_referrer_signer(business).unsign((token or "")[:200]))
    except BadSignature:
        return None
    if client_id is None:
        return None
    return Client.objects.filter(business=business, pk=client_id, erased_at__isnull=True, is_test=False).first()


# --- The "you're booked" page's link -------------------------------------------------------------------------


def _done_signer(business: Business) -> TimestampSigner:
    return TimestampSigner(salt=f"widgets.booking-done.{business.pk}")


def done_token(business: Business, booking: Booking) -> str:
    return _done_signer(business).sign(str(booking.pk))


def booking_from_done_token(business: Business, token: str) -> Booking | None:
    try:
        booking_id = parse_id(_done_signer(business).unsign((token or "")[:200], max_age=DONE_TOKEN_MAX_AGE))
    except BadSignature:
        return None
    if booking_id is None:
        return None
    return Booking.objects.filter(business=business, pk=booking_id).select_related("service").first()


# --- Reading the steps' parameters -----------------------------------------------------------------------------


def parse_start(raw: str | None) -> datetime | None:
    """A slot's start: seconds since the epoch (unambiguous, even in the hour the clocks go back), else None."""
    seconds = parse_id(raw)
    if seconds is None:
        return None
    try:
        start = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return start if day_in_range(start.date()) else None


def start_param(start: datetime) -> str:
    return str(int(start.timestamp()))


def parse_day(raw: str | None) -> date | None:
    """A day written YYYY-MM-DD, else None."""
    if not raw or len(raw) > 10:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if day_in_range(day) else None


# --- Rate limit ---------------------------------------------------------------------------------------------------


def confirm_allowed(business, ip_address: str) -> bool:
    """Count one confirmation from this address at this business; False once it made more than CONFIRM_LIMIT in
    the window (a fixed window in the shared cache)."""
    return hit(f"widgets:confirm-rate:{business.pk}:{ip_address or 'unknown'}", CONFIRM_WINDOW) <= CONFIRM_LIMIT
