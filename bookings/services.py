"""Use cases for bookings and payments. Each status change locks the booking row and is idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from businesses.events import event_record
from businesses.models import Business, PaymentPlan, Service
from clients.models import Client
from clients.params import DAY_RANGE_ERROR, day_in_range
from clients.services import ClientData, client_create

from .models import (
    Booking,
    BookingDiscount,
    BookingEvent,
    BookingStatus,
    Channel,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from .schedule import payment_schedule
from .selectors import CLIENT_FIGURES, with_computed_figures

# Which status may follow which. A booking that is completed, cancelled or a no-show is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.REQUESTED: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}
ACTION_WORDS = {
    BookingStatus.CONFIRMED: "confirmed",
    BookingStatus.COMPLETED: "completed",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.NO_SHOW: "marked as a no-show",
}


@dataclass(frozen=True)
class DiscountLine:
    """A discount to apply at booking time. `per_period`: on a membership or pay-per-session plan it is taken on
    every renewal or session (a referral discount); otherwise once for the whole booking (a coupon)."""

    kind: str
    label: str
    amount: int
    source_type: str = ""
    source_id: int | None = None
    code: str = ""
    per_period: bool = True


def is_new_client(*, business: Business, client: Client) -> bool:
    """True if the client has no earlier booking that still stands (cancelled ones do not count)."""
    return not Booking.objects.filter(business=business, client=client).exclude(status=BookingStatus.CANCELLED).exists()


@transaction.atomic
def booking_create(
    *,
    business: Business,
    client: Client,
    service: Service,
    starts_at: datetime,
    actor=None,
    notes: str = "",
    heard_about: str = "",
    channel: str = Channel.STAFF,
    status: str = BookingStatus.REQUESTED,
    discounts: tuple[DiscountLine, ...] = (),
) -> Booking:
    """Create a booking with its discount rows and payment schedule. Locks the client row, so two bookings made
    at once for a new client cannot both be flagged as the first one."""
    if client.business_id != business.id or service.business_id != business.id:
        raise ValidationError("The client and the service must belong to this business.")
    if not service.is_active:
        raise ValidationError({"service": "This service is archived and cannot be booked."})
    if status not in (BookingStatus.REQUESTED, BookingStatus.CONFIRMED):
        raise ValidationError({"status": "A new booking is either requested or confirmed."})
    _check_start(starts_at)
    Client.objects.select_for_update().filter(business=business, pk=client.pk).first()
    first = is_new_client(business=business, client=client)
    if service.new_clients_only and not first:
        raise ValidationError({"service": f"{service.name} is only for new clients."})
    schedule = payment_schedule(
        plan=service.payment_plan,
        count=service.plan_count,
        interval=service.plan_interval,
        price=service.price,
        discount=sum(line.amount for line in discounts if line.per_period),
        once_discount=sum(line.amount for line in discounts if not line.per_period),
        start=timezone.localdate(starts_at),
    )
    booking = Booking.objects.create(
        business=business,
        client=client,
        service=service,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=service.duration_minutes),
        status=status,
        status_changed_by=actor,
        currency=business.currency,
        list_price=sum(p.list_amount for p in schedule),
        total=sum(p.amount for p in schedule),
        notes=notes,
        heard_about=heard_about,
        is_first_booking=first,
        channel=channel,
        created_by=actor,
    )
    _write_discount_rows(business, booking, discounts, booking.list_price - booking.total)
    Payment.objects.bulk_create(
        Payment(
            business=business,
            booking=booking,
            sequence=p.sequence,
            due_on=p.due_on,
            amount=p.amount,
            discount=p.discount,
        )
        for p in schedule
    )
    BookingEvent.objects.create(business=business, booking=booking, to_status=status, actor=actor)
    event_record(business=business, kind="booking.created", subject=booking, actor=actor, status=status)
    if status == BookingStatus.CONFIRMED:
        event_record(business=business, kind="booking.confirmed", subject=booking, actor=actor)
    return booking


def _check_start(starts_at: datetime) -> None:
    """Refuse a start whose end, payment dates or UTC conversion would overflow (0001-01-01, 9999-12-31)."""
    try:
        day = timezone.localdate(starts_at)
    except (OverflowError, ValueError, AttributeError):
        day = None
    if day is None or not day_in_range(day):
        raise ValidationError({"starts_at": DAY_RANGE_ERROR})


def _write_discount_rows(business: Business, booking: Booking, lines: tuple[DiscountLine, ...], applied: int) -> None:
    """Snapshot rows whose amounts add up to what the schedule applied (never more than the price)."""
    # Membership and per-session plans take each discount on every payment.
    per_booking = booking.service.payment_plan in (PaymentPlan.ONE_OFF, PaymentPlan.INSTALMENTS)
    periods = 1 if per_booking else booking.service.plan_count
    remaining = applied
    rows = []
    for line in lines:
        amount = min(line.amount * (periods if line.per_period else 1), remaining)
        remaining -= amount
        rows.append(
            BookingDiscount(
                business=business,
                booking=booking,
                kind=line.kind,
                label=line.label,
                amount=amount,
                source_type=line.source_type,
                source_id=line.source_id,
                code=line.code,
            )
        )
    BookingDiscount.objects.bulk_create(rows)


@transaction.atomic
def booking_transition(*, business: Business, booking: Booking, to_status: str, actor=None, note: str = "") -> Booking:
    """Move a booking to `to_status`. Locks the row; asking for the status it already has changes nothing.

    An illegal move (completing a cancelled booking) raises ValidationError and changes nothing.
    """
    # Lock order, as everywhere: the client's row before the booking's (see referrals.services).
    _lock_client_of(business, booking.pk)
    locked = Booking.objects.select_for_update().get(business=business, pk=booking.pk)
    if locked.status == to_status:
        return locked
    if to_status not in TRANSITIONS[locked.status]:
        raise ValidationError(
            f"A {locked.get_status_display().lower()} booking cannot be {ACTION_WORDS.get(to_status, to_status)}."
        )
    from_status = locked.status
    locked.status = to_status
    locked.status_changed_at = timezone.now()
    locked.status_changed_by = actor if getattr(actor, "pk", None) else None
    locked.save(update_fields=["status", "status_changed_at", "status_changed_by"])
    BookingEvent.objects.create(
        business=business,
        booking=locked,
        from_status=from_status,
        to_status=to_status,
        actor=locked.status_changed_by,
        note=note,
    )
    if to_status == BookingStatus.COMPLETED:
        _count_visit(business, locked)
    event_record(business=business, kind=f"booking.{to_status}", subject=locked, actor=actor, from_status=from_status)
    return locked


def _count_visit(business: Business, booking: Booking) -> None:
    visit = Value(booking.starts_at)
    Client.objects.filter(business=business, pk=booking.client_id).update(
        completed_visits=F("completed_visits") + 1,
        first_visit_at=Least(Coalesce("first_visit_at", visit), visit),
        last_visit_at=Greatest(Coalesce("last_visit_at", visit), visit),
    )


def _lock_client_of(business: Business, booking_id: int) -> None:
    client_id = Booking.objects.filter(business=business, pk=booking_id).values_list("client_id", flat=True).first()
    Client.objects.select_for_update().filter(business=business, pk=client_id).first()


def booking_confirm(*, business: Business, booking: Booking, actor=None) -> Booking:
    return booking_transition(business=business, booking=booking, to_status=BookingStatus.CONFIRMED, actor=actor)


def booking_complete(*, business: Business, booking: Booking, actor=None) -> Booking:
    return booking_transition(business=business, booking=booking, to_status=BookingStatus.COMPLETED, actor=actor)


def booking_cancel(*, business: Business, booking: Booking, actor=None, note: str = "") -> Booking:
    return booking_transition(
        business=business, booking=booking, to_status=BookingStatus.CANCELLED, actor=actor, note=note
    )


def booking_mark_no_show(*, business: Business, booking: Booking, actor=None) -> Booking:
    return booking_transition(business=business, booking=booking, to_status=BookingStatus.NO_SHOW, actor=actor)


@transaction.atomic
def payment_record(*, business: Business, payment: Payment, method: str, actor=None) -> Payment:
    """Mark a scheduled payment paid. Locks it; recording a paid payment again changes nothing."""
    _lock_client_of(business, payment.booking_id)
    locked = Payment.objects.select_for_update().select_related("booking").get(business=business, pk=payment.pk)
    if locked.status == PaymentStatus.PAID:
        return locked
    if locked.status == PaymentStatus.VOID:
        raise ValidationError("This payment was voided and cannot be recorded.")
    if locked.booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        raise ValidationError("Payments of a cancelled or no-show booking cannot be recorded.")
    if method not in PaymentMethod.values:
        raise ValidationError({"method": "Choose cash, card or other."})
    locked.status = PaymentStatus.PAID
    locked.method = method
    locked.paid_at = timezone.now()
    locked.recorded_by = actor if getattr(actor, "pk", None) else None
    locked.save(update_fields=["status", "method", "paid_at", "recorded_by"])
    Client.objects.filter(business=business, pk=locked.booking.client_id).update(
        lifetime_spend=F("lifetime_spend") + locked.amount
    )
    event_record(
        business=business,
        kind="payment.recorded",
        subject=locked,
        actor=actor,
        booking_id=locked.booking_id,
        amount=locked.amount,
    )
    return locked


@transaction.atomic
def booking_create_for_new_client(
    *,
    business: Business,
    client_data: ClientData,
    service: Service,
    starts_at: datetime,
    actor=None,
    **booking_fields,
) -> Booking:
    """Create a client and their first booking in one transaction: a refused booking leaves no client behind."""
    client = client_create(business=business, data=client_data, actor=actor)
    return booking_create(
        business=business, client=client, service=service, starts_at=starts_at, actor=actor, **booking_fields
    )


def client_history_recompute(*, business: Business, client: Client) -> None:
    """Recompute what summarises a client's bookings once two records became one (a merge handler, run inside
    the merge's transaction with the client's row locked): only the earliest booking that still stands (by start,
    cancelled ones aside) is the first booking, and the visit and spend figures are counted from the rows."""
    standing = Booking.objects.filter(business=business, client=client).exclude(status=BookingStatus.CANCELLED)
    first_pk = standing.order_by("starts_at", "id").values_list("pk", flat=True).first()
    standing.filter(is_first_booking=True).exclude(pk=first_pk).update(is_first_booking=False)
    if first_pk is not None:
        Booking.objects.filter(business=business, pk=first_pk, is_first_booking=False).update(is_first_booking=True)
    computed = with_computed_figures(Client.objects.filter(business=business, pk=client.pk)).first()
    if computed is not None:
        Client.objects.filter(business=business, pk=client.pk).update(
            **{name: getattr(computed, f"computed_{name}") for name in CLIENT_FIGURES}
        )
