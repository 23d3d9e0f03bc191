"""Online booking through the widget: the price a client is shown before confirming, and the booking itself.

A client is matched by canonical e-mail address (clients.identity): someone who has booked before books as their
existing client record, which the widget leaves as it is (anyone can type an address, so typed names, phone or
consent never overwrite a record); someone new becomes a client in the booking's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone

from bookings.availability import is_free
from bookings.models import Booking, BookingStatus, Channel
from bookings.schedule import ScheduledPayment, payment_schedule
from bookings.services import DiscountLine, is_new_client
from businesses.models import Business, Service
from businesses.money import format_money
from campaigns.promotions import promotion_discount_line, promotion_find, promotion_problem
from campaigns.services import outbox_enqueue
from clients.identity import canonical_email
from clients.services import ClientData, email_owner
from referrals.program import program_get
from referrals.services import (
    Quote,
    ReferralClaim,
    booking_create_with_referral,
    combine_discounts,
    referral_discount_line,
    referral_quote,
)

from .emails import render_email
from .selectors import widget_settings_for


class SlotTaken(Exception):
    """The time stopped being free between the client's choice and the confirmation."""


@dataclass(frozen=True)
class OnlinePrice:
    """What the summary shows: the full price, the discounts against it (referral, promotion), the total and its
    schedule."""

    list_total: int
    total: int
    schedule: list[ScheduledPayment]
    quote: Quote | None
    returning_client: bool
    lines: tuple[DiscountLine, ...] = ()
    # Why the promotion of the link gives nothing, in plain words ("" without one, or when it applies).
    promotion_refusal: str = ""

    @property
    def referral_applied(self) -> bool:
        return any(line.kind == "referral" for line in self.lines)

    @property
    def discount(self) -> int:
        return self.list_total - self.total

    @property
    def refusal(self) -> str:
        """Why the referral gives nothing, in plain words ("" when there is no referral or it applies)."""
        return str(self.quote.refusal) if self.quote is not None and self.quote.refusal else ""


def online_price(
    *,
    business: Business,
    service: Service,
    starts_at: datetime,
    claim: ReferralClaim,
    email: str,
    phone: str,
    promotion_code: str = "",
    now: datetime | None = None,
) -> OnlinePrice:
    """Price a booking before it is made, as the booking will price it (reads only): the referral quoted for the
    client the e-mail address names (or a new client with that address and phone), the promotion of the link
    checked for them, combined as the program says."""
    client = email_owner(business=business, email_canonical=canonical_email(email))
    is_new = client is None or is_new_client(business=business, client=client)
    program, quote = None, None
    if not claim.is_empty:
        program = program_get(business=business)
        quote = referral_quote(
            business=business,
            service=service,
            claim=claim,
            email_canonical=canonical_email(email),
            phone=phone,
            now=now,
            program=program,
        )
    others, promotion_refusal = [], ""
    if promotion_code.strip():
        promotion = promotion_find(business=business, code=promotion_code)
        promotion_refusal = promotion_problem(promotion, service=service, client=client, now=now, is_new=is_new) or ""
        if not promotion_refusal:
            others.append(promotion_discount_line(promotion, service.price))
    lines = tuple(combine_discounts(referral_discount_line(quote, claim), others, program))
    schedule = payment_schedule(
        plan=service.payment_plan,
        count=service.plan_count,
        interval=service.plan_interval,
        price=service.price,
        discount=sum(line.amount for line in lines if line.per_period),
        once_discount=sum(line.amount for line in lines if not line.per_period),
        start=starts_at.astimezone(ZoneInfo(business.time_zone)).date(),
    )
    return OnlinePrice(
        list_total=sum(payment.list_amount for payment in schedule),
        total=sum(payment.amount for payment in schedule),
        schedule=schedule,
        quote=quote,
        returning_client=not is_new,
        lines=lines,
        promotion_refusal=promotion_refusal,
    )


@transaction.atomic
def online_booking_create(
    *,
    business: Business,
    service: Service,
    starts_at: datetime,
    details: ClientData,
    claim: ReferralClaim,
    notes: str = "",
    heard_about: str = "",
    promotion_code: str = "",
    now: datetime | None = None,
) -> Booking:
    """Book `service` at `starts_at` for the client the details name. Locks the business row (FOR NO KEY UPDATE:
    other writes of the business go on), so the online bookings of one business are decided one at a time: the
    time is checked again under the lock, and of two clients taking it at once one books and the other gets
    SlotTaken. Created requested or confirmed as the business's widget settings say."""
    Business.objects.select_for_update(no_key=True).filter(pk=business.pk).first()
    if not (service.is_active and service.online_bookable):
        raise ValidationError({"service": f"{service.name} cannot be booked online."})
    if not is_free(business=business, service=service, starts_at=starts_at, now=now):
        raise SlotTaken
    existing = email_owner(business=business, email_canonical=canonical_email(details.email))
    booking = booking_create_with_referral(
        business=business,
        client=existing or details,
        service=service,
        starts_at=starts_at,
        claim=claim,
        promotion_code=promotion_code,
        channel=Channel.ONLINE,
        status=widget_settings_for(business).online_booking_status,
        notes=notes,
        heard_about=heard_about,
    )
    booking_received_send(business=business, booking=booking)
    return booking


def booking_received_send(*, business: Business, booking: Booking, key: str = "booking-received") -> None:
    """Tell the client what they booked (requested or confirmed), with the discounts and the total: written to the
    outbox in the booking's transaction, once per booking and `key`."""
    local = timezone.localtime(booking.starts_at, ZoneInfo(business.time_zone))
    context = {
        "first_name": booking.client.first_name,
        "business_name": business.name,
        "confirmed": booking.status == BookingStatus.CONFIRMED,
        "service": booking.service.name,
        "when": f"{dateformat.format(local, 'l j F Y, H:i')} ({business.time_zone})",
        "discounts": [
            {"label": row.label, "amount": format_money(row.amount, business.currency)}
            for row in booking.discounts.all()
        ],
        "total": format_money(booking.total, business.currency),
        "notes": booking.notes,
    }
    outbox_enqueue(
        business=business,
        key=f"{key}:{booking.pk}",
        template=key.replace("-", "_"),
        content=render_email("booking_received", context),
        client=booking.client,
    )


def on_booking_confirmed(event) -> None:
    """Staff confirmed a booking the client requested online: the client hears it is confirmed (once). A booking
    confirmed as it was made has no `from_status` and was already announced as confirmed."""
    if event.payload.get("from_status") != BookingStatus.REQUESTED:
        return
    booking = (
        Booking.objects.select_related("client", "service")
        .filter(business=event.business, pk=event.subject_id, channel=Channel.ONLINE)
        .first()
    )
    if booking is not None:
        booking_received_send(business=event.business, booking=booking, key="booking-confirmed")
