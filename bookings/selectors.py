"""Reads for the staff's booking screens. Each takes the business explicitly and filters on it first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import BigIntegerField, Count, Max, Min, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from businesses.models import Business, Service
from clients.models import Client
from clients.params import clamp_day
from clients.selectors import client_matches

from .models import Booking, BookingStatus, Payment, PaymentStatus

CLIENT_SUGGESTIONS = 10
# The bookings list's client filter takes the bookings of at most this many matching clients: a search that
# matches more is not a search for someone, and the list stays one indexed query.
LIST_SEARCH_CLIENTS = 1_000


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current time zone (the business's inside dashboard requests).

    Days outside the dashboard's range are clamped to it: midnight of 9999-12-31 plus a day, or of 0001-01-01
    converted to UTC, is past what datetime can hold.
    """
    return timezone.make_aware(datetime.combine(clamp_day(day), time.min))


def day_end(day: date) -> datetime:
    """Midnight at the end of `day` (the start of the next), clamped like `day_start`."""
    return timezone.make_aware(datetime.combine(clamp_day(day) + timedelta(days=1), time.min))


def bookings_between(*, business: Business, start: date, end: date) -> QuerySet[Booking]:
    """Bookings starting on the days `start` to `end` (inclusive), with what a schedule card shows."""
    return (
        Booking.objects.filter(
            business=business, starts_at__gte=day_start(start), starts_at__lt=day_end(end), is_test=False
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
    """`days` consecutive days from `start` (clamped to the dashboard's range), each with its bookings."""
    start = clamp_day(start)
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


def booking_list(*, business: Business, filters: BookingFilters) -> QuerySet[Booking]:
    """The bookings list, newest first, with the client and service joined in (one query per page)."""
    bookings = Booking.objects.filter(business=business, is_test=False)
    if filters.status:
        bookings = bookings.filter(status=filters.status)
    if filters.service_id:
        bookings = bookings.filter(service_id=filters.service_id)
    if filters.date_from:
        bookings = bookings.filter(starts_at__gte=day_start(filters.date_from))
    if filters.date_to:
        bookings = bookings.filter(starts_at__lt=day_end(filters.date_to))
    if filters.query.strip():
        clients = client_matches(business=business, q=filters.query).order_by().values("pk")[:LIST_SEARCH_CLIENTS]
        bookings = bookings.filter(client_id__in=clients)
    if filters.new_clients_only:
        bookings = bookings.filter(is_first_booking=True)
    return bookings.select_related("client", "service").order_by("-starts_at", "-id")


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


CLIENT_FIGURES = ("completed_visits", "first_visit_at", "last_visit_at", "lifetime_spend", "referred_clients_count")


def _aggregate(queryset, group_by: str, expression, output_field=None):
    """A correlated subquery giving one aggregate per client (grouped on `group_by`)."""
    return Subquery(
        queryset.order_by().values(group_by).annotate(value=expression).values("value")[:1],
        output_field=output_field,
    )


def with_computed_figures(clients: QuerySet[Client]) -> QuerySet[Client]:
    """`clients` annotated with `computed_<field>` for every CLIENT_FIGURES field, from the rows it summarises."""
    completed = Booking.objects.filter(
        business=OuterRef("business_id"), client=OuterRef("pk"), status=BookingStatus.COMPLETED
    )
    paid = Payment.objects.filter(
        business=OuterRef("business_id"), booking__client=OuterRef("pk"), status=PaymentStatus.PAID
    )
    referred = Client.objects.filter(business=OuterRef("business_id"), referred_by=OuterRef("pk"))
    return clients.annotate(
        computed_completed_visits=Coalesce(_aggregate(completed, "client", Count("pk")), Value(0)),
        computed_first_visit_at=_aggregate(completed, "client", Min("starts_at")),
        computed_last_visit_at=_aggregate(completed, "client", Max("starts_at")),
        computed_lifetime_spend=Coalesce(
            _aggregate(paid, "booking__client", Sum("amount"), BigIntegerField()), Value(0)
        ),
        computed_referred_clients_count=Coalesce(_aggregate(referred, "referred_by", Count("pk")), Value(0)),
    )
