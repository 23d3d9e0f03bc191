"""The leaderboard of top referrers and its spotlight export, against hand-built figures."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingStatus
from bookings.services import booking_create
from clients.models import Client
from referrals.models import ReferralStatus, ReferrerTally
from referrals.selectors import LEADERBOARD_SIZE, Period, leaderboard, period_for
from rewards.models import Reward, RewardStatus

from .conftest import make_service, soon
from .test_board import make_referral, new_client

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MARCH = Period("custom", "March 2025", date(2025, 3, 1), date(2025, 3, 31))
_prices = itertools.count(1)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def visit(business, client, when: datetime, status: str, total: int) -> Booking:
    """A booking of `client` starting `when`, in `status`, worth `total`."""
    service = make_service(business, f"Visit {next(_prices)}", price=total)
    booking = booking_create(business=business, client=client, service=service, starts_at=soon())
    Booking.objects.filter(pk=booking.pk).update(status=status, starts_at=when, ends_at=when + timedelta(hours=1))
    return booking


def reward(business, referral, when: datetime, status=RewardStatus.ISSUED, **fields) -> Reward:
    return Reward.objects.create(
        business=business,
        client=referral.referrer,
        referral=referral,
        kind="coupon",
        description="£20.00 off",
        status=status,
        created_at=when,
        **fields,
    )


def figures(board) -> list[tuple]:
    return [
        (row.rank, row.client.first_name, row.successful_referrals, row.revenue, row.rewards_earned)
        for row in board.rows
    ]


@pytest.fixture
def march(in_scope):
    """Anna and Ben's referrals around March 2025 (Europe/London: British Summer Time starts on 30 March)."""
    anna, ben, cleo = new_client(in_scope, "Anna"), new_client(in_scope, "Ben"), new_client(in_scope, "Cleo")
    confirmed = ReferralStatus.CONFIRMED
    # Anna: the first instant of March and the last one count; the instants either side do not.
    first = make_referral(in_scope, anna, status=confirmed, created_at=london(2025, 3, 1, 0, 0), booked=False)
    last = make_referral(
        in_scope, anna, status=confirmed, created_at=london(2025, 3, 31, 23, 59, 59, 999999), booked=False
    )
    february = make_referral(
        in_scope, anna, status=confirmed, created_at=london(2025, 2, 28, 23, 59, 59, 999999), booked=False
    )
    # 23:30 UTC on 31 March is already 1 April in London.
    make_referral(
        in_scope, anna, status=confirmed, created_at=datetime(2025, 3, 31, 23, 30, tzinfo=ZoneInfo("UTC")), booked=False
    )
    waiting = make_referral(in_scope, anna, status=ReferralStatus.PENDING, created_at=london(2025, 3, 10), booked=False)
    # Ben: one success in March; Cleo: only a test drive, left out.
    ben_referral = make_referral(in_scope, ben, status=confirmed, created_at=london(2025, 3, 15), booked=False)
    test_referral = make_referral(
        in_scope, cleo, status=confirmed, created_at=london(2025, 3, 15), booked=False, is_test=True
    )

    # Revenue: confirmed and completed visits in March of clients whose referral succeeded.
    visit(in_scope, first.referee, london(2025, 3, 2, 10), BookingStatus.CONFIRMED, 85_00)
    visit(in_scope, first.referee, london(2025, 3, 20, 10), BookingStatus.COMPLETED, 100_00)
    visit(in_scope, first.referee, london(2025, 3, 21, 10), BookingStatus.CANCELLED, 999_00)
    visit(in_scope, first.referee, london(2025, 3, 22, 10), BookingStatus.REQUESTED, 999_00)
    visit(in_scope, first.referee, london(2025, 4, 1, 0, 30), BookingStatus.COMPLETED, 999_00)
    visit(in_scope, february.referee, london(2025, 3, 5, 10), BookingStatus.COMPLETED, 40_00)  # a March visit
    visit(in_scope, waiting.referee, london(2025, 3, 12, 10), BookingStatus.COMPLETED, 999_00)  # not a success
    visit(in_scope, ben_referral.referee, london(2025, 3, 16, 10), BookingStatus.CONFIRMED, 60_00)
    visit(in_scope, test_referral.referee, london(2025, 3, 16, 10), BookingStatus.CONFIRMED, 999_00)

    # Rewards issued in March, not revoked.
    reward(in_scope, first, london(2025, 3, 2))
    reward(in_scope, last, london(2025, 3, 31, 23, 0))
    reward(in_scope, february, london(2025, 3, 1, 9), status=RewardStatus.REVOKED)
    reward(in_scope, ben_referral, london(2025, 4, 1, 0, 5))  # April
    reward(in_scope, test_referral, london(2025, 3, 16), is_test=True)

    Client.objects.filter(pk=cleo.pk).update(is_test=True)
    ReferrerTally.objects.create(business=in_scope, client=anna, successful_referrals=4, rewards_earned=2)
    ReferrerTally.objects.create(business=in_scope, client=ben, successful_referrals=1, rewards_earned=1)
    ReferrerTally.objects.create(business=in_scope, client=cleo, successful_referrals=9, rewards_earned=9)
    ReferrerTally.objects.create(business=in_scope, client=new_client(in_scope, "Dora"), successful_referrals=0)
    return {"anna": anna, "ben": ben}


