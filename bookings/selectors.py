"""Reads for the staff's booking screens. Each takes the business explicitly and filters on it first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from businesses.models import Business, Service
from clients.models import Client

from .models import Booking, BookingStatus

CLIENT_SUGGESTIONS = 10


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current time zone (the business's inside dashboard requests)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def bookings_between(*, business: Business, start: date, end: date) -> QuerySet[Booking]:
    """Bookings starting on the days `start` to `end` (inclusive), with what a schedule card shows."""
    return (
        Booking.objects.filter(
            business=business, starts_at__gte=day_start(start), starts_at__lt=day_start(end + timedelta(days=1))
        )
        .select_related("client", "service")
        .order_by("starts_at", "id")
    )


@dataclass
class ScheduleDay:
    day: date
    bookings: list[Booking]

    @property
    def is_today(self) -> bool:
        return self.day == timezone.localdate()


def schedule(*, business: Business, start: date, days: int) -> list[ScheduleDay]:
    """`days` consecutive days from `start`, each with its bookings, empty days included."""
    by_day: dict[date, list[Booking]] = {start + timedelta(days=i): [] for i in range(days)}
    for booking in bookings_between(business=business, start=start, end=start + timedelta(days=days - 1)):
        by_day.setdefault(timezone.localdate(booking.starts_at), []).append(booking)
    return [ScheduleDay(day, by_day[day]) for day in sorted(by_day)]


@dataclass(frozen=True)
class BookingFilters:
    status: str = ""
    service_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    query: str = ""
    new_clients_only: bool = False


def client_match(query: str, prefix: str = "") -> Q:
    """Every word of `query` must start a first name, last name or e-mail, or appear in the phone number."""
    condition = Q()
    for word in query.split()[:5]:
        digits = "".join(ch for ch in word if ch.isdigit())
        term = (
            Q(**{f"{prefix}first_name__istartswith": word})
            | Q(**{f"{prefix}last_name__istartswith": word})
            | Q(**{f"{prefix}email__istartswith": word})
        )
        if len(digits) >= 3:
            term |= Q(**{f"{prefix}phone__contains": digits})
        condition &= term
    return condition


def booking_list(*, business: Business, filters: BookingFilters) -> QuerySet[Booking]:
    """The bookings list, newest first, with the client and service joined in (one query per page)."""
    bookings = Booking.objects.filter(business=business)
    if filters.status:
        bookings = bookings.filter(status=filters.status)
    if filters.service_id:
        bookings = bookings.filter(service_id=filters.service_id)
    if filters.date_from:
        bookings = bookings.filter(starts_at__gte=day_start(filters.date_from))
    if filters.date_to:
        bookings = bookings.filter(starts_at__lt=day_start(filters.date_to + timedelta(days=1)))
    if filters.query.strip():
        bookings = bookings.filter(client_match(filters.query, prefix="client__"))
    if filters.new_clients_only:
        bookings = bookings.filter(is_first_booking=True)
    return bookings.select_related("client", "service").order_by("-starts_at", "-id")


def client_suggestions(*, business: Business, query: str, limit: int = CLIENT_SUGGESTIONS) -> list[Client]:
    """At most `limit` clients matching what staff typed; erased clients are never offered."""
    if not query.strip():
        return []
    return list(
        Client.objects.filter(business=business, erased_at__isnull=True)
        .filter(client_match(query))
        .order_by("last_name", "first_name", "id")[:limit]
    )


def overlapping_bookings(
    *, business: Business, starts_at: datetime, ends_at: datetime, exclude_pk: int | None = None
) -> list[Booking]:
    """Bookings that still stand and share some of the time from `starts_at` to `ends_at`."""
    return list(
        Booking.objects.filter(business=business, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(status=BookingStatus.CANCELLED)
        .exclude(pk=exclude_pk)
        .select_related("client", "service")
        .order_by("starts_at")[:5]
    )


def bookable_services(*, business: Business) -> QuerySet[Service]:
    return Service.objects.filter(business=business, is_active=True).order_by("name")


def booking_detail(*, business: Business, booking_id: int) -> Booking | None:
    """One booking with everything its page shows, or None if this business has no such booking."""
    return (
        Booking.objects.filter(business=business, pk=booking_id)
        .select_related("client", "service", "created_by", "status_changed_by")
        .prefetch_related("discounts", "payments__recorded_by", "events__actor")
        .first()
    )
