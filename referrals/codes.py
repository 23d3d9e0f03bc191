"""Personal referral codes: short, human-typeable, unguessable, case-insensitive, unique within a business.

Codes use an alphabet without look-alikes (no 0/O, 1/I/L, U) so a code read aloud or copied by hand still
matches; 8 characters from 31 give ~8.5e11 codes per business, far beyond guessing by clicking links.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.signing import BadSignature, Signer
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from businesses.models import Business
from clients.models import Client

from . import clicks
from .models import ReferralCode

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(raw: str) -> str:
    """The stored form of a typed or linked code: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in (raw or "").upper() if ch.isascii() and ch.isalnum())[:32]


def _create_current(business: Business, client: Client) -> ReferralCode:
    for _ in range(10):
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(business=business, client=client, code=new_code())
        except IntegrityError:
            # Either the random code was taken (rare) or another request made this client's code first.
            existing = ReferralCode.objects.filter(business=business, client=client, is_current=True).first()
            if existing:
                return existing
    raise RuntimeError("Could not find a free referral code after 10 tries")


def code_for_client(*, business: Business, client: Client) -> ReferralCode:
    """The client's current code, made on first use. Safe to call concurrently: one current code per client."""
    existing = ReferralCode.objects.filter(business=business, client=client, is_current=True).first()
    return existing or _create_current(business, client)


@transaction.atomic
def code_regenerate(*, business: Business, client: Client) -> ReferralCode:
    """Give the client a new current code. The old one keeps attributing until the owner retires it."""
    ReferralCode.objects.filter(business=business, client=client, is_current=True).update(is_current=False)
    return _create_current(business, client)


@transaction.atomic
def code_retire(*, business: Business, code: ReferralCode) -> ReferralCode:
    """Stop a code from attributing (and its link from carrying a referral). Locks the row; the current code
    cannot be retired: give the client a new code first. Retiring twice changes nothing."""
    locked = ReferralCode.objects.select_for_update().get(business=business, pk=code.pk)
    if locked.is_current:
        raise ValidationError("The client's current code cannot be retired; give them a new code first.")
    if locked.retired_at is None:
        locked.retired_at = timezone.now()
        locked.save(update_fields=["retired_at"])
        clicks.forget_code(locked)
    return locked


def code_resolve(*, business: Business, raw: str) -> ReferralCode | None:
    """The active code matching what a person typed or a link carried, or None."""
    code = normalise(raw)
    if not code:
        return None
    return (
        ReferralCode.objects.select_related("client")
        .filter(business=business, code=code, retired_at__isnull=True, client__erased_at__isnull=True)
        .first()
    )


def link_for(code: ReferralCode | str) -> str:
    """The absolute link a client shares: /r/<code>, on the site's own address."""
    return settings.SITE_URL + reverse("referral_click", args=[str(code)])


_CLICK_SIGNER = Signer(salt="referrals.click-time")


def click_token(raw_code: str, now: float | None = None) -> str:
    """The click's time, signed with the code it belongs to: `ref_t` on the redirect from /r/<code>."""
    return _CLICK_SIGNER.sign(f"{normalise(raw_code)}.{int(now if now is not None else time.time())}")


def click_time_from(raw_code: str, token: str) -> datetime | None:
    """When the link with `raw_code` was clicked, if `token` is a genuine `click_token` for that code; else None
    (a typed code, a forged or altered token, or one made for another code)."""
    try:
        code, _, stamp = _CLICK_SIGNER.unsign(token or "").rpartition(".")
        clicked = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (BadSignature, ValueError, OverflowError, OSError):
        return None
    return clicked if code == normalise(raw_code) else None
