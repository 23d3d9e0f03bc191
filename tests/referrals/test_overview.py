"""The overview page: figures against hand-computed data, periods, ROI, exports, empty state, personas, queries."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_confirm
from clients.models import Client
from referrals import analytics
from referrals.codes import code_for_client
from referrals.daily_stats import daily_stats_rebuild
from referrals.models import ClickCount, ReferralDailyStats
from referrals.selectors import Period

from .conftest import make_client, make_program, make_service
from .test_daily_stats import book, link

pytestmark = pytest.mark.django_db


def page(http, business, **params):
    return http.get(reverse("overview", args=[business.slug]), params)


@pytest.fixture
def story(business, owner):
    """Anna refers Bob (confirmed, 15% off a 100.00 massage two days ago); Carl comes on his own yesterday; a test
    friend is left out;
    Anna's link was clicked 10 times today and 5 times 20 days ago."""
    with scope(business=business):
        massage = make_service(business, price=100_00)
        make_program(business, [massage])
        anna = make_client(business, "Anna", "Berg", email="anna@example.com")
        bob = make_client(business, "Bob", "Stone", email="bob@example.com")
        booking_confirm(business=business, booking=book(business, bob, massage, link(anna), days=-2), actor=owner)
        carl = make_client(business, "=Carl", "Dunn", email="carl@example.com")
        booking_confirm(business=business, booking=book(business, carl, massage, days=-1), actor=owner)
        tester = make_client(business, "Test", "Friend", email="test@example.com")
        Client.objects.filter(pk=tester.pk).update(is_test=True)
        tester.refresh_from_db()
        booking_confirm(business=business, booking=book(business, tester, massage, link(anna), is_test=True))
        code = code_for_client(business=business, client=anna)
        today = timezone.localdate()
        ClickCount.objects.create(business=business, code=code, day=today, clicks=10)
        ClickCount.objects.create(business=business, code=code, day=today - timedelta(days=20), clicks=5)
        daily_stats_rebuild(business=business, start=today - timedelta(days=30), end=today - timedelta(days=3))
    return {"massage": massage, "anna": anna, "today": today}


def test_every_figure_of_the_period_against_hand_computed_data(business, story):
    with scope(business=business):
        period = analytics.overview_period("30d", story["today"])
        data = analytics.overview(business=business, period=period, today=story["today"])
    cur = data.current
    assert cur.clicks == 15
    assert cur.referrals == 1
    assert cur.confirmed == 1
    assert (cur.new_referred_clients, cur.new_clients) == (1, 2)  # Bob of Bob and Carl; the test friend left out
    assert cur.referred_revenue == 85_00
    assert cur.rewards_cost == 15_00
    assert cur.roi == pytest.approx((85_00 - 15_00) / 15_00)
    assert cur.click_to_booking == pytest.approx(1 / 15)
    assert cur.booking_to_confirmed == 1
    assert [(row.name, row.referrals, row.confirmed) for row in data.services] == [("Deep tissue massage", 1, 1)]
    assert data.before.referrals == 0
    assert sum(row.values["referrals"] for row in data.days) == 1


def test_the_owner_sees_every_figure_explained_and_linked(owner_client, business, story):
    response = page(owner_client, business)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Link clicks", "Referred bookings", "Conversion", "New clients from referrals", "Rewards cost"):
        assert text in html
    assert "1 of 2 (50%)" in html
    assert "£85.00" in html and "£15.00" in html and "4.7×" in html
    assert 'title="(Revenue from referred clients − rewards cost) ÷ rewards cost.' in html
    assert reverse("referrals:index", args=[business.slug]) + "?date_from=" in html
    assert "source=client_referral" in html
    assert html.count("<svg") == 4 and "<desc>" in html and "Show the numbers as a table" in html
    assert "Referred clients against all others" in html
    assert "Anna Berg" in html  # the leaderboard


