"""The only module that talks to Stripe: Checkout Sessions, the customer portal, customers, webhook verification.

Configured from settings (STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PAID_PLAN and, for tests or a
local stand-in, STRIPE_API_BASE). With no secret key, payments are off: callers ask `payments_enabled()` first and
every call here raises PaymentsNotSetUp. Stripe's own errors come out as StripeUnavailable, so a caller never shows
a 500 because Stripe (or the network) failed. What comes back is plain data, never a stripe object.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)
PAYMENTS_NOT_SET_UP = "Payments are not set up for this site."
# The `kind` in a Checkout Session's metadata: which handler its completion belongs to.
KIND_BOOKING_PAYMENT = "booking_payment"
KIND_BUSINESS_PLAN = "business_plan"


class PaymentsNotSetUp(Exception):
    def __init__(self, message: str = PAYMENTS_NOT_SET_UP):
        super().__init__(message)


class StripeUnavailable(Exception):
    """Stripe refused the request or could not be reached; the message is safe to show."""


class InvalidWebhook(Exception):
    """A webhook whose signature or body does not check out: answered 400, nothing is written."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    object: dict


@dataclass(frozen=True)
class LineItem:
    """What a Checkout Session charges: one item, in minor units; `interval` makes it a subscription."""

    name: str
    amount: int
    currency: str
    interval: str = ""


def payments_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def plan_billing_enabled() -> bool:
    return payments_enabled() and bool(settings.STRIPE_PRICE_PAID_PLAN)


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=2)


def _client() -> stripe.StripeClient:
    if not payments_enabled():
        raise PaymentsNotSetUp()
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE.rstrip("/"))


def _call(make_request):
    try:
        return make_request()
    except stripe.StripeError as error:
        logger.warning("Stripe refused or failed a request: %r", error)
        message = getattr(error, "user_message", None) or "Stripe could not be reached. Please try again."
        raise StripeUnavailable(message) from error


def _metadata(values: dict[str, object]) -> dict[str, str]:
    return {key: str(value) for key, value in values.items()}


def checkout_session_for_item(
    *,
    item: LineItem,
    metadata: dict[str, object],
    success_url: str,
    cancel_url: str,
    customer_email: str = "",
    reference: str = "",
    expires_at: int | None = None,
) -> CheckoutSession:
    """A Checkout Session for one item: a payment, or a subscription when the item has an interval.

    The metadata goes on the session and on what it creates (the PaymentIntent or the Subscription), so every
    later event carries it too.
    """
    price_data: dict = {
        "currency": item.currency.lower(),
        "unit_amount": item.amount,
        "product_data": {"name": item.name[:250]},
    }
    params: dict = {
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "metadata": _metadata(metadata),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if item.interval:
        price_data["recurring"] = {"interval": item.interval}
        params["mode"] = "subscription"
        params["subscription_data"] = {"metadata": _metadata(metadata)}
    else:
        params["mode"] = "payment"
        params["payment_intent_data"] = {"metadata": _metadata(metadata)}
    if customer_email:
        params["customer_email"] = customer_email
    if reference:
        params["client_reference_id"] = reference
    if expires_at is not None:
        params["expires_at"] = expires_at
    session = _call(lambda: _client().v1.checkout.sessions.create(params=params))
    return CheckoutSession(id=session.id, url=session.url)


def customer_create(*, email: str, name: str, metadata: dict[str, object], idempotency_key: str) -> str:
    """A Stripe customer; the idempotency key makes a retried or doubled click return the same one."""
    params = {"email": email, "name": name[:250], "metadata": _metadata(metadata)}
    customer = _call(lambda: _client().v1.customers.create(params=params, options={"idempotency_key": idempotency_key}))
    return customer.id


def plan_checkout_session(
    *, customer_id: str, metadata: dict[str, object], success_url: str, cancel_url: str, reference: str = ""
) -> CheckoutSession:
    """A Checkout Session subscribing an existing customer to the paid plan (STRIPE_PRICE_PAID_PLAN)."""
    if not plan_billing_enabled():
        raise PaymentsNotSetUp("Subscriptions are not set up for this site.")
    params = {
        "mode": "subscription",
        "customer": customer_id,
        "line_items": [{"price": settings.STRIPE_PRICE_PAID_PLAN, "quantity": 1}],
        "metadata": _metadata(metadata),
        "subscription_data": {"metadata": _metadata(metadata)},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if reference:
        params["client_reference_id"] = reference
    session = _call(lambda: _client().v1.checkout.sessions.create(params=params))
    return CheckoutSession(id=session.id, url=session.url)


def portal_session_url(*, customer_id: str, return_url: str) -> str:
    """The customer portal, where the business changes its card, sees invoices and cancels."""
    params = {"customer": customer_id, "return_url": return_url}
    session = _call(lambda: _client().v1.billing_portal.sessions.create(params=params))
    return session.url


def webhook_event(payload: bytes, signature: str) -> WebhookEvent:
    """Verify a webhook's Stripe-Signature with the signing secret and return the event as plain data."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise PaymentsNotSetUp("The Stripe webhook signing secret is not set.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as error:
        raise InvalidWebhook("The Stripe-Signature header does not match this payload.") from error
    except ValueError as error:
        raise InvalidWebhook("The body is not a Stripe event.") from error
    data = event.to_dict()
    try:
        return WebhookEvent(
            id=str(data["id"]),
            type=str(data["type"]),
            created=int(data.get("created") or 0),
            object=dict(data["data"]["object"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidWebhook("The body is not a Stripe event.") from error
