"""Opening hours: the weekly stretches of time when clients can book online, in the business's time zone.

The week is a mapping weekday (0 = Monday) → stretches; a weekday without stretches is closed. A stretch ends
on the day it starts (closing after midnight is written as two stretches on two days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Business, OpeningInterval, Weekday
from .services import audit_record

MAX_INTERVALS_PER_DAY = 6


@dataclass(frozen=True, order=True)
class Interval:
    opens: time
    closes: time

    def __str__(self) -> str:
        return f"{_clock(self.opens)}–{_clock(self.closes)}"


WeeklyHours = dict[int, tuple[Interval, ...]]


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def opening_hours_of(*, business: Business) -> WeeklyHours:
    """Every weekday with its stretches in order (an empty tuple when closed), in one query."""
    week: dict[int, list[Interval]] = {day: [] for day in Weekday.values}
    rows = OpeningInterval.objects.filter(business=business).values_list("weekday", "opens_at", "closes_at")
    for weekday, opens, closes in rows.order_by("weekday", "opens_at"):
        week[weekday].append(Interval(opens, closes))
    return {day: tuple(stretches) for day, stretches in week.items()}


def has_opening_hours(*, business: Business) -> bool:
    return OpeningInterval.objects.filter(business=business).exists()


def check_day(stretches: list[Interval] | tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The day's stretches in order, or ValidationError saying what is wrong in words an owner understands."""
    ordered = sorted(stretches)
    if len(ordered) > MAX_INTERVALS_PER_DAY:
        raise ValidationError(f"Use at most {MAX_INTERVALS_PER_DAY} opening times a day.", code="too_many")
    for stretch in ordered:
        if stretch.closes <= stretch.opens:
            raise ValidationError(
                f"{stretch} closes before it opens. Hours past midnight go on the next day.",
                code="closes_first",
            )
    for earlier, later in pairwise(ordered):
        if later.opens < earlier.closes:
            raise ValidationError(f"{earlier} and {later} overlap.", code="overlap")
    return tuple(ordered)


_STRETCH = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(?:-|–|—|to)\s*(\d{1,2})(?:[:.h](\d{2}))?$", re.IGNORECASE)


def parse_day(text: str) -> tuple[Interval, ...]:
    """Read what an owner typed for a day, e.g. "9:00–12:00, 13:00–18:00" (or "9-12, 13-18"); empty is closed."""
    stretches = []
    for part in re.split(r"[,;]|\band\b", (text or "")[:200]):
        part = part.strip()
        if not part:
            continue
        match = _STRETCH.match(part)
        if match is None:
            raise ValidationError(
                f"“{part[:40]}” is not an opening time. Write them like 9:00–12:00, 13:00–18:00.", code="format"
            )
        try:
            opens = time(int(match[1]), int(match[2] or 0))
            closes = time(int(match[3]), int(match[4] or 0))
        except ValueError:
            raise ValidationError(f"“{part[:40]}” is not a time of day.", code="format") from None
        stretches.append(Interval(opens, closes))
    return check_day(stretches)


def format_day(stretches: tuple[Interval, ...]) -> str:
    return ", ".join(str(stretch) for stretch in stretches)


@transaction.atomic
def opening_hours_set(*, business: Business, week: WeeklyHours, actor=None) -> WeeklyHours:
    """Replace the business's weekly hours. Locks the business row: two owners saving at once save one after
    the other, and an online booking re-checking its time under the same lock never sees half a week."""
    checked = {}
    errors = {}
    for day in Weekday.values:
        try:
            checked[day] = check_day(week.get(day, ()))
        except ValidationError as error:
            errors[f"day_{day}"] = error.messages
    if errors:
        raise ValidationError(errors)
    Business.objects.select_for_update().filter(pk=business.pk).first()
    before = opening_hours_of(business=business)
    if before == checked:
        return checked
    OpeningInterval.objects.filter(business=business).delete()
    OpeningInterval.objects.bulk_create(
        OpeningInterval(business=business, weekday=day, opens_at=stretch.opens, closes_at=stretch.closes)
        for day, stretches in checked.items()
        for stretch in stretches
    )
    audit_record(
        business=business,
        actor=actor,
        action="opening_hours.updated",
        subject=business,
        hours={Weekday(day).label: format_day(stretches) for day, stretches in checked.items()},
    )
    return checked


# Believable hours for the demo studio: weekdays with a lunch break and a late finish, a short Saturday.
DEMO_WEEK: WeeklyHours = {
    **{day: (Interval(time(9), time(12, 30)), Interval(time(13, 30), time(19))) for day in range(5)},
    Weekday.SATURDAY: (Interval(time(10), time(16)),),
    Weekday.SUNDAY: (),
}


def demo_opening_hours_seed(*, business: Business) -> None:
    """Give the demo business its hours once; hours an owner changed since are kept."""
    if not has_opening_hours(business=business):
        opening_hours_set(business=business, week=DEMO_WEEK)