def test_staff_see_the_overview_without_money(staff_client, business, story):
    response = page(staff_client, business)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Referred bookings" in html
    assert "£85.00" not in html and "Rewards cost" not in html and "Spend per visit" not in html
    assert html.count("<svg") == 3
    export = reverse("overview_export", args=[business.slug])
    assert staff_client.get(export, {"figure": "revenue"}).status_code == 403
    referrals = staff_client.get(export, {"figure": "referrals"})
    assert referrals.status_code == 200
    header = b"".join(referrals.streaming_content).decode().splitlines()[0]
    assert header.endswith("Booking status") and "Total" not in header  # totals add up to the hidden revenue


def test_an_outsider_gets_404(outsider_client, business):
    assert page(outsider_client, business).status_code == 404
    assert outsider_client.get(reverse("overview_export", args=[business.slug])).status_code == 404


def test_periods_compare_with_the_previous_period_of_the_same_length():
    today = date(2026, 3, 10)
    month = analytics.overview_period("month", today)
    assert (month.start, month.end) == (date(2026, 3, 1), today)
    before = analytics.previous_period(month)
    assert (before.start, before.end) == (date(2026, 2, 19), date(2026, 2, 28))
    year = analytics.overview_period("year", today)
    assert (year.start, analytics.previous_period(year).start) == (date(2026, 1, 1), date(2025, 10, 24))
    last30 = analytics.overview_period("30d", today)
    assert (last30.start, analytics.previous_period(last30).end) == (date(2026, 2, 9), date(2026, 2, 8))
    with pytest.raises(ValueError):
        analytics.overview_period("custom", today)


def test_a_period_across_a_month_boundary_sums_the_right_days(in_scope):
    business = in_scope
    for day, referrals in [(date(2026, 1, 12), 100), (date(2026, 1, 13), 1), (date(2026, 1, 24), 2)]:
        ReferralDailyStats.objects.create(business=business, day=day, service_key=0, referrals=referrals)
    inside = [(date(2026, 1, 25), 4), (date(2026, 1, 31), 8), (date(2026, 2, 5), 16), (date(2026, 2, 6), 99)]
    for day, referrals in inside:
        ReferralDailyStats.objects.create(business=business, day=day, service_key=0, referrals=referrals)
    period = Period("custom", "", date(2026, 1, 25), date(2026, 2, 5))
    data = analytics.overview(business=business, period=period, today=date(2026, 11, 1))
    assert data.current.referrals == 4 + 8 + 16
    assert (data.previous.start, data.previous.end) == (date(2026, 1, 13), date(2026, 1, 24))
    assert data.before.referrals == 1 + 2
    assert len(data.days) == 12


def test_todays_clicks_follow_the_businesses_time_zone(business, owner_client):
    """Kiritimati (UTC+14) is a day ahead of UTC most of the day: "today" and the fresh clicks are its own."""
    business.time_zone = "Pacific/Kiritimati"  # UTC+14: its day is almost never the UTC day's
    business.save()
    with scope(business=business):
        anna = make_client(business, "Anna", email="anna@example.com")
        code = code_for_client(business=business, client=anna)
        local_today = timezone.localdate(timezone=ZoneInfo("Pacific/Kiritimati"))
        ClickCount.objects.create(business=business, code=code, day=local_today, clicks=3)
        ClickCount.objects.create(business=business, code=code, day=local_today + timedelta(days=1), clicks=50)
    response = page(owner_client, business, period="custom", date_from=local_today, date_to=local_today)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="figure-value" title="Clicks on' in html
    with scope(business=business):
        period = analytics.overview_period("custom", local_today, local_today, local_today)
        assert analytics.overview(business=business, period=period, today=local_today).current.clicks == 3


@pytest.mark.parametrize(
    ("revenue", "cost", "shown"),
    [(0, 0, None), (100_00, 0, None), (50_00, 100_00, -0.5), (300_00, 100_00, 2.0)],
)
def test_roi_is_undefined_without_a_cost_and_never_divides_by_zero(revenue, cost, shown):
    values = dict.fromkeys(analytics.FIGURES, 0) | {"referred_revenue": revenue, "cost_coupon": cost}
    assert analytics.Totals(values).roi == shown


