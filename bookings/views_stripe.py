"""Stripe's public endpoints: a client's "Pay now" (to Checkout and back) and the webhook Stripe calls.

The pay pages sit under /w/<business_slug>/pay/<token>/: no login, the booking named by a signed, time-limited
token. The POST needs no CSRF cookie (the widget runs in a cross-site iframe where cookies may be blocked): a
forged one could only open a Checkout page for a booking whose token the forger already has.
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_scopes import scope

from businesses import stripe_gateway as gateway
from businesses.models import Business
from businesses.money import format_money

from .models import BookingStatus, PaymentStatus
from .stripe_events import stripe_event_take
from .stripe_payments import (
    booking_checkout_start,
    booking_from_pay_token,
    is_subscription,
    pay_urls,
    payable_payment,
    payment_button_context,
)


def _problem(request, business: Business, status: int, title: str, message: str):
    context = {"business": business, "title": title, "message": message}
    return render(request, "bookings/pay/problem.html", context, status=status)


def _pay_page(view):
    """The business from the URL (404 if none), its scope and time zone, and the booking from the token."""

    @wraps(view)
    def wrapper(request, business_slug: str, token: str):
        business = get_object_or_404(Business, slug=business_slug)
        with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
            booking = booking_from_pay_token(business, token)
            if booking is None:
                return _problem(
                    request,
                    business,
                    404,
                    _("This payment link has expired"),
                    _("Your booking is kept. To pay, contact %(name)s.") % {"name": business.name},
                )
            return view(request, business, booking)

    return never_cache(wrapper)


@csrf_exempt
@require_POST
@_pay_page
def pay(request, business: Business, booking):
    if not gateway.payments_enabled():
        return _problem(
            request,
            business,
            503,
            _("Online payment is not available"),
            _("Payments are not set up. Please pay %(name)s at your visit.") % {"name": business.name},
        )
    try:
        url = booking_checkout_start(business=business, booking=booking)
    except ValidationError:
        # Paid already, or the booking was cancelled: the status page says which.
        return _see_other(pay_urls(booking)["status"])
    except gateway.PaymentsNotSetUp as error:
        return _problem(request, business, 503, _("Online payment is not available"), str(error))
    except gateway.StripeUnavailable as error:
        return _problem(request, business, 502, _("The payment could not be started"), str(error))
    return _see_other(url)


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_GET
@_pay_page
def pay_status(request, business: Business, booking):
    """Where Stripe sends the client back. It shows what the database says, never what the redirect claims."""
    payments = list(booking.payments.all())
    paid = [payment for payment in payments if payment.status == PaymentStatus.PAID]
    pending = request.GET.get("checkout") == "done" and payable_payment(booking) is not None
    context = {
        "business": business,
        "booking": booking,
        "paid_amount": format_money(sum(payment.amount for payment in paid), booking.currency) if paid else "",
        "confirmed": booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED),
        "cancelled": booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW),
        "pending": pending,
        "cancelled_checkout": request.GET.get("checkout") == "cancelled",
        "button": None if pending else payment_button_context(booking),
        "subscription": is_subscription(booking),
    }
    return render(request, "bookings/pay/status.html", context)


@csrf_exempt
@require_POST
def webhook(request):
    """Stripe's events: verified with the signing secret (a bad signature is 400 and writes nothing), each taken
    in once, unknown kinds acknowledged."""
    try:
        event = gateway.webhook_event(request.body, request.headers.get("Stripe-Signature", ""))
    except gateway.PaymentsNotSetUp as error:
        return JsonResponse({"error": str(error)}, status=503)
    except gateway.InvalidWebhook as error:
        return JsonResponse({"error": str(error)}, status=400)
    outcome = stripe_event_take(event)
    return JsonResponse({"received": True, "outcome": outcome})
