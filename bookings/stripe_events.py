"""Stripe webhook events in: each counted once, then handed to the booking payments or the business's plan.

The event id is inserted into StripeEvent in the same transaction that handles the event. A retry finds the row
and does nothing; a delivery arriving at the same time waits on the unique index until the first commits, then
finds it too. If handling fails, the insert rolls back with it and Stripe's retry handles the event afresh.
Events this product does not act on are stored and acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from businesses import billing
from businesses import stripe_gateway as gateway
from businesses.stripe_gateway import WebhookEvent
from clients.params import parse_id

from .models import StripeEvent
from .stripe_payments import booking_payment_completed

logger = logging.getLogger(__name__)
DUPLICATE = "duplicate: already taken in"


def _kind(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("kind") or "")


def _business_id(obj: dict) -> int | None:
    return parse_id((obj.get("metadata") or {}).get("business_id"))


def _event_at(event: WebhookEvent) -> datetime:
    return billing.from_timestamp(event.created) or datetime.now(tz=UTC)


def _checkout_completed(event: WebhookEvent) -> str:
    session = event.object
    kind = _kind(session)
    if kind == gateway.KIND_BOOKING_PAYMENT:
        return booking_payment_completed(session)
    if kind == gateway.KIND_BUSINESS_PLAN:
        if session.get("payment_status") not in ("paid", "no_payment_required"):
            return "waiting: the first invoice is not paid yet"
        state = billing.SubscriptionState(
            customer_id=str(session.get("customer") or ""),
            subscription_id=str(session.get("subscription") or ""),
            status="active",
            current_period_end=None,
            event_at=_event_at(event),
        )
        return billing.billing_subscription_apply(business_id=_business_id(session), state=state)
    return "ignored: not a Checkout this product started"


def _period_end(subscription: dict):
    # Newer API versions keep the period on each subscription item instead of the subscription.
    value = subscription.get("current_period_end")
    if not value:
        items = (subscription.get("items") or {}).get("data") or []
        value = items[0].get("current_period_end") if items and isinstance(items[0], dict) else None
    return billing.from_timestamp(value)


def _subscription_changed(event: WebhookEvent) -> str:
    subscription = event.object
    if _kind(subscription) == gateway.KIND_BOOKING_PAYMENT:
        return "ignored: a client's membership, not a plan"
    status = str(subscription.get("status") or "")
    if event.type == "customer.subscription.deleted":
        status = status or "canceled"
    state = billing.SubscriptionState(
        customer_id=str(subscription.get("customer") or ""),
        subscription_id=str(subscription.get("id") or ""),
        status=status,
        current_period_end=_period_end(subscription),
        event_at=_event_at(event),
    )
    return billing.billing_subscription_apply(business_id=_business_id(subscription), state=state)


HANDLERS: dict[str, Callable[[WebhookEvent], str]] = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
}


def stripe_event_take(event: WebhookEvent) -> str:
    """Handle a verified event once, whatever the number of deliveries. Returns what was done."""
    handler = HANDLERS.get(event.type)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = StripeEvent.objects.create(
                    event_id=event.id[:255], kind=event.type[:100], object_id=str(event.object.get("id") or "")[:255]
                )
        except IntegrityError:
            return DUPLICATE
        outcome = handler(event) if handler else "ignored: not an event this product acts on"
        StripeEvent.objects.filter(pk=row.pk).update(outcome=outcome[:200])
    logger.info("Stripe event %s (%s): %s", event.id, event.type, outcome)
    return outcome
