"""Promotions: public discount codes for an audience, on chosen services, between two dates, up to a number of uses.

A booking that uses one takes a use under the promotion's row lock (so the last use is taken once, however many
clients book at the same moment) and gives it back if it is cancelled. The public link opens the booking page
with the code filled in; the booking checks it again, so a link never grants more than the promotion allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, DiscountKind
from bookings.services import DiscountLine, is_new_client
from businesses.events import event_record
from businesses.models import Business, Service
from businesses.money import percent_of
from clients.models import Client
from referrals.clicks import local_day
from referrals.program import format_amount, format_percent

from .models import Promotion, PromotionAudience, PromotionKind

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,29}$")
SOURCE_TYPE = "campaigns.Promotion"


def normalise_code(raw: str) -> str:
    return (raw or "").strip().upper()[:30]


def promotion_find(*, business: Business, code: str) -> Promotion | None:
    """The promotion with this code (any case), archived or not; None for an empty or unknown code."""
    cleaned = normalise_code(code)
    if not cleaned:
        return None
    return Promotion.objects.filter(business=business, code__iexact=cleaned).first()


def promotion_offer(promotion: Promotion, currency: str) -> str:
    """ "20% off" or "$15 off", for sentences and labels."""
    if promotion.kind == PromotionKind.PERCENT:
        return f"{format_percent(promotion.percent)} off"
    return f"{format_amount(promotion.amount, currency)} off"


def promotion_link(promotion: Promotion) -> str:
    """The public link: the business's booking page with the code applied."""
    path = reverse("widget_public:landing", kwargs={"business_slug": promotion.business.slug})
    return f"{settings.SITE_URL}{path}?{urlencode({'promo': promotion.code})}"


def promotion_variables(promotion: Promotion | None) -> dict[str, str]:
    """What a message template may say about an attached promotion (all empty without one)."""
    if promotion is None:
        return {"promotion_name": "", "promotion_offer": "", "promotion_link": ""}
    return {
        "promotion_name": promotion.name,
        "promotion_offer": promotion_offer(promotion, promotion.business.currency),
        "promotion_link": promotion_link(promotion),
    }


def promotion_banner(*, business: Business, code: str) -> dict | None:
    """What the booking pages say about a `promo` code from a promotion link, while it runs; None otherwise (an
    unknown or stopped code says nothing: the booking checks the code again and explains then)."""
    promotion = promotion_find(business=business, code=code) if code else None
    if promotion is None or not promotion_is_running(promotion):
        return None
    services = [] if promotion.all_services else sorted(s.name for s in promotion.services.all())
    return {
        "code": promotion.code,
        "name": promotion.name,
        "offer": promotion_offer(promotion, business.currency),
        "services": ", ".join(services) if len(services) <= 3 else "",
        "ends_on": promotion.ends_on,
        "new_clients_only": promotion.audience == PromotionAudience.NEW_CLIENTS,
    }


def promotion_is_running(promotion: Promotion, now=None) -> bool:
    """Not archived, within its dates and not used up: worth offering in a message."""
    today = local_day(promotion.business.time_zone, now)
    return (
        promotion.archived_at is None
        and (promotion.starts_on is None or promotion.starts_on <= today)
        and (promotion.ends_on is None or today <= promotion.ends_on)
        and (promotion.max_uses is None or promotion.uses < promotion.max_uses)
    )


def promotion_problem(
    promotion: Promotion | None, *, service: Service, client: Client | None, now=None, is_new: bool | None = None
) -> str | None:
    """Why this promotion cannot be used on a booking of `service` by `client` (None: a new client not yet
    created), in words a client understands; None if it can. `is_new` spares the caller's second look-up."""
    if promotion is None or promotion.archived_at is not None:
        return "This promotion code is not valid."
    today = local_day(promotion.business.time_zone, now)
    if promotion.starts_on and today < promotion.starts_on:
        return f"This promotion starts on {promotion.starts_on.day} {promotion.starts_on:%B %Y}."
    if promotion.ends_on and today > promotion.ends_on:
        return "This promotion has ended."
    if promotion.max_uses is not None and promotion.uses >= promotion.max_uses:
        return "This promotion has been fully used."
    if not promotion.all_services and not promotion.services.filter(pk=service.pk).exists():
        return f"This promotion does not apply to {service.name}."
    if promotion.audience == PromotionAudience.NEW_CLIENTS:
        if is_new is None:
            is_new = client is None or is_new_client(business=service.business, client=client)
        if not is_new:
            return "This promotion is for new clients only."
    if promotion.audience == PromotionAudience.REFERRERS and (client is None or client.referred_clients_count < 1):
        return "This promotion is for clients who have referred a friend."
    return None


def promotion_discount_line(promotion: Promotion, price: int) -> DiscountLine:
    """The discount on `price` as a booking line: taken once, never more than the price."""
    percent = promotion.kind == PromotionKind.PERCENT
    amount = percent_of(price, promotion.percent) if percent else promotion.amount
    return DiscountLine(
        kind=DiscountKind.PROMOTION,
        label=f"{promotion.name} ({promotion_offer(promotion, promotion.business.currency)})",
        amount=min(amount, price),
        source_type=SOURCE_TYPE,
        source_id=promotion.pk,
        code=promotion.code,
        per_period=False,
    )


