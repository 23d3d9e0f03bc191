"""The overview's daily aggregates (ReferralDailyStats): moved by domain-event subscribers in the transaction of
the change, and rebuilt from the source rows for drift and backfill.

A change inserts a row of differences rather than updating the day's row: an update would lock that row in the
middle of the booking's transaction, and two transactions that lock it and a client row in opposite orders (a
referrer's confirmation and a friend's new booking) deadlock. Inserts lock nothing the others wait for;
`daily_stats_compact` (every few minutes) folds a key's rows into one, and readers always sum.

Definitions (the rebuild is the reference; each subscriber applies exactly the difference its event makes):
- referrals, new_referred_clients: referrals that came with a booking, on the local day that booking was made;
  lost: not eligible (that day), rejected or cancelled (the day it closed); confirmed: the day it was confirmed.
- new_clients: first bookings (Booking.is_first_booking), on the day they were made.
- A *referred client* is the referee of a live referral (pending, flagged, confirmed) that came with a booking.
- referred_revenue: totals of confirmed and completed bookings of referred clients; cost_*: the referral,
  coupon, store credit, points and service credit discounts on confirmed and completed bookings. Both on the
  local day the booking starts, so a cancellation or a checkout change moves the same row the booking counted in.
- clicks: copied from ClickCount by the rebuild (the flush writes those in bulk, without events).
Test records (booking, client or referral) are left out everywhere.

Subscribers are registered before the referral engine's (referrals/apps.py): on a cancelled booking this module
reads the referral as it stood, before the engine cancels it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django_scopes import scope

from bookings.models import Booking, BookingDiscount, BookingStatus, DiscountKind
from businesses.events import subscribe
from businesses.models import Business, DomainEvent

from .models import LIVE_STATUSES, ClickCount, Referral, ReferralDailyStats, ReferralStatus

COUNTED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
LOST_STATUSES = (ReferralStatus.REJECTED, ReferralStatus.CANCELLED)
COST_FIELDS = {
    DiscountKind.REFERRAL: "cost_referral",
    DiscountKind.COUPON: "cost_coupon",
    DiscountKind.STORE_CREDIT: "cost_store_credit",
    DiscountKind.POINTS: "cost_points",
    DiscountKind.SERVICE_CREDIT: "cost_service_credit",
}
FIGURES = (
    "clicks",
    "referrals",
    "confirmed",
    "lost",
    "new_clients",
    "new_referred_clients",
    "referred_revenue",
    *COST_FIELDS.values(),
)
Key = tuple[date, int]  # (local day, service id or 0)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def stats_add(business: Business | int, day: date, service_key: int, **deltas: int) -> None:
    """Record `deltas` for a day as a row of its own (see the module's note on why it never updates in place)."""
    deltas = {name: value for name, value in deltas.items() if value}
    if deltas:
        business_id = getattr(business, "pk", business)
        ReferralDailyStats.objects.create(business_id=business_id, day=day, service_key=service_key, **deltas)


def _excluded(booking: Booking) -> bool:
    return booking.is_test or booking.client.is_test


def _is_referred(business: Business, client_id: int) -> bool:
    return Referral.objects.filter(
        business=business, referee_id=client_id, status__in=LIVE_STATUSES, booking__isnull=False, is_test=False
    ).exists()


def _money(business: Business, booking: Booking, referred: bool) -> dict[str, int]:
    """What a counted booking adds to the money figures, as it stands now."""
    figures = {"referred_revenue": booking.total if referred else 0}
    rows = (
        BookingDiscount.objects.filter(business=business, booking=booking, kind__in=list(COST_FIELDS))
        .order_by()
        .values_list("kind")
        .annotate(total=Sum("amount"))
    )
    for kind, total in rows:
        figures[COST_FIELDS[kind]] = total or 0
    return figures


def _booking(event: DomainEvent, booking_id: int | None = None) -> Booking | None:
    return (
        Booking.objects.filter(business=event.business, pk=booking_id or event.subject_id)
        .select_related("client")
        .first()
    )


def _add_money(business: Business, booking: Booking, sign: int) -> None:
    zone = ZoneInfo(business.time_zone)
    money = _money(business, booking, _is_referred(business, booking.client_id))
    stats_add(
        business,
        local_day(booking.starts_at, zone),
        booking.service_id,
        **{k: sign * v for k, v in money.items()},
    )


def on_booking_created(event: DomainEvent) -> None:
    business = event.business
    with scope(business=business):
        booking = _booking(event)
        if booking is None or _excluded(booking):
            return
        if booking.is_first_booking:
            zone = ZoneInfo(business.time_zone)
            stats_add(business, local_day(booking.created_at, zone), booking.service_id, new_clients=1)
        if booking.status in COUNTED_STATUSES:
            _add_money(business, booking, +1)


def on_booking_status(event: DomainEvent) -> None:
    from_status = event.payload.get("from_status")
    if not from_status:  # a booking created confirmed: booking.created counted it
        return
    business = event.business
    with scope(business=business):
        booking = _booking(event)
        if booking is None or _excluded(booking):
            return
        was, now = from_status in COUNTED_STATUSES, booking.status in COUNTED_STATUSES
        if was != now:
            _add_money(business, booking, +1 if now else -1)


def _discounts_changed(event: DomainEvent, booking_id: int, lines: list[tuple[str, int]], sign: int) -> None:
    """Checkout discounts applied (sign +1: the total dropped by them) or given back (-1)."""
    business = event.business
    with scope(business=business):
        booking = _booking(event, booking_id)
        if booking is None or _excluded(booking) or booking.status not in COUNTED_STATUSES:
            return
        deltas: dict[str, int] = defaultdict(int)
        for kind, amount in lines:
            if kind in COST_FIELDS:
                deltas[COST_FIELDS[kind]] += sign * amount
        taken = sum(amount for _, amount in lines)
        if taken and _is_referred(business, booking.client_id):
            deltas["referred_revenue"] -= sign * taken
        zone = ZoneInfo(business.time_zone)
        stats_add(business, local_day(booking.starts_at, zone), booking.service_id, **deltas)


def on_discount_applied(event: DomainEvent) -> None:
    lines = [(event.payload.get("discount_kind", ""), int(event.payload.get("amount") or 0))]
    _discounts_changed(event, event.subject_id, lines, +1)


def on_payment_voided(event: DomainEvent) -> None:
    lines = [(row["kind"], int(row["amount"])) for row in event.payload.get("discounts_reversed") or []]
    if lines:
        _discounts_changed(event, event.payload.get("booking_id"), lines, -1)


def _referee_revenue(business: Business, referee_id: int, sign: int) -> None:
    """The referee became (+1) or stopped being (-1) a referred client: move their counted bookings' totals."""
    zone = ZoneInfo(business.time_zone)
    rows = Booking.objects.filter(
        business=business, client_id=referee_id, status__in=COUNTED_STATUSES, is_test=False
    ).values_list("starts_at", "service_id", "total")
    sums: dict[Key, int] = defaultdict(int)
    for starts_at, service_id, total in rows:
        sums[(local_day(starts_at, zone), service_id)] += total
    for (day, service_id), total in sorted(sums.items()):
        stats_add(business, day, service_id, referred_revenue=sign * total)


def _referral(event: DomainEvent) -> Referral | None:
    referral = (
        Referral.objects.filter(business=event.business, pk=event.subject_id)
        .select_related("booking", "referee")
        .first()
    )
    if referral is None or referral.booking is None or referral.is_test:
        return None
    if referral.booking.is_test or referral.referee.is_test:
        return None
    return referral


def on_referral_created(event: DomainEvent) -> None:
    business = event.business
    with scope(business=business):
        referral = _referral(event)
        if referral is None:
            return
        booking = referral.booking
        day = local_day(booking.created_at, ZoneInfo(business.time_zone))
        if referral.status == ReferralStatus.INELIGIBLE:
            stats_add(business, day, booking.service_id, referrals=1, lost=1)
            return
        stats_add(business, day, booking.service_id, referrals=1, new_referred_clients=int(booking.is_first_booking))
        if referral.status in LIVE_STATUSES:
            _referee_revenue(business, referral.referee_id, +1)


def on_referral_confirmed(event: DomainEvent) -> None:
    business = event.business
    with scope(business=business):
        referral = _referral(event)
        if referral is None or referral.confirmed_at is None:
            return
        day = local_day(referral.confirmed_at, ZoneInfo(business.time_zone))
        stats_add(business, day, referral.booking.service_id, confirmed=1)


def on_referral_closed(event: DomainEvent) -> None:
    business = event.business
    with scope(business=business):
        referral = _referral(event)
        if referral is None or referral.status not in LOST_STATUSES:
            return
        day = local_day(referral.closed_at or event.created_at, ZoneInfo(business.time_zone))
        stats_add(business, day, referral.booking.service_id, lost=1)
        _referee_revenue(business, referral.referee_id, -1)


def subscribe_daily_stats() -> None:
    subscribe("booking.created", on_booking_created)
    for kind in ("booking.confirmed", "booking.completed", "booking.cancelled", "booking.no_show"):
        subscribe(kind, on_booking_status)
    subscribe("booking.discount_applied", on_discount_applied)
    subscribe("payment.voided", on_payment_voided)
    subscribe("referral.created", on_referral_created)
    subscribe("referral.confirmed", on_referral_confirmed)
    subscribe("referral.rejected", on_referral_closed)
    subscribe("referral.cancelled", on_referral_closed)


# --------------------------------------------------------------------------------------------- the rebuild


def _grouped(queryset, moment: str, service: str, zone: ZoneInfo, start: date | None, end: date | None, **sums):
    """{(local day, service): {figure: value}} of `queryset`, grouped by the local day of `moment`."""
    queryset = queryset.annotate(_day=TruncDate(moment, tzinfo=zone))
    if start is not None:
        queryset = queryset.filter(_day__gte=start)
    if end is not None:
        queryset = queryset.filter(_day__lte=end)
    rows = queryset.order_by().values("_day", _service=F(service)).annotate(**sums)
    return {(row["_day"], row["_service"] or 0): {name: row[name] or 0 for name in sums} for row in rows}


def compute(business: Business, start: date | None = None, end: date | None = None) -> dict[Key, dict[str, int]]:
    """Every figure of every day from `start` to `end` (inclusive; None: open), counted from the source rows."""
    zone = ZoneInfo(business.time_zone)
    out: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))

    def merge(found):
        for key, values in found.items():
            for name, value in values.items():
                out[key][name] += value

    clicks = ClickCount.objects.filter(business=business)
    if start is not None:
        clicks = clicks.filter(day__gte=start)
    if end is not None:
        clicks = clicks.filter(day__lte=end)
    for day, total in clicks.order_by().values_list("day").annotate(total=Sum("clicks")):
        out[(day, 0)]["clicks"] += total or 0

    referrals = Referral.objects.filter(
        business=business, is_test=False, booking__isnull=False, booking__is_test=False, referee__is_test=False
    )
    one = Count("id")
    merge(
        _grouped(
            referrals,
            "booking__created_at",
            "booking__service_id",
            zone,
            start,
            end,
            referrals=one,
            new_referred_clients=Count("id", filter=Q(booking__is_first_booking=True) & ~Q(status="ineligible")),
            lost=Count("id", filter=Q(status=ReferralStatus.INELIGIBLE)),
        )
    )
    merge(
        _grouped(
            referrals.filter(status__in=LOST_STATUSES, closed_at__isnull=False),
            "closed_at",
            "booking__service_id",
            zone,
            start,
            end,
            lost=one,
        )
    )
    merge(
        _grouped(
            referrals.filter(confirmed_at__isnull=False),
            "confirmed_at",
            "booking__service_id",
            zone,
            start,
            end,
            confirmed=one,
        )
    )
    bookings = Booking.objects.filter(business=business, is_test=False, client__is_test=False)
    merge(
        _grouped(bookings.filter(is_first_booking=True), "created_at", "service_id", zone, start, end, new_clients=one)
    )
    referees = referrals.filter(status__in=LIVE_STATUSES).values("referee_id")
    counted = bookings.filter(status__in=COUNTED_STATUSES)
    merge(
        _grouped(
            counted.filter(client_id__in=referees),
            "starts_at",
            "service_id",
            zone,
            start,
            end,
            referred_revenue=Sum("total"),
        )
    )
    discounts = BookingDiscount.objects.filter(
        business=business,
        kind__in=list(COST_FIELDS),
        booking__status__in=COUNTED_STATUSES,
        booking__is_test=False,
        booking__client__is_test=False,
    )
    for kind, field in COST_FIELDS.items():
        merge(
            _grouped(
                discounts.filter(kind=kind),
                "booking__starts_at",
                "booking__service_id",
                zone,
                start,
                end,
                **{field: Sum("amount")},
            )
        )
    return dict(out)