def test_a_period_counts_successes_revenue_and_rewards_within_its_days(in_scope, march, django_assert_num_queries):
    with timezone.override(LONDON), django_assert_num_queries(4):
        board = leaderboard(business=in_scope, period=MARCH)
    assert figures(board) == [(1, "Anna", 2, 85_00 + 100_00 + 40_00, 2), (2, "Ben", 1, 60_00, 0)]
    assert board.rows[0].last_referral_at == london(2025, 3, 31, 23, 59, 59, 999999)


def test_the_day_after_the_period_starts_a_new_count(in_scope, march):
    with timezone.override(LONDON):
        april = leaderboard(business=in_scope, period=Period("custom", "April", date(2025, 4, 1), date(2025, 4, 30)))
    # Anna's 1 April referral (23:30 UTC on 31 March) and visit; Ben's April reward but no April success.
    assert figures(april) == [(1, "Anna", 1, 999_00, 0)]


def test_all_time_reads_the_tallies_in_order_without_test_referrers(in_scope, march, django_assert_num_queries):
    with timezone.override(LONDON), django_assert_num_queries(2):
        board = leaderboard(business=in_scope, period=period_for("all", date(2025, 6, 1)))
    revenue_anna = 85_00 + 100_00 + 999_00 + 40_00
    assert figures(board) == [(1, "Anna", 4, revenue_anna, 2), (2, "Ben", 1, 60_00, 1)]


def test_the_leaderboard_shows_at_most_25_referrers_in_a_fixed_number_of_queries(in_scope, django_assert_num_queries):
    now = timezone.now()
    for n in range(LEADERBOARD_SIZE + 2):
        referrer = new_client(in_scope)
        for _ in range(1 + n % 3):
            make_referral(in_scope, referrer, status=ReferralStatus.CONFIRMED, created_at=now, booked=False)
    with django_assert_num_queries(4):
        board = leaderboard(business=in_scope, period=period_for("30d", timezone.localdate()))
    assert len(board.rows) == LEADERBOARD_SIZE
    counts = [row.successful_referrals for row in board.rows]
    assert counts == sorted(counts, reverse=True) and counts[0] == 3


@pytest.mark.parametrize(
    ("key", "today", "start", "end"),
    [
        ("month", date(2024, 2, 10), date(2024, 2, 1), date(2024, 2, 29)),
        ("month", date(2025, 12, 31), date(2025, 12, 1), date(2025, 12, 31)),
        ("30d", date(2025, 3, 30), date(2025, 3, 1), date(2025, 3, 30)),
        ("90d", date(2025, 3, 31), date(2025, 1, 1), date(2025, 3, 31)),
        ("year", date(2025, 7, 4), date(2025, 1, 1), date(2025, 12, 31)),
        ("all", date(2025, 7, 4), None, None),
    ],
)
def test_periods(key, today, start, end):
    period = period_for(key, today)
    assert (period.start, period.end) == (start, end)


