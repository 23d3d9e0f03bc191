"""Booking payments through Stripe Checkout: which payment a client can pay online, the signed link to pay it, and
what a completed Checkout does (records the payment, confirms the booking — and so the referral and its reward).

Nothing here trusts the redirect back from Stripe: only a verified `checkout.session.completed` event (through
bookings.stripe_events, which makes each event count once) records a payment.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from businesses import stripe_gateway as gateway
from businesses.events import event_record
from businesses.models import Business, PaymentPlan
from businesses.money import format_money
from clients.params import parse_id

from .models import Booking, BookingStatus, Payment, PaymentMethod, PaymentStatus
from .services import booking_confirm, payment_record

PAY_TOKEN_MAX_AGE = 14 * 24 * 3600
# A second press of "Pay now" within this time goes to the same Checkout page (a session lives 24 hours), so one
# client with two tabs is not asked to pay twice.
CHECKOUT_REUSE_SECONDS = 3600
# The cached page is handed out only while it has at least this long left to live.
REUSE_MARGIN_SECONDS = 300
PAYABLE_BOOKING_STATUSES = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)
SETTLED = ("paid", "no_payment_required")


def _salt(business: Business) -> str:
    return f"bookings.pay:{business.pk}"


def pay_token(booking: Booking) -> str:
    return signing.dumps(booking.pk, salt=_salt(booking.business))


def booking_from_pay_token(business: Business, token: str) -> Booking | None:
    """The booking a pay link names, if the link is genuine, for this business and not too old."""
    try:
        booking_id = signing.loads(token, salt=_salt(business), max_age=PAY_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    booking_id = parse_id(booking_id)
    if booking_id is None:
        return None
    return Booking.objects.select_related("service", "client").filter(business=business, pk=booking_id).first()


def is_subscription(booking: Booking) -> bool:
    return booking.service.payment_plan == PaymentPlan.MEMBERSHIP


def payable_payment(booking: Booking) -> Payment | None:
    """The payment a client pays online now: the earliest one due (after the referral discount), or for a
    membership its first period, which starts the subscription. None when nothing is due or the booking ended."""
    if booking.status not in PAYABLE_BOOKING_STATUSES:
        return None
    due = Payment.objects.filter(business_id=booking.business_id, booking=booking, status=PaymentStatus.DUE)
    payment = due.order_by("sequence").first()
    if payment is None or payment.amount <= 0:
        return None
    if is_subscription(booking) and payment.sequence != 1:
        return None
    return payment


def pay_urls(booking: Booking) -> dict[str, str]:
    token = pay_token(booking)
    slug = booking.business.slug
    return {
        "action": reverse("stripe:pay", args=[slug, token]),
        "status": reverse("stripe:pay_status", args=[slug, token]),
    }


def payment_button_context(booking: Booking) -> dict | None:
    """What a "Pay now" button needs (for the widget's booked page), or None when there is nothing to pay online.

    The form posts to `action`; Stripe Checkout cannot be framed, so it targets the top window.
    """
    if not gateway.payments_enabled():
        return None
    payment = payable_payment(booking)
    if payment is None:
        return None
    return {
        "action": pay_urls(booking)["action"],
        "amount": format_money(payment.amount, booking.currency),
        "subscription": is_subscription(booking),
        "interval": booking.service.get_plan_interval_display().lower() if is_subscription(booking) else "",
        "target": "_top",
    }


def booking_checkout_start(*, business: Business, booking: Booking) -> str:
    """The URL of a Stripe Checkout page for the booking's payable payment. Raises ValidationError when nothing is
    due, PaymentsNotSetUp or StripeUnavailable when Stripe cannot take it."""
    payment = payable_payment(booking)
    if payment is None:
        raise ValidationError("There is nothing to pay online for this booking.")
    reuse_key = f"stripe-checkout:{business.pk}:{payment.pk}:{payment.amount}"
    url = cache.get(reuse_key)
    if url:
        return url
    status_url = settings.SITE_URL + pay_urls(booking)["status"]
    service = booking.service
    session = gateway.checkout_session_for_item(
        item=gateway.LineItem(
            name=f"{service.name} · {business.name}",
            amount=payment.amount,
            currency=booking.currency,
            interval=service.plan_interval if is_subscription(booking) else "",
        ),
        metadata={
            "kind": gateway.KIND_BOOKING_PAYMENT,
            "business_id": business.pk,
            "booking_id": booking.pk,
            "payment_id": payment.pk,
        },
        success_url=f"{status_url}?checkout=done",
        cancel_url=f"{status_url}?checkout=cancelled",
        customer_email=booking.client.email,
        reference=f"booking-{booking.pk}",
        # A session lives as long as it is reused (Stripe's default, 24 hours, would let a second tab opened
        # after the reuse window pay a second time); Stripe's minimum is 30 minutes.
        expires_at=int(time.time()) + CHECKOUT_REUSE_SECONDS,
    )
    cache.set(reuse_key, session.url, CHECKOUT_REUSE_SECONDS - REUSE_MARGIN_SECONDS)
    return session.url


def booking_payment_completed(session: dict) -> str:
    """Record a completed Checkout's payment and confirm its booking. Runs inside the event's transaction
    (bookings.stripe_events); payment_record and booking_confirm lock their rows and are idempotent, so the
    reward follows once. A refused payment (the booking was cancelled meanwhile) writes nothing and says why."""
    if session.get("payment_status") not in SETTLED:
        return "waiting: the payment has not settled yet"
    metadata = session.get("metadata") or {}
    business_id = parse_id(metadata.get("business_id"))
    with scopes_disabled():
        business = Business.objects.filter(pk=business_id).first() if business_id else None
    if business is None:
        return "ignored: no such business"
    with scope(business=business):
        payment = (
            Payment.objects.select_related("booking")
            .filter(
                business=business,
                pk=parse_id(metadata.get("payment_id")),
                booking_id=parse_id(metadata.get("booking_id")),
            )
            .first()
        )
        if payment is None:
            return "ignored: no such payment"
        booking = payment.booking
        paid, currency = session.get("amount_total"), str(session.get("currency") or "")
        if currency.upper() != booking.currency or not isinstance(paid, int) or paid < payment.amount:
            return f"refused: paid {paid} {currency}, due {payment.amount} {booking.currency}"
        session_id = str(session.get("id") or "")
        try:
            with transaction.atomic():
                # Locks the client, then the payment; a payment paid already comes back as it was.
                recorded = payment_record(business=business, payment=payment, method=PaymentMethod.STRIPE)
                if recorded.method != PaymentMethod.STRIPE or recorded.external_ref not in ("", session_id):
                    # Paid already (at the desk, or by another Checkout): this charge must go back to the client.
                    event_record(
                        business=business,
                        kind="payment.refund_needed",
                        subject=booking,
                        payment_id=payment.pk,
                        checkout_session=session_id,
                        amount=paid,
                        currency=booking.currency,
                    )
                    return f"refused: payment {payment.pk} was already paid; session {session_id} needs a refund"
                Payment.objects.filter(business=business, pk=payment.pk).update(external_ref=session_id)
                if Booking.objects.get(business=business, pk=booking.pk).status == BookingStatus.REQUESTED:
                    booking_confirm(business=business, booking=booking)
        except ValidationError as error:
            return f"refused: {' '.join(error.messages)}"
    return f"payment {payment.pk} of booking {booking.pk} recorded"
