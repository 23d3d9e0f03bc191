"""The business's own subscription: what each plan allows, the one place limits are enforced, and plan state.

Plans: **free** holds up to FREE_CLIENT_LIMIT clients; **paid** (STRIPE_PRICE_PAID_PLAN, bought through Stripe
Checkout) has no limit. Limits apply only where billing is set up (STRIPE_SECRET_KEY and STRIPE_PRICE_PAID_PLAN):
a site that cannot sell the paid plan must not hold anyone to the free one.

Plan state changes only when Stripe says so (`billing_subscription_apply` from a verified webhook event, never from
the redirect back from Checkout); an event older than the last one applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_scopes import scope, scopes_disabled

from . import stripe_gateway as gateway
from .models import BillingAccount, Business, Plan

FREE_CLIENT_LIMIT = 100
# Stripe subscription statuses that keep the paid plan: past_due while Stripe retries the card.
PAID_STATUSES = frozenset({"active", "trialing", "past_due"})


@dataclass(frozen=True)
class PlanLimits:
    clients: int | None  # None: no limit


LIMITS = {Plan.FREE: PlanLimits(clients=FREE_CLIENT_LIMIT), Plan.PAID: PlanLimits(clients=None)}


def limits_apply() -> bool:
    return gateway.plan_billing_enabled()


def billing_account_of(business: Business) -> BillingAccount:
    """The business's billing row, or an unsaved free-plan one (no row is written until Stripe is involved)."""
    return BillingAccount.objects.filter(business=business).first() or BillingAccount(business=business)


def limits_of(business: Business) -> PlanLimits:
    if not limits_apply():
        return LIMITS[Plan.PAID]
    return LIMITS[billing_account_of(business).plan]


def client_limit_check(*, business: Business, count_clients: Callable[[], int]) -> None:
    """Refuse one more client past the plan's limit (the clients service calls this before it inserts).

    On a limited plan it locks the business row first, so clients created at the same time cannot pass the
    limit together; a paid business, or a site without billing, takes no lock.
    """
    limit = limits_of(business).clients
    if limit is None:
        return
    Business.objects.select_for_update().filter(pk=business.pk).first()
    if count_clients() >= limit:
        url = reverse("businesses:billing", args=[business.slug])
        raise ValidationError(
            format_html(
                'The free plan holds up to {} clients. <a href="{}">Upgrade to the paid plan</a> to add more.',
                limit,
                url,
            ),
            code="plan_limit",
        )


# --- Starting Stripe Checkout and the portal -------------------------------------------------------------------------


def billing_customer_ensure(*, business: Business, email: str) -> str:
    """The business's Stripe customer id, created once. The idempotency key makes two clicks at once create one
    customer at Stripe; the conditional update keeps the first id if both come back."""
    account = billing_account_of(business)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer_id = gateway.customer_create(
        email=email,
        name=business.name,
        metadata={"business_id": business.pk, "business_slug": business.slug},
        idempotency_key=f"business-{business.pk}-customer",
    )
    with transaction.atomic():
        account, _ = BillingAccount.objects.get_or_create(business=business)
        BillingAccount.objects.filter(business=business, pk=account.pk, stripe_customer_id="").update(
            stripe_customer_id=customer_id, updated_at=timezone.now()
        )
    return BillingAccount.objects.get(business=business).stripe_customer_id


def billing_checkout_start(*, business: Business, email: str, success_url: str, cancel_url: str) -> str:
    """The URL of a Stripe Checkout page that subscribes the business to the paid plan."""
    if billing_account_of(business).plan == Plan.PAID:
        raise ValidationError("This business is already on the paid plan. Use “Manage billing” to change it.")
    customer_id = billing_customer_ensure(business=business, email=email)
    session = gateway.plan_checkout_session(
        customer_id=customer_id,
        metadata={"kind": gateway.KIND_BUSINESS_PLAN, "business_id": business.pk},
        success_url=success_url,
        cancel_url=cancel_url,
        reference=f"business-{business.pk}",
    )
    return session.url


def billing_portal_start(*, business: Business, return_url: str) -> str:
    customer_id = billing_account_of(business).stripe_customer_id
    if not customer_id:
        raise ValidationError("There is no subscription to manage yet. Upgrade first.")
    return gateway.portal_session_url(customer_id=customer_id, return_url=return_url)


# --- Plan state from Stripe's events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionState:
    """What a Stripe event says about a business's subscription."""

    customer_id: str
    subscription_id: str
    status: str
    current_period_end: datetime | None
    event_at: datetime


def _business_for(*, business_id: int | None, customer_id: str) -> Business | None:
    """The business an event is about: from our own metadata, else from the customer id we stored."""
    with scopes_disabled():
        if business_id is not None:
            business = Business.objects.filter(pk=business_id).first()
            if business is not None:
                return business
        if customer_id:
            account = BillingAccount.objects.select_related("business").filter(stripe_customer_id=customer_id).first()
            if account is not None:
                return account.business
    return None


def billing_subscription_apply(*, business_id: int | None, state: SubscriptionState) -> str:
    """Set the plan from a subscription's state. Locks the billing row; an event older than the last applied one
    changes nothing (Stripe may deliver out of order). Returns what it did, for the event log."""
    business = _business_for(business_id=business_id, customer_id=state.customer_id)
    if business is None:
        return "ignored: no business for this customer"
    with scope(business=business), transaction.atomic():
        account, _ = BillingAccount.objects.get_or_create(business=business)
        account = BillingAccount.objects.select_for_update().get(business=business, pk=account.pk)
        if account.last_event_at is not None and state.event_at < account.last_event_at:
            return "ignored: older than the last change applied"
        if (
            account.stripe_subscription_id
            and state.subscription_id
            and state.subscription_id != account.stripe_subscription_id
            and account.plan == Plan.PAID
            and state.status not in PAID_STATUSES
        ):
            # The end of an old subscription must not cancel the one that replaced it.
            return "ignored: not the current subscription"
        account.plan = Plan.PAID if state.status in PAID_STATUSES else Plan.FREE
        account.subscription_status = state.status
        account.stripe_subscription_id = state.subscription_id or account.stripe_subscription_id
        if state.customer_id and not account.stripe_customer_id:
            account.stripe_customer_id = state.customer_id
        if state.current_period_end is not None or state.status not in PAID_STATUSES:
            account.current_period_end = state.current_period_end
        account.last_event_at = state.event_at
        account.updated_at = timezone.now()
        account.save()
        return f"plan {account.plan} ({state.status})"


def from_timestamp(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None