# ---------------------------------------------------------------------------------------------------- views


def leaderboard_url(business, name="referrals:leaderboard", **query):
    from urllib.parse import urlencode

    url = reverse(name, kwargs={"business_slug": business.slug})
    return f"{url}?{urlencode(query)}" if query else url


def test_the_page_shows_the_chosen_period(owner_client, in_scope, march):
    response = owner_client.get(
        leaderboard_url(in_scope, period="custom", date_from="2025-03-01", date_to="2025-03-31")
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Anna" in content and "£225.00" in content and "£60.00" in content
    assert "spotlight.csv?period=custom" in content


def test_staff_see_the_leaderboard_with_the_last_30_days_by_default(staff_client, in_scope):
    referrer = new_client(in_scope, "Recent")
    make_referral(in_scope, referrer, status=ReferralStatus.CONFIRMED, booked=False)
    response = staff_client.get(leaderboard_url(in_scope))
    assert response.status_code == 200
    assert response.context["board"].period.key == "30d"
    assert "Recent" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"period": "custom", "date_from": "2025-03-31", "date_to": "2025-03-01"},
            "The last day is before the first day.",
        ),
        ({"period": "custom", "date_to": "2025-03-01"}, "Choose the first day of the period."),
        ({"period": "custom", "date_from": "0001-01-01", "date_to": "2025-03-01"}, "Choose a date between"),
        ({"period": "custom", "date_from": "March", "date_to": "2025-03-01"}, "Enter a valid date."),
        ({"period": "fortnight"}, "Select a valid choice."),
    ],
)
def test_a_bad_period_is_explained(owner_client, in_scope, query, message):
    response = owner_client.get(leaderboard_url(in_scope, **query))
    assert response.status_code == 400
    assert message in response.content.decode()
    export = owner_client.get(leaderboard_url(in_scope, "referrals:leaderboard_csv", **query))
    assert export.status_code == 400
    assert message in export.content.decode()


def test_the_spotlight_export_has_the_same_rows(owner_client, in_scope, march):
    response = owner_client.get(
        leaderboard_url(
            in_scope, "referrals:leaderboard_csv", period="custom", date_from="2025-03-01", date_to="2025-03-31"
        )
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="spotlight-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["Rank", "Client", "Email", "Phone", "Successful referrals"]
    anna, ben = march["anna"], march["ben"]
    assert rows[1] == ["1", anna.full_name, anna.email, "", "2", "225.00", "GBP", "2", "2025-03-31"]
    assert rows[2] == ["2", ben.full_name, ben.email, "", "1", "60.00", "GBP", "0", "2025-03-15"]
    assert len(rows) == 3


def test_the_export_neutralises_spreadsheet_formulas(owner_client, in_scope):
    # Names are stripped of surrounding whitespace when shown, so a tab or a carriage return rides in the e-mail.
    payloads = [
        ('=HYPERLINK("https://evil.example")', "a@example.org"),
        ("+1+1", "b@example.org"),
        ("-2", "\tc@example.org"),
        ("@SUM(A1)", "\rd@example.org"),
    ]
    for index, (name, email) in enumerate(payloads):
        referrer = new_client(in_scope)
        phone = "+442079460001" if index == 0 else ""
        Client.objects.filter(pk=referrer.pk).update(first_name=name, last_name="", email=email, phone=phone)
        for _ in range(len(payloads) - index):  # a fixed order: the first has the most referrals
            make_referral(in_scope, referrer, status=ReferralStatus.CONFIRMED, booked=False)
    response = owner_client.get(leaderboard_url(in_scope, "referrals:leaderboard_csv", period="30d"))
    rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    assert [row[1] for row in rows[1:]] == [f"'{name}" for name, _ in payloads]
    assert [row[2] for row in rows[1:]] == ["a@example.org", "b@example.org", "'\tc@example.org", "'\rd@example.org"]
    assert rows[1][3] == "'+442079460001"
    assert [row[4] for row in rows[1:]] == ["4", "3", "2", "1"]
