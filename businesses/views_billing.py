"""The owner's Billing page: the plan, usage against its limits, Upgrade (Stripe Checkout) and Manage billing
(Stripe's customer portal). The plan itself changes only when Stripe's events arrive (businesses.billing)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from referrals_saas.tenancy import business_view

from . import billing
from . import stripe_gateway as gateway
from .models import Plan


def _billing_url(business, **query) -> str:
    url = settings.SITE_URL + reverse("businesses:billing", args=[business.slug])
    return f"{url}?{urlencode(query)}" if query else url


@business_view(owner_only=True)
def billing_page(request):
    business = request.business
    account = billing.billing_account_of(business)
    limits = billing.limits_of(business)
    clients = business.clients.count()
    returned = request.GET.get("checkout")
    context = {
        "active_section": "settings",
        "account": account,
        "is_paid": account.plan == Plan.PAID,
        "enabled": gateway.plan_billing_enabled(),
        "client_count": clients,
        "client_limit": limits.clients,
        "free_limit": billing.FREE_CLIENT_LIMIT,
        "over_limit": limits.clients is not None and clients >= limits.clients,
        # Back from Checkout: the event may not have arrived yet, and the redirect alone proves nothing.
        "confirming": returned == "done" and account.plan != Plan.PAID,
        "checkout_cancelled": returned == "cancelled",
    }
    return render(request, "businesses/billing.html", context)


def _message(error: Exception) -> str:
    return " ".join(getattr(error, "messages", None) or [str(error)])


def _to_stripe_or_back(request, start):
    """303 to the Stripe page `start()` opens, or back to the Billing page saying why it could not."""
    try:
        url = start()
    except (ValidationError, gateway.PaymentsNotSetUp, gateway.StripeUnavailable) as error:
        messages.error(request, _message(error))
        url = reverse("businesses:billing", args=[request.business.slug])
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@require_POST
@business_view(owner_only=True)
def billing_upgrade(request):
    business = request.business
    return _to_stripe_or_back(
        request,
        lambda: billing.billing_checkout_start(
            business=business,
            email=request.user.email,
            success_url=_billing_url(business, checkout="done"),
            cancel_url=_billing_url(business, checkout="cancelled"),
        ),
    )


@require_POST
@business_view(owner_only=True)
def billing_portal(request):
    business = request.business
    return _to_stripe_or_back(
        request, lambda: billing.billing_portal_start(business=business, return_url=_billing_url(business))
    )