def promotion_lock_for_use(*, business: Business, code: str, service: Service, client: Client) -> Promotion:
    """The promotion `client` may use on `service`, its row locked until the caller's transaction ends (after the
    client's row: the booking's lock order); ValidationError on `promotion_code` otherwise."""
    found = promotion_find(business=business, code=code)
    locked = Promotion.objects.select_for_update().filter(business=business, pk=found.pk).first() if found else None
    problem = promotion_problem(locked, service=service, client=client)
    if problem:
        raise ValidationError({"promotion_code": problem})
    return locked


def promotion_take_use(*, business: Business, promotion: Promotion, booking: Booking, actor=None) -> None:
    """Count one use for `booking`, in its transaction, with the row locked by promotion_lock_for_use."""
    Promotion.objects.filter(business=business, pk=promotion.pk).update(uses=F("uses") + 1)
    event_record(business=business, kind="promotion.used", subject=promotion, actor=actor, booking_id=booking.pk)


def on_booking_cancelled(event) -> None:
    """A cancelled booking gives its promotion use back, once (the cancellation itself happens once)."""
    from bookings.models import BookingDiscount

    rows = BookingDiscount.objects.filter(
        business=event.business, booking_id=event.subject_id, source_type=SOURCE_TYPE
    ).values_list("source_id", flat=True)
    for promotion_id in rows:
        Promotion.objects.filter(business=event.business, pk=promotion_id, uses__gt=0).update(uses=F("uses") - 1)


# ------------------------------------------------------------------------------------------------ owner's edits


@dataclass(frozen=True)
class PromotionData:
    name: str
    code: str
    kind: str
    value: str  # as typed: "20" (percent) or "15.50" (amount)
    service_ids: tuple[int, ...] = ()
    starts_on: date | None = None
    ends_on: date | None = None
    max_uses: int | None = None
    audience: str = PromotionAudience.ANYONE


def _cleaned(business: Business, data: PromotionData) -> dict:
    """The model fields of `data`, or a ValidationError by field with every problem found."""
    from businesses.money import to_minor

    errors: dict[str, list[str]] = {}
    name, code = data.name.strip(), normalise_code(data.code)
    if not name:
        errors["name"] = ["Give the promotion a name clients will see."]
    if not CODE_PATTERN.match(code):
        errors["code"] = ["Use 3 to 30 letters, digits, - or _, starting with a letter or digit."]
    if data.kind not in PromotionKind.values:
        errors["kind"] = ["Choose percent or amount off."]
    if data.audience not in PromotionAudience.values:
        errors["audience"] = ["Choose who may use it."]
    percent, amount = Decimal(0), 0
    try:
        if data.kind == PromotionKind.PERCENT:
            percent = Decimal(data.value.strip())
            if not (0 < percent <= 100) or percent.as_tuple().exponent < -2:
                raise InvalidOperation
        elif data.kind == PromotionKind.FIXED:
            amount = to_minor(data.value.strip(), business.currency)
            if amount <= 0:
                raise InvalidOperation
    except (InvalidOperation, ValueError, ValidationError):
        errors["value"] = ["Enter a percent between 0 and 100 or a positive amount."]
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        errors["ends_on"] = ["The end date is before the start date."]
    if data.max_uses is not None and not 1 <= data.max_uses <= 1_000_000:
        errors["max_uses"] = ["Enter a number of uses between 1 and 1,000,000, or leave it empty."]
    services = list(Service.objects.filter(business=business, pk__in=data.service_ids))
    if len(services) != len(set(data.service_ids)):
        errors["services"] = ["Choose services of this business."]
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name[:100],
        "code": code,
        "kind": data.kind,
        "percent": percent,
        "amount": amount,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "max_uses": data.max_uses,
        "audience": data.audience,
        "all_services": not services,
    }
    return {"fields": fields, "services": services}


def _save(business: Business, promotion: Promotion, cleaned: dict) -> Promotion:
    for field, value in cleaned["fields"].items():
        setattr(promotion, field, value)
    if promotion.max_uses is not None and promotion.uses > promotion.max_uses:
        raise ValidationError({"max_uses": [f"It has already been used {promotion.uses} times."]})
    try:
        with transaction.atomic():
            promotion.save()
    except IntegrityError:
        raise ValidationError({"code": ["Another promotion already has this code."]}) from None
    promotion.services.set(cleaned["services"])
    return promotion


@transaction.atomic
def promotion_create(*, business: Business, data: PromotionData, actor=None) -> Promotion:
    promotion = _save(business, Promotion(business=business), _cleaned(business, data))
    event_record(business=business, kind="promotion.created", subject=promotion, actor=actor)
    return promotion


@transaction.atomic
def promotion_update(*, business: Business, promotion: Promotion, data: PromotionData, actor=None) -> Promotion:
    """Save new terms. Bookings already made keep the discount they got (their rows are snapshots)."""
    cleaned = _cleaned(business, data)
    locked = Promotion.objects.select_for_update().get(business=business, pk=promotion.pk)
    _save(business, locked, cleaned)
    event_record(business=business, kind="promotion.updated", subject=locked, actor=actor)
    return locked


@transaction.atomic
def promotion_archive(*, business: Business, promotion: Promotion, actor=None) -> Promotion:
    """Stop a promotion: its link and code no longer give anything. Idempotent."""
    changed = Promotion.objects.filter(business=business, pk=promotion.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    if changed:
        event_record(business=business, kind="promotion.archived", subject=promotion, actor=actor)
    return Promotion.objects.get(business=business, pk=promotion.pk)