@transaction.atomic
def daily_stats_rebuild(*, business: Business, start: date | None = None, end: date | None = None) -> int:
    """Make the rows from `start` to `end` equal to what the source rows say: the rows there are locked, replaced
    by one row per key, and rows inserted by changes meanwhile stay. Returns the rows written."""
    with scope(business=business), transaction.atomic():
        existing = ReferralDailyStats.objects.filter(business=business)
        if start is not None:
            existing = existing.filter(day__gte=start)
        if end is not None:
            existing = existing.filter(day__lte=end)
        held = list(existing.select_for_update().order_by("pk").values_list("pk", flat=True))
        computed = compute(business, start, end)
        ReferralDailyStats.objects.filter(business=business, pk__in=held).delete()
        rows = [
            ReferralDailyStats(business=business, day=day, service_key=service, **values)
            for (day, service), values in sorted(computed.items())
        ]
        ReferralDailyStats.objects.bulk_create(rows, batch_size=1000)
        return len(rows)


def daily_stats_compact(*, after_id: int = 0, limit: int = 2000) -> int:
    """Fold the rows of each key that has one of the next `limit` rows after `after_id` into one (across
    businesses): the key's rows are locked, summed into the oldest and the others deleted, so a difference inserted
    meanwhile is neither lost nor counted twice. Returns the newest row id seen, the next call's `after_id`."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        recent = list(
            ReferralDailyStats.objects.filter(pk__gt=after_id)
            .order_by("pk")
            .values_list("pk", "business_id", "day", "service_key")[:limit]
        )
        newest = recent[-1][0] if recent else after_id
        keys = {row[1:] for row in recent}
        for business_id, day, service_key in sorted(keys):
            with transaction.atomic():
                rows = list(
                    ReferralDailyStats.objects.select_for_update()
                    .filter(business_id=business_id, day=day, service_key=service_key)
                    .order_by("pk")
                )
                if len(rows) < 2:
                    continue
                kept, others = rows[0], rows[1:]
                for figure in FIGURES:
                    setattr(kept, figure, sum(getattr(row, figure) for row in rows))
                kept.save(update_fields=list(FIGURES))
                ReferralDailyStats.objects.filter(pk__in=[row.pk for row in others]).delete()
    return newest


RECENT_DAYS = 7


def daily_stats_refresh_recent(now: datetime | None = None) -> int:
    """Nightly: rebuild the last RECENT_DAYS local days of every business (clicks arrive by flush, drift heals)."""
    written = 0
    for business in Business.objects.order_by("pk").iterator():
        today = local_day(now or datetime.now(ZoneInfo("UTC")), ZoneInfo(business.time_zone))
        written += daily_stats_rebuild(business=business, start=today - timedelta(days=RECENT_DAYS), end=today)
    return written
