"""Free start times for online booking: the business's opening hours less the time its bookings take.

One practitioner per business is the model: any booking that still stands (everything but cancelled; test-drive
bookings aside) blocks its time. A start is offered when the whole service fits in one opening stretch, overlaps
no booking, is at least LEAD_TIME from now and falls on a day no further than HORIZON_DAYS ahead.

Starts are every STEP from the beginning of each stretch (9:00, 9:15, …): quarter hours are what clients expect
to read, and a 60-minute massage may then start at 9:15 when 9:00–9:15 is all that is left of a morning. A
service shorter than STEP steps by its own length, so a 10-minute check-up can fill the day.

Time zones: a stretch is read on the wall clock of the business's time zone and the slots are counted on absolute
(UTC) time, so on a day the clocks change a stretch that spans the change is an hour shorter or longer, as it
really is, and a 60-minute service takes 60 real minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from businesses.catalog import MAX_DURATION_MINUTES
from businesses.hours import Interval, WeeklyHours, opening_hours_of
from businesses.models import Business, Service

from .models import Booking, BookingStatus

STEP = timedelta(minutes=15)
LEAD_TIME = timedelta(hours=1)
HORIZON_DAYS = 60
# No booking lasts longer than a service may: the lower bound that keeps the busy-time query on its index.
LONGEST_BOOKING = timedelta(minutes=MAX_DURATION_MINUTES)

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class BookingWindow:
    """When a client may book: from `earliest` (now plus the lead time), on days up to `last_day` (local)."""

    earliest: datetime
    first_day: date
    last_day: date

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def booking_window(*, zone: ZoneInfo, now: datetime | None = None) -> BookingWindow:
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    return BookingWindow(earliest=now + LEAD_TIME, first_day=today, last_day=today + timedelta(days=HORIZON_DAYS))


def slot_step(duration: timedelta) -> timedelta:
    return min(STEP, duration)


def opening_spans(day: date, stretches: Iterable[Interval], zone: ZoneInfo) -> list[Span]:
    """The day's stretches as absolute (UTC) spans. A wall-clock time the clocks skip is read with the offset
    before the change (zoneinfo's fold=0), so a stretch opening inside a skipped hour opens at its end."""
    spans = []
    for stretch in stretches:
        opens = datetime.combine(day, stretch.opens, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, stretch.closes, tzinfo=zone).astimezone(UTC)
        if closes > opens:
            spans.append((opens, closes))
    return spans


def free_starts(spans: Sequence[Span], busy: Sequence[Span], duration: timedelta, *, earliest: datetime) -> list:
    """Every start, STEP apart from each span's opening, whose whole service fits in the span, overlaps nothing
    busy and is not before `earliest`. Pure: aware datetimes in, UTC datetimes out, in order."""
    if duration <= timedelta(0):
        return []
    step = slot_step(duration)
    starts = []
    for opens, closes in spans:
        nearby = [(b_start, b_end) for b_start, b_end in busy if b_start < closes and b_end > opens]
        start = opens
        while start + duration <= closes:
            end = start + duration
            if start >= earliest and not any(b_start < end and b_end > start for b_start, b_end in nearby):
                starts.append(start)
            start += step
    return starts


def busy_spans(*, business: Business, start: datetime, end: datetime) -> list[Span]:
    """The times between `start` and `end` that bookings already take, in one indexed query."""
    rows = (
        Booking.objects.filter(
            business=business,
            starts_at__gte=start - LONGEST_BOOKING,
            starts_at__lt=end,
            ends_at__gt=start,
            is_test=False,
        )
        .exclude(status=BookingStatus.CANCELLED)
        .values_list("starts_at", "ends_at")
    )
    return list(rows)


def free_slots(
    *,
    business: Business,
    service: Service,
    start: date,
    days: int = 1,
    now: datetime | None = None,
    week: WeeklyHours | None = None,
) -> dict[date, list[datetime]]:
    """Free start times (UTC) of `service` on each of `days` days from `start`; days outside the booking window
    or closed have none. Two queries at most: the opening hours (unless `week` is given) and the bookings."""
    zone = ZoneInfo(business.time_zone)
    window = booking_window(zone=zone, now=now)
    wanted = [start + timedelta(days=offset) for offset in range(days)]
    in_window = [day for day in wanted if window.contains(day)]
    if week is None and in_window:
        week = opening_hours_of(business=business)
    spans = {day: opening_spans(day, week[day.weekday()], zone) for day in in_window}
    every_span = [span for day_spans in spans.values() for span in day_spans]
    slots: dict[date, list[datetime]] = {day: [] for day in wanted}
    if not every_span:
        return slots
    busy = busy_spans(
        business=business, start=min(opens for opens, _ in every_span), end=max(closes for _, closes in every_span)
    )
    duration = timedelta(minutes=service.duration_minutes)
    for day, day_spans in spans.items():
        slots[day] = free_starts(day_spans, busy, duration, earliest=window.earliest)
    return slots


def is_free(*, business: Business, service: Service, starts_at: datetime, now: datetime | None = None) -> bool:
    """Whether `starts_at` is one of the start times offered for `service` right now."""
    day = starts_at.astimezone(ZoneInfo(business.time_zone)).date()
    return starts_at in free_slots(business=business, service=service, start=day, now=now)[day]
