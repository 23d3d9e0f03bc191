"""The leaderboard at scale: revenue summed per referee without double counting, a query count that does not grow
with the rows, and (on PostgreSQL) both reads served by the partial indexes of migration 0008."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import BookingStatus
from referrals.models import ReferralStatus, ReferrerTally
from referrals.selectors import Period, leaderboard, period_for

from .test_board import make_referral, new_client
from .test_leaderboard import LONDON, MARCH, figures, london, visit

pytestmark = pytest.mark.django_db


def test_revenue_goes_to_the_confirmed_referrer_only(in_scope):
    anna, ben = new_client(in_scope, "Anna"), new_client(in_scope, "Ben")
    friend = new_client(in_scope, "Friend")
    # Ben referred the friend first (cancelled), then Anna's referral succeeded: the visits are Anna's alone.
    make_referral(in_scope, ben, friend, status=ReferralStatus.CANCELLED, created_at=london(2025, 3, 2), booked=False)
    make_referral(in_scope, anna, friend, status=ReferralStatus.CONFIRMED, created_at=london(2025, 3, 3), booked=False)
    make_referral(in_scope, ben, status=ReferralStatus.CONFIRMED, created_at=london(2025, 3, 4), booked=False)
    visit(in_scope, friend, london(2025, 3, 5, 10), BookingStatus.COMPLETED, 30_00)
    visit(in_scope, friend, london(2025, 3, 6, 10), BookingStatus.CONFIRMED, 20_00)
    with timezone.override(LONDON):
        board = leaderboard(business=in_scope, period=MARCH)
    assert figures(board) == [(1, "Ben", 1, 0, 0), (2, "Anna", 1, 50_00, 0)]


def _referrers_with_friends(business, referrers: int, friends: int) -> None:
    for _ in range(referrers):
        referrer = new_client(business)
        for _ in range(friends):
            referral = make_referral(
                business, referrer, status=ReferralStatus.CONFIRMED, created_at=london(2025, 3, 10), booked=False
            )
            visit(business, referral.referee, london(2025, 3, 11, 10), BookingStatus.COMPLETED, 10_00)
        ReferrerTally.objects.create(business=business, client=referrer, successful_referrals=friends)


@pytest.mark.parametrize("period", [MARCH, period_for("all", date(2025, 6, 1))], ids=["period", "all-time"])
def test_the_query_count_does_not_grow_with_referrers_or_their_friends(in_scope, period):
    counts = []
    for referrers, friends in [(1, 1), (4, 3)]:
        _referrers_with_friends(in_scope, referrers, friends)
        with timezone.override(LONDON), CaptureQueriesContext(connection) as queries:
            board = leaderboard(business=in_scope, period=period)
        counts.append(len(queries))
    assert counts[0] == counts[1] == (2 if period.is_all_time else 4)
    assert board.rows[0].successful_referrals == 3 and board.rows[0].revenue == 3 * 10_00


def _plans(business, period: Period) -> list[str]:
    """The leaderboard's queries as PostgreSQL would run them on a big table (no sequential or bitmap scans)."""
    with timezone.override(LONDON), CaptureQueriesContext(connection) as queries:
        leaderboard(business=business, period=period)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for query in queries.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_the_period_and_the_revenue_are_read_from_the_partial_indexes(in_scope):
    if connection.vendor != "postgresql":
        pytest.skip("Query plans are PostgreSQL's; CI runs this on PostgreSQL.")
    _referrers_with_friends(in_scope, 2, 2)
    ranking, _names, revenue, _rewards = _plans(in_scope, MARCH)
    assert "Index Only Scan using referral_confirmed_created" in ranking or (
        "Index Only Scan using referral_confirmed_referrer" in ranking
    )
    assert "Index Only Scan using referral_confirmed_referrer" in revenue
    assert "clients_client" not in revenue
