"""Reads for the Rewards section: issued coupons by state, filtered, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from bookings.selectors import day_end, day_start
from businesses.models import Business
from clients.selectors import CappedCount, capped_count, client_matches

from .models import Coupon, CouponStatus, PointsProgram, Reward, RewardKind, RewardStatus, WalletBalance

STATES = {
    "": "All",
    "active": "Active",
    "used": "Used",
    "expired": "Expired",
    "revoked": "Revoked",
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class RewardFilters:
    state: str = ""
    q: str = ""
    issued_from: date | None = None
    issued_to: date | None = None


def _state_q(state: str, now) -> Q:
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return {
        "active": Q(status=CouponStatus.ACTIVE) & unexpired,
        "used": Q(status=CouponStatus.REDEEMED),
        "expired": Q(status=CouponStatus.ACTIVE, expires_at__lte=now),
        "revoked": Q(status=CouponStatus.REVOKED),
    }.get(state, Q())


def coupons(*, business: Business, filters: RewardFilters) -> QuerySet[Coupon]:
    """Coupons of real clients (test drives left out), newest first, with the client and booking joined in."""
    qs = Coupon.objects.filter(business=business, is_test=False)
    if filters.q.strip():
        qs = qs.filter(client__in=client_matches(business=business, q=filters.q).order_by().values("pk")[:1000])
    if filters.issued_from:
        qs = qs.filter(created_at__gte=day_start(filters.issued_from))
    if filters.issued_to:
        qs = qs.filter(created_at__lt=day_end(filters.issued_to))
    return qs.select_related("client", "redeemed_booking__service").order_by("-created_at", "-id")


@dataclass
class Liability:
    """What the business still owes its clients, in money: unspent store credit and points."""

    store_credit: int
    points: int
    points_value: int

    @property
    def total(self) -> int:
        return self.store_credit + self.points_value


def liability(*, business: Business) -> Liability:
    """One aggregate over the cached wallet balances (one row per client with a wallet)."""
    sums = WalletBalance.objects.filter(business=business, client__is_test=False).aggregate(
        credit=Sum("store_credit"), points=Sum("points")
    )
    program = PointsProgram.objects.filter(business=business).first()
    points = sums["points"] or 0
    return Liability(sums["credit"] or 0, points, points * (program.point_value if program else 0))


def rewards_by_kind(*, business: Business) -> list[tuple[str, int, int]]:
    """(kind label, issued, revoked) for every kind of referrer reward, test drives left out."""
    rows = (
        Reward.objects.filter(business=business, is_test=False)
        .values("kind")
        .annotate(
            issued=Count("pk", filter=Q(status=RewardStatus.ISSUED)),
            revoked=Count("pk", filter=Q(status=RewardStatus.REVOKED)),
        )
        .order_by("kind")
    )
    labels = dict(RewardKind.choices)
    return [(labels.get(row["kind"], row["kind"]), row["issued"], row["revoked"]) for row in rows]


@dataclass
class RewardsOverview:
    counts: dict[str, CappedCount]
    rows: list[Coupon]
    more: bool
    outstanding_count: CappedCount
    outstanding_fixed: int
    liability: Liability
    by_kind: list[tuple[str, int, int]]


def rewards_overview(*, business: Business, filters: RewardFilters) -> RewardsOverview:
    now = timezone.now()
    base = coupons(business=business, filters=filters)
    counts = {key: capped_count(base.filter(_state_q(key, now))) for key in STATES if key}
    rows = list(base.filter(_state_q(filters.state, now))[: PAGE_SIZE + 1])
    active = Coupon.objects.filter(business=business, is_test=False).filter(_state_q("active", now))
    return RewardsOverview(
        counts=counts,
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        outstanding_count=capped_count(active),
        # Percent coupons have no money value until they are used on a booking: only amount-off ones add up.
        outstanding_fixed=active.aggregate(total=Sum("amount"))["total"] or 0,
        liability=liability(business=business),
        by_kind=rewards_by_kind(business=business),
    )