def test_roi_without_cost_shows_a_dash_and_says_why(owner_client, business):
    with scope(business=business):
        make_program(business, [make_service(business)])
    html = page(owner_client, business).content.decode()
    assert "no reward was spent in the period: there is nothing to divide by" in html
    assert '<p class="figure-value" title="(Revenue from referred clients − rewards cost) ÷ rewards cost.' in html


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_of_each_figure(owner_client, business, story):
    export = reverse("overview_export", args=[business.slug])
    clicks = _csv(owner_client.get(export, {"figure": "clicks", "period": "30d"}))
    assert clicks[0] == ["Day", "Code", "Client", "Clicks"] and sorted(int(r[3]) for r in clicks[1:]) == [5, 10]
    referrals = _csv(owner_client.get(export, {"figure": "referrals"}))
    assert [row[1:3] for row in referrals[1:]] == [["Anna Berg", "Bob Stone"]]
    new = _csv(owner_client.get(export, {"figure": "new_clients"}))
    assert sorted((row[1], row[4]) for row in new[1:]) == [("'=Carl Dunn", "no"), ("Bob Stone", "yes")]
    revenue = _csv(owner_client.get(export, {"figure": "revenue"}))
    assert [(row[1], row[4]) for row in revenue[1:]] == [("Bob Stone", "8500")]
    cost = _csv(owner_client.get(export, {"figure": "rewards_cost"}))
    assert [(row[2], row[5]) for row in cost[1:]] == [("Referral discount", "1500")]
    daily = _csv(owner_client.get(export, {"figure": "daily"}))
    assert daily[0][:3] == ["Day", "Service id", "clicks"]
    assert owner_client.get(export, {"figure": "nope"}).status_code == 400
    assert owner_client.get(export, {"figure": "clicks", "period": "custom"}).status_code == 400


def test_a_business_without_a_program_is_walked_through_enabling_one(owner_client, business, staff):
    html = page(owner_client, business).content.decode()
    assert "Start your referral program" in html
    assert reverse("referrals:program", args=[business.slug]) in html
    owner_client.force_login(staff)
    assert "The owner sets the referral program up" in page(owner_client, business).content.decode()


def test_a_bad_period_is_refused_clearly(owner_client, business):
    response = page(owner_client, business, period="custom", date_from="2026-02-10", date_to="2026-02-01")
    assert response.status_code == 400
    assert "The last day is before the first day." in response.content.decode()
    assert page(owner_client, business, period="custom", date_from="x").status_code == 400


def _queries(http, business) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert page(http, business, period="year").status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_the_data(owner_client, business, owner, django_assert_num_queries):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, "Anna", email="anna@example.com")
        first = make_client(business, "First", email="first@example.com")
        booking_confirm(business=business, booking=book(business, first, massage, link(anna)))
    page(owner_client, business)  # warm caches (comparison, program)
    small = _queries(owner_client, business)
    with scope(business=business):
        for n in range(6):
            friend = make_client(business, f"Friend{n}", email=f"friend{n}@example.com")
            booking_confirm(business=business, booking=book(business, friend, massage, link(anna), days=n + 1))
            referrer = make_client(business, f"Referrer{n}", email=f"referrer{n}@example.com")
            other = make_client(business, f"F{n}")
            booking_confirm(business=business, booking=book(business, other, massage, link(referrer)))
    with django_assert_num_queries(small):
        assert page(owner_client, business, period="year").status_code == 200


def test_recent_activity_reads_in_words(owner_client, business, story):
    page = owner_client.get(reverse("overview", args=[business.slug])).content.decode()
    activity = page[page.index('id="activity-title"') :]
    assert "Referral confirmed" in activity and "Reward issued to the referrer" in activity
    assert "referral.confirmed" not in activity


def test_a_payment_to_refund_is_in_the_recent_activity(business, owner):
    from businesses.events import event_record

    with scope(business=business), transaction.atomic():
        event_record(business=business, kind="payment.refund_needed", subject=business, amount=85_00)
        [event] = analytics.recent_activity(business=business)
    assert event.label == "Paid twice online: refund the extra payment in Stripe"
