"""The hosted booking page of a business, /w/<business_slug>/: where referral links send friends by default.

Until the booking widget arrives it is an honest landing page: who referred the visitor and what that gives
them, the services that can be booked online with their prices, and how to book meanwhile.
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django_scopes import scope

from businesses.hours import has_opening_hours
from businesses.models import Business, Service
from businesses.money import format_money
from campaigns.promotions import promotion_banner
from referrals.codes import code_resolve
from referrals.models import ReferralProgram, ReferralRule
from referrals.program import format_amount, format_percent
from referrals.rules import AmountKind

from .booking_flow import carried, step_url
from .selectors import widget_theme


def public_business_view(view):
    """Find the business from the URL (404 if none) and run the view in its scope and time zone."""

    @wraps(view)
    def wrapper(request, *args, business_slug: str, **kwargs):
        business = get_object_or_404(Business, slug=business_slug)
        with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
            return view(request, business, *args, **kwargs)

    return wrapper


def _referee_offer(rule: ReferralRule | None, currency: str, services: list[Service]) -> str:
    """What the first rule gives a new client: "15% off", or "15% off Facial" when it covers only some services."""
    if rule is None:
        return ""
    if rule.referee_kind == AmountKind.PERCENT and rule.referee_percent > 0:
        offer = f"{format_percent(rule.referee_percent)} off"
    elif rule.referee_kind == AmountKind.FIXED and rule.referee_amount > 0:
        offer = f"{format_amount(rule.referee_amount, currency)} off"
    else:
        return ""
    covered_ids = set(rule.services.values_list("pk", flat=True))
    covered = [service.name for service in services if service.pk in covered_ids]
    if not covered:
        return ""
    if len(covered) == len(services):
        return offer
    return f"{offer} {', '.join(covered)}" if len(covered) <= 3 else f"{offer} selected services"


def referral_banner(business: Business, raw_code: str, services: list[Service]) -> dict | None:
    """What the banner says for a `ref` that is an active code of this business while the program runs."""
    code = code_resolve(business=business, raw=raw_code) if raw_code else None
    if code is None:
        return None
    program = ReferralProgram.objects.filter(business=business).first()
    if program is None or not program.enabled:
        return None
    offer = ""
    if program.rewards_referee:
        first_rule = ReferralRule.objects.filter(business=business).first()
        offer = _referee_offer(first_rule, business.currency, services)
    return {"code": code.code, "referrer_first_name": code.client.first_name, "offer": offer}


def landing_context(request, business: Business) -> dict:
    """The landing page's context; the dashboard's preview (widgets.views) renders it with an unsaved theme."""
    services = list(
        Service.objects.filter(business=business, is_active=True, online_bookable=True).order_by("name", "id")
    )
    # Each service links to the booking flow once the business has opening hours, carrying the referral link.
    bookable = has_opening_hours(business=business)
    carry = carried(request.GET)
    rows = [
        {
            "service": service,
            "price": format_money(service.price, business.currency),
            "book_url": step_url(business, "book_time", service=service.pk, **carry) if bookable else "",
        }
        for service in services
    ]
    return {
        "business": business,
        "bookable": bookable and bool(rows),
        "referral": referral_banner(business, request.GET.get("ref", "")[:64], services),
        "promo_banner": promotion_banner(business=business, code=carry.get("promo", "")),
        "services": rows,
        "widget_theme": widget_theme(business),
    }


@public_business_view
def landing(request, business: Business):
    return render(request, "widgets/landing.html", landing_context(request, business))
