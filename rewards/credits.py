"""Service credits: a prepaid service on file ("1 × 60-minute massage"), issued by hand, by a rule or by a
milestone, and used on a booking of that service.

Every use locks the credit's row, checks what is left, writes a ServiceCreditUse (the ledger entry) and moves
`used` with F() in the same transaction; the row's check constraint (used <= quantity) is the last wall, and a
partial unique constraint keeps a booking from using two credits. In the engine's lock order service credits sit
with coupons: after rewards, before wallet rows.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from businesses.events import event_record
from businesses.models import Business, Service
from clients.models import Client

from .models import Reward, ServiceCredit, ServiceCreditSource, ServiceCreditUse

MAX_QUANTITY = 1000


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def service_credit_label(credit: ServiceCredit) -> str:
    return f"{credit.quantity} × {credit.service.name}"


@transaction.atomic
def service_credit_issue(
    *,
    business: Business,
    client: Client,
    service: Service,
    quantity: int = 1,
    source: str,
    expires_at: datetime | None = None,
    actor=None,
    reward: Reward | None = None,
    reason: str = "",
    is_test: bool = False,
) -> ServiceCredit:
    """Put `quantity` prepaid sessions of `service` on `client`'s file. Writes one row; nothing to lock."""
    if client.business_id != business.id:
        raise ValidationError({"client": "The client must belong to this business."})
    if service is None or service.business_id != business.id:
        raise ValidationError({"service": "Choose one of this business's services."})
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError({"quantity": f"Enter a whole number from 1 to {MAX_QUANTITY}."})
    if source not in ServiceCreditSource.values:
        raise ValidationError({"source": "Unknown source."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if reward is not None and reward.business_id != business.id:
        raise ValidationError({"reward": "The reward must belong to this business."})
    credit = ServiceCredit.objects.create(
        business=business,
        client=client,
        service=service,
        quantity=quantity,
        source=source,
        reason=(reason or "").strip()[:200],
        reward=reward,
        expires_at=expires_at,
        is_test=is_test,
        created_by=_user(actor),
    )
    event_record(
        business=business,
        kind="service_credit.issued",
        subject=credit,
        actor=actor,
        client_id=client.pk,
        service_id=service.pk,
        quantity=quantity,
        source=source,
    )
    return credit


def service_credit_problem(credit: ServiceCredit, *, booking: Booking, now=None) -> str | None:
    """Why `credit` cannot be used on `booking` now, in words for staff; None if it can."""
    if credit.client_id != booking.client_id:
        return "This service credit belongs to another client."
    if credit.service_id != booking.service_id:
        return "This service credit is for another service."
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        return "A cancelled or missed booking cannot use a service credit."
    if credit.remaining <= 0:
        return "This service credit has been used up."
    if credit.is_expired(now):
        return "This service credit has expired."
    return None


@transaction.atomic
def service_credit_use(*, business: Business, credit: ServiceCredit, booking: Booking, actor=None) -> ServiceCreditUse:
    """Use one session of `credit` on `booking`. Locks the credit row: of two uses at once the second sees what the
    first left; a booking already carrying a credit is refused by a unique constraint. Changes nothing if refused."""
    if credit.business_id != business.id or booking.business_id != business.id:
        raise ValidationError("The credit and the booking must belong to this business.")
    locked = ServiceCredit.objects.select_for_update().get(business=business, pk=credit.pk)
    problem = service_credit_problem(locked, booking=booking)
    if problem:
        raise ValidationError({"service_credit": problem})
    try:
        with transaction.atomic():
            use = ServiceCreditUse.objects.create(
                business=business, credit=locked, booking=booking, created_by=_user(actor)
            )
    except IntegrityError as exc:
        raise ValidationError({"service_credit": "This booking already uses a service credit."}) from exc
    ServiceCredit.objects.filter(business=business, pk=locked.pk).update(used=F("used") + 1)
    locked.used += 1
    event_record(
        business=business,
        kind="service_credit.used",
        subject=use,
        actor=actor,
        credit_id=locked.pk,
        client_id=locked.client_id,
        booking_id=booking.pk,
        remaining=locked.remaining,
    )
    return use


@transaction.atomic
def service_credit_reverse_use(*, business: Business, use: ServiceCreditUse, actor=None) -> ServiceCreditUse:
    """Give back the session `use` took (a voided payment). Locks the credit row, then reads the use under it;
    reversing twice changes nothing."""
    if use.business_id != business.id:
        raise ValidationError("The use must belong to this business.")
    ServiceCredit.objects.select_for_update().get(business=business, pk=use.credit_id)
    locked = ServiceCreditUse.objects.select_for_update().get(business=business, pk=use.pk)
    if locked.reversed_at is not None:
        return locked
    locked.reversed_at, locked.reversed_by = timezone.now(), _user(actor)
    locked.save(update_fields=["reversed_at", "reversed_by"])
    ServiceCredit.objects.filter(business=business, pk=locked.credit_id).update(used=F("used") - 1)
    event_record(
        business=business,
        kind="service_credit.use_reversed",
        subject=locked,
        actor=actor,
        credit_id=locked.credit_id,
        booking_id=locked.booking_id,
    )
    return locked


@transaction.atomic
def service_credit_revoke(*, business: Business, credit: ServiceCredit, reason: str = "", actor=None) -> bool:
    """Take back a credit nobody has used (a referral reward whose booking was cancelled). Locks the credit row, so
    a use and a revocation at the same moment cannot both win; returns False, changing nothing, if a session of it
    was used (or is in use). A revoked credit gets `revoked_at` and expires now, so nothing can use it any more.
    Revoking twice returns True and changes nothing."""
    if credit.business_id != business.id:
        raise ValidationError("The credit must belong to this business.")
    locked = ServiceCredit.objects.select_for_update().get(business=business, pk=credit.pk)
    if locked.revoked_at is not None:
        return True
    if locked.used > 0:
        return False
    now = timezone.now()
    locked.revoked_at = now
    if locked.expires_at is None or locked.expires_at > now:
        locked.expires_at = now
    locked.save(update_fields=["revoked_at", "expires_at"])
    event_record(
        business=business,
        kind="service_credit.revoked",
        subject=locked,
        actor=actor,
        client_id=locked.client_id,
        reason=(reason or "")[:200],
    )
    return True


def service_credits_available(*, business: Business, client: Client, service: Service | None = None):
    """The client's credits with a session left and not expired, expiring first first (optionally for one
    service): what staff can use at checkout and the widget can offer."""
    now = timezone.now()
    qs = (
        ServiceCredit.objects.filter(business=business, client=client, used__lt=F("quantity"))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("service")
        .order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk")
    )
    if service is not None:
        qs = qs.filter(service=service)
    return list(qs)


def service_credits_for_client(*, business: Business, client: Client, limit: int = 20) -> list[ServiceCredit]:
    """Every credit of the client, newest first, for the client page: one query."""
    return list(
        ServiceCredit.objects.filter(business=business, client=client)
        .select_related("service")
        .order_by("-created_at", "-id")[:limit]
    )
