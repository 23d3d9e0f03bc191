"""Reads of the overview page: what the referral program earns and costs in a period against the one before.

Every period figure is a sum over ReferralDailyStats (a few rows per day, indexed by business and day), except
the clicks of the last FRESH_DAYS days, read from ClickCount (the daily rows get those at the nightly rebuild).
The referred-against-other-clients comparison reads the figures kept on Client rows and is cached for a while:
on a large business it is one scan of the clients table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from businesses.models import Business, DomainEvent, Service
from clients.models import Client

from .daily_stats import COST_FIELDS, FIGURES
from .models import ClickCount, ReferralDailyStats, ReferralProgram, ReferrerTally
from .selectors import EVENT_LABELS, Period

# Clicks of these last days come from ClickCount itself: the flush writes them there, not into the daily rows.
FRESH_DAYS = 3
PERIODS = {
    "month": "This month",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "year": "This year",
    "custom": "Chosen dates",
}
DEFAULT_PERIOD = "30d"
MAX_CUSTOM_DAYS = 3660
ACTIVITY_PREFIXES = (
    "referral.",
    "reward.",
    "milestone.",
    "coupon.",
    "friend.",
    "campaign.",
    "message.",
    "outbox.",
    "payment.refund_needed",
)
# What the recent activity says for each kind; others read as their name ("reward.skipped" → "Reward skipped").
ACTIVITY_LABELS = {
    **EVENT_LABELS,
    "referral.approved": "Referral approved after review",
    "referral.refused": "A referral code could not be applied",
    "reward.skipped": "No reward: the referrer reached the maximum",
    "milestone.reached": "A referrer reached a milestone",
    "friend.invited": "A client invited a friend by e-mail",
    "campaign.started": "Campaign started sending",
    "campaign.cancelled": "Campaign cancelled",
    "payment.refund_needed": "Paid twice online: refund the extra payment in Stripe",
}
COMPARISON_SECONDS = 6 * 3600
TOP_SERVICES = 5


def overview_period(key: str, today: date, date_from: date | None = None, date_to: date | None = None) -> Period:
    """The period `key` names on `today` (the business's local date): month and year are "to date"."""
    if key == "month":
        return Period(key, f"{today:%B %Y} to date", today.replace(day=1), today)
    if key in ("30d", "90d"):
        return Period(key, PERIODS[key], today - timedelta(days=int(key[:-1]) - 1), today)
    if key == "year":
        return Period(key, f"{today.year} to date", date(today.year, 1, 1), today)
    if key == "custom" and date_from and date_to:
        return Period(key, f"{date_from:%-d %b %Y} to {date_to:%-d %b %Y}", date_from, date_to)
    raise ValueError(f"Unknown period {key!r}")


def previous_period(period: Period) -> Period:
    """The period of the same number of days that ends the day before `period` starts."""
    days = (period.end - period.start).days + 1
    end = period.start - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    return Period("previous", f"{start:%-d %b %Y} to {end:%-d %b %Y}", start, end)


@dataclass
class Totals:
    """The period sums of every daily figure, plus what is derived from them."""

    values: dict[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["values"][name]
        except KeyError as error:
            raise AttributeError(name) from error

    @property
    def rewards_cost(self) -> int:
        return sum(self.values[name] for name in COST_FIELDS.values())

    @property
    def roi(self) -> float | None:
        """(referred revenue − rewards cost) / rewards cost; None when nothing was spent (undefined)."""
        if not self.rewards_cost:
            return None
        return (self.referred_revenue - self.rewards_cost) / self.rewards_cost

    @property
    def referred_share(self) -> float | None:
        return self.new_referred_clients / self.new_clients if self.new_clients else None

    @property
    def click_to_booking(self) -> float | None:
        return self.referrals / self.clicks if self.clicks else None

    @property
    def booking_to_confirmed(self) -> float | None:
        return self.confirmed / self.referrals if self.referrals else None


@dataclass
class DayRow:
    day: date
    values: dict[str, int]


@dataclass
class ServiceRow:
    service_id: int
    name: str
    referrals: int
    confirmed: int


@dataclass
class Cohort:
    """Referred clients or the others, among clients with at least one completed visit."""

    clients: int = 0
    visits: int = 0
    spend: int = 0
    settled: int = 0  # first visit 90+ days ago
    retained: int = 0  # of those, visited again 90+ days after their first visit

    @property
    def spend_per_visit(self) -> int | None:
        return self.spend // self.visits if self.visits else None

    @property
    def visits_per_client(self) -> float | None:
        return self.visits / self.clients if self.clients else None

    @property
    def retention(self) -> float | None:
        return self.retained / self.settled if self.settled else None


@dataclass
class Comparison:
    referred: Cohort
    others: Cohort
    computed_at: datetime


@dataclass
class Overview:
    period: Period
    previous: Period
    current: Totals
    before: Totals
    days: list[DayRow] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)


def _sum_figures(business: Business, periods: dict[str, Period], today: date) -> dict[str, dict[str, int]]:
    """{period name: {figure: sum}} in one query over the daily rows and one over the latest ClickCount rows."""
    fresh_from = today - timedelta(days=FRESH_DAYS - 1)
    first = min(p.start for p in periods.values())
    last = max(p.end for p in periods.values())
    sums = {}
    for name, period in periods.items():
        within = Q(day__gte=period.start, day__lte=period.end)
        for figure in FIGURES:
            condition = within & Q(day__lt=fresh_from) if figure == "clicks" else within
            sums[f"{name}__{figure}"] = Sum(figure, filter=condition)
    found = ReferralDailyStats.objects.filter(business=business, day__gte=first, day__lte=last).aggregate(**sums)
    out = {name: {figure: found[f"{name}__{figure}"] or 0 for figure in FIGURES} for name in periods}
    if last >= fresh_from:
        clicks = ClickCount.objects.filter(business=business, day__gte=max(first, fresh_from), day__lte=last).aggregate(
            **{
                name: Sum("clicks", filter=Q(day__gte=period.start, day__lte=period.end))
                for name, period in periods.items()
            }
        )
        for name in periods:
            out[name]["clicks"] += clicks[name] or 0
    return out


def overview(*, business: Business, period: Period, today: date | None = None) -> Overview:
    """The period's figures against the previous period's, its days (for the charts) and its top services."""
    today = today or timezone.localdate(timezone=business.time_zone)
    before = previous_period(period)
    sums = _sum_figures(business, {"current": period, "previous": before}, today)
    rows = ReferralDailyStats.objects.filter(business=business, day__gte=period.start, day__lte=period.end)
    per_day = {
        row["day"]: row
        for row in rows.order_by("day").values("day").annotate(**{figure: Sum(figure) for figure in FIGURES})
    }
    days = [
        DayRow(day, {figure: (per_day.get(day) or {}).get(figure) or 0 for figure in FIGURES}) for day in _days(period)
    ]
    top = list(
        rows.exclude(service_key=0)
        .order_by()
        .values("service_key")
        .annotate(referrals_sum=Sum("referrals"), confirmed_sum=Sum("confirmed"))
        .filter(referrals_sum__gt=0)
        .order_by("-referrals_sum", "service_key")[:TOP_SERVICES]
    )
    names = (
        dict(
            Service.objects.filter(business=business, pk__in=[row["service_key"] for row in top]).values_list(
                "pk", "name"
            )
        )
        if top
        else {}
    )
    services = [
        ServiceRow(
            row["service_key"],
            names.get(row["service_key"], "Deleted service"),
            row["referrals_sum"],
            row["confirmed_sum"] or 0,
        )
        for row in top
    ]
    return Overview(period, before, Totals(sums["current"]), Totals(sums["previous"]), days, services)


def _days(period: Period) -> list[date]:
    count = (period.end - period.start).days + 1
    return [period.start + timedelta(days=n) for n in range(count)]


def _cohort(found: dict, prefix: str) -> Cohort:
    return Cohort(**{name: found[f"{prefix}_{name}"] or 0 for name in Cohort.__dataclass_fields__})


def comparison_compute(*, business: Business, now: datetime | None = None) -> Comparison:
    """Referred clients (someone referred them) against all others, from the figures on the client rows."""
    now = now or timezone.now()
    settled_before = now - timedelta(days=90)
    visited = Client.objects.filter(business=business, is_test=False, completed_visits__gt=0)
    sums = {}
    for prefix, who in (("referred", Q(referred_by__isnull=False)), ("others", Q(referred_by__isnull=True))):
        settled = who & Q(first_visit_at__lte=settled_before)
        sums.update(
            {
                f"{prefix}_clients": Count("id", filter=who),
                f"{prefix}_visits": Sum("completed_visits", filter=who),
                f"{prefix}_spend": Sum("lifetime_spend", filter=who),
                f"{prefix}_settled": Count("id", filter=settled),
                f"{prefix}_retained": Count(
                    "id", filter=settled & Q(last_visit_at__gte=F("first_visit_at") + timedelta(days=90))
                ),
            }
        )
    found = visited.aggregate(**sums)
    return Comparison(_cohort(found, "referred"), _cohort(found, "others"), now)


def _comparison_key(business: Business) -> str:
    return f"referrals:overview:comparison:{business.pk}"


def comparison(*, business: Business) -> Comparison:
    """The cached comparison, computed when missing (the nightly refresh keeps it warm on large businesses)."""
    found = cache.get(_comparison_key(business))
    if found is None:
        found = comparison_compute(business=business)
        cache.set(_comparison_key(business), found, COMPARISON_SECONDS)
    return found


def comparison_refresh(*, business: Business) -> Comparison:
    found = comparison_compute(business=business)
    cache.set(_comparison_key(business), found, COMPARISON_SECONDS)
    return found


def recent_activity(*, business: Business, limit: int = 10) -> list[DomainEvent]:
    """The latest referral, reward and message events, newest first (over the (business, created_at) index)."""
    kinds = Q()
    for prefix in ACTIVITY_PREFIXES:
        kinds |= Q(kind__startswith=prefix)
    events = list(
        DomainEvent.objects.filter(kinds, business=business).select_related("actor").order_by("-created_at")[:limit]
    )
    for event in events:
        event.label = ACTIVITY_LABELS.get(event.kind) or event.kind.replace(".", " ").replace("_", " ").capitalize()
    return events


@dataclass(frozen=True)
class ProgramState:
    exists: bool
    enabled: bool
    has_rules: bool


def program_state(*, business: Business) -> ProgramState:
    program = ReferralProgram.objects.filter(business=business).first()
    if program is None:
        return ProgramState(False, False, False)
    return ProgramState(True, program.enabled, program.rules.filter(business=business).exists())


def top_referrers(*, business: Business, limit: int = 5) -> list[ReferrerTally]:
    """The overview's short leaderboard: all-time successful referrals, read from ReferrerTally in index order
    (one query). The full leaderboard (referrals.selectors.leaderboard) adds each referrer's revenue for a period,
    which on a large business is a join over their referees' bookings: it stays one click away."""
    return list(
        ReferrerTally.objects.filter(business=business, successful_referrals__gt=0, client__is_test=False)
        .select_related("client")
        .order_by("-successful_referrals", "client_id")[:limit]
    )
