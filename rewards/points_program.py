"""The owner's loyalty points settings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from businesses.models import Business
from businesses.services import audit_record

from .models import PointsProgram

MAX_RATE = Decimal(1000)
MAX_POINT_VALUE = 100_000  # minor units: a point worth more than 1,000.00 is a typo
MAX_MONTHS = 120
MAX_EXPIRY_DAYS = 3650


@dataclass(frozen=True)
class PointsProgramData:
    enabled: bool
    points_per_unit: Decimal
    point_value: int
    referrer_points_per_unit: Decimal = Decimal(0)
    referrer_months: int | None = None
    expiry_days: int | None = None


def _clean(data: PointsProgramData) -> dict:
    errors = {}
    for name in ("points_per_unit", "referrer_points_per_unit"):
        value = getattr(data, name)
        if value < 0 or value > MAX_RATE or value != value.quantize(Decimal("0.0001")):
            errors[name] = f"Use a number from 0 to {MAX_RATE} with at most 4 decimals."
    if not 1 <= data.point_value <= MAX_POINT_VALUE:
        errors["point_value"] = "A point must be worth at least the smallest coin and at most 1,000.00."
    if data.referrer_months is not None and not 1 <= data.referrer_months <= MAX_MONTHS:
        errors["referrer_months"] = f"Choose from 1 to {MAX_MONTHS} months, or leave it empty for always."
    if data.expiry_days is not None and not 1 <= data.expiry_days <= MAX_EXPIRY_DAYS:
        errors["expiry_days"] = f"Choose from 1 to {MAX_EXPIRY_DAYS} days, or leave it empty for never."
    if data.enabled and data.points_per_unit == 0 and data.referrer_points_per_unit == 0:
        errors["points_per_unit"] = "Switched on, the program must give clients or referrers some points."
    if errors:
        raise ValidationError(errors)
    return {name: getattr(data, name) for name in PointsProgramData.__dataclass_fields__}


@transaction.atomic
def points_program_update(*, business: Business, data: PointsProgramData, actor=None) -> PointsProgram:
    """Save the settings (bad values change nothing). Locks the program row; points already earned keep their
    value and expiry: the new rates apply to payments recorded from now on."""
    values = _clean(data)
    try:
        with transaction.atomic():
            PointsProgram.objects.get_or_create(business=business)
    except IntegrityError:
        pass
    program = PointsProgram.objects.select_for_update().get(business=business)
    for name, value in values.items():
        setattr(program, name, value)
    program.updated_at = timezone.now()
    program.save()
    audit_record(business=business, actor=actor, action="points_program.updated", subject=program)
    return program
