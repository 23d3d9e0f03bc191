"""Use cases for the catalog of services and programmes. Each runs in one transaction and is audited.

A booking copies the price and the plan's payments when it is made, so editing or archiving a service never
changes a booking that exists already.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .models import Business, PaymentPlan, PlanInterval, Service
from .money import format_money
from .services import audit_record

# (smallest, largest) number of payments, billing periods or sessions each plan allows.
PLAN_COUNT_LIMITS: dict[str, tuple[int, int]] = {
    PaymentPlan.ONE_OFF: (1, 1),
    PaymentPlan.INSTALMENTS: (2, 36),
    PaymentPlan.MEMBERSHIP: (1, 36),
    PaymentPlan.PER_SESSION: (2, 100),
}
PLAN_COUNT_WORDS: dict[str, str] = {
    PaymentPlan.ONE_OFF: "payments",
    PaymentPlan.INSTALMENTS: "instalments",
    PaymentPlan.MEMBERSHIP: "billing periods",
    PaymentPlan.PER_SESSION: "sessions",
}
MAX_DURATION_MINUTES = 24 * 60
# The highest price a service may have, in minor units: 10,000,000.00 in a two-decimal currency. Far above any
# real service, and low enough that a 36-period membership or 100 sessions still add up inside a bigint.
MAX_PRICE_MINOR = 1_000_000_000


@dataclass(frozen=True)
class ServiceData:
    """What the owner types about a service, the price already in minor units."""

    name: str
    price: int
    duration_minutes: int = 60
    description: str = ""
    online_bookable: bool = True
    new_clients_only: bool = False
    payment_plan: str = PaymentPlan.ONE_OFF
    plan_count: int = 1
    plan_interval: str = PlanInterval.MONTH


def plan_count_error(plan: str, count: int) -> str | None:
    """Why `count` does not fit `plan`, in the owner's words; None if it does."""
    if plan not in PLAN_COUNT_LIMITS:
        return None
    low, high = PLAN_COUNT_LIMITS[plan]
    if low <= count <= high:
        return None
    if plan == PaymentPlan.ONE_OFF:
        return "A one-off payment is paid once: set the number to 1, or choose instalments."
    return f"Choose between {low} and {high} {PLAN_COUNT_WORDS[plan]}."


def _clean(business: Business, data: ServiceData, *, exclude_pk: int | None = None) -> dict:
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > Service._meta.get_field("name").max_length:
        errors["name"] = "Keep the name under 120 characters."
    if data.price < 0:
        errors["price"] = "The price cannot be negative."
    elif data.price > MAX_PRICE_MINOR:
        highest = format_money(MAX_PRICE_MINOR, business.currency)
        errors["price"] = f"Choose a price of at most {highest}."
    if not 1 <= data.duration_minutes <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = "Choose a duration between 1 minute and 24 hours."
    if data.payment_plan not in PaymentPlan.values:
        errors["payment_plan"] = "Choose one of the listed payment plans."
    elif problem := plan_count_error(data.payment_plan, data.plan_count):
        errors["plan_count"] = problem
    if data.plan_interval not in PlanInterval.values:
        errors["plan_interval"] = "Choose weekly or monthly."
    if name and "name" not in errors:
        clash = Service.objects.filter(business=business, name__iexact=name).exclude(pk=exclude_pk).first()
        if clash is not None:
            state = "an active" if clash.is_active else "an archived"
            errors["name"] = f"There is {state} service called “{clash.name}” already. Choose another name."
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "description": data.description.strip(),
        "price": data.price,
        "duration_minutes": data.duration_minutes,
        "online_bookable": data.online_bookable,
        "new_clients_only": data.new_clients_only,
        "payment_plan": data.payment_plan,
        "plan_count": data.plan_count,
        "plan_interval": data.plan_interval,
    }


def _save(service: Service, **kwargs) -> None:
    """Save in a savepoint: a twin created at the same moment trips the unique name constraint, not a 500."""
    try:
        with transaction.atomic():
            service.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError({"name": "A service with this name was just added. Choose another name."}) from exc


@transaction.atomic
def service_create(*, business: Business, data: ServiceData, actor=None) -> Service:
    """Add a service to the catalog. Names are unique per business, case-insensitively (also by constraint)."""
    service = Service(business=business, **_clean(business, data))
    _save(service)
    audit_record(business=business, actor=actor, action="service.created", subject=service, name=service.name)
    return service


@transaction.atomic
def service_update(*, business: Business, service: Service, data: ServiceData, actor=None) -> Service:
    """Change a service. Locks its row; existing bookings keep the price and payments they were made with."""
    locked = Service.objects.select_for_update().get(business=business, pk=service.pk)
    values = _clean(business, data, exclude_pk=locked.pk)
    changed = sorted(name for name, value in values.items() if getattr(locked, name) != value)
    if not changed:
        return locked
    for name, value in values.items():
        setattr(locked, name, value)
    _save(locked, update_fields=changed)
    audit_record(business=business, actor=actor, action="service.updated", subject=locked, fields=changed)
    return locked


@transaction.atomic
def service_archive(*, business: Business, service: Service, actor=None, archived: bool = True) -> Service:
    """Archive (or, with `archived=False`, restore) a service. Locks its row; asking twice changes nothing.

    An archived service cannot be booked; its bookings stay as they are.
    """
    locked = Service.objects.select_for_update().get(business=business, pk=service.pk)
    if locked.is_active != archived:
        return locked
    locked.is_active = not archived
    locked.save(update_fields=["is_active"])
    audit_record(
        business=business,
        actor=actor,
        action="service.archived" if archived else "service.restored",
        subject=locked,
        name=locked.name,
    )
    return locked
