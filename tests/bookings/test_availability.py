"""Free start times for online booking: opening hours, breaks, bookings, lead time, horizon, DST, query count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bookings.availability import (
    HORIZON_DAYS,
    LEAD_TIME,
    booking_window,
    free_slots,
    free_starts,
    is_free,
    opening_spans,
)
from bookings.models import BookingStatus
from bookings.services import booking_cancel
from businesses.hours import Interval, opening_hours_set
from businesses.models import Service

from .conftest import make_booking, make_client, make_service

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# A Tuesday, far enough ahead that "now" in these tests is always a week before it.
DAY = date(2031, 5, 6)
NOW = datetime(2031, 4, 29, 8, 0, tzinfo=UTC)


def at(day: date, hour: int, minute: int = 0, zone=LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def clock(starts: list[datetime], zone=LONDON) -> list[str]:
    return [start.astimezone(zone).strftime("%H:%M") for start in starts]


def every_day(*stretches: tuple[int, int, int, int]) -> dict:
    intervals = tuple(Interval(time(h1, m1), time(h2, m2)) for h1, m1, h2, m2 in stretches)
    return {day: intervals for day in range(7)}


# --- Pure: spans and starts -----------------------------------------------------------------------------------


def test_starts_every_quarter_hour_while_the_whole_service_fits():
    spans = opening_spans(DAY, [Interval(time(9), time(11))], LONDON)
    starts = free_starts(spans, [], timedelta(minutes=60), earliest=at(DAY, 0))
    assert clock(starts) == ["09:00", "09:15", "09:30", "09:45", "10:00"]


def test_a_break_splits_the_day_and_a_service_never_runs_into_it():
    stretches = [Interval(time(9), time(10, 30)), Interval(time(13), time(14))]
    starts = free_starts(opening_spans(DAY, stretches, LONDON), [], timedelta(minutes=60), earliest=at(DAY, 0))
    assert clock(starts) == ["09:00", "09:15", "09:30", "13:00"]


def test_a_booking_blocks_every_start_that_would_overlap_it():
    spans = opening_spans(DAY, [Interval(time(9), time(13))], LONDON)
    busy = [(at(DAY, 10, 30), at(DAY, 11, 30))]
    starts = free_starts(spans, busy, timedelta(minutes=60), earliest=at(DAY, 0))
    # 9:30 ends exactly when the booking starts and 11:30 starts when it ends: both are free.
    assert clock(starts) == ["09:00", "09:15", "09:30", "11:30", "11:45", "12:00"]


def test_nothing_before_the_earliest_start():
    spans = opening_spans(DAY, [Interval(time(9), time(11))], LONDON)
    starts = free_starts(spans, [], timedelta(minutes=60), earliest=at(DAY, 9, 20))
    assert clock(starts) == ["09:30", "09:45", "10:00"]


def test_a_short_service_steps_by_its_own_length():
    spans = opening_spans(DAY, [Interval(time(9), time(9, 40))], LONDON)
    starts = free_starts(spans, [], timedelta(minutes=10), earliest=at(DAY, 0))
    assert clock(starts) == ["09:00", "09:10", "09:20", "09:30"]


def test_a_service_longer_than_the_stretch_or_of_no_length_has_no_start():
    spans = opening_spans(DAY, [Interval(time(9), time(10))], LONDON)
    assert free_starts(spans, [], timedelta(minutes=90), earliest=at(DAY, 0)) == []
    assert free_starts(spans, [], timedelta(0), earliest=at(DAY, 0)) == []


def test_the_spring_dst_change_makes_a_stretch_across_it_an_hour_shorter():
    # 30 March 2031: London's clocks go from 01:00 to 02:00.
    spring = date(2031, 3, 30)
    spans = opening_spans(spring, [Interval(time(0), time(4))], LONDON)
    assert [(end - start) for start, end in spans] == [timedelta(hours=3)]
    starts = free_starts(spans, [], timedelta(minutes=60), earliest=at(spring, 0))
    assert clock(starts)[:5] == ["00:00", "00:15", "00:30", "00:45", "02:00"]
    assert clock(starts)[-1] == "03:00"
    # Each start is 15 real minutes after the one before, and a service takes 60 real minutes.
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(starts))


def test_the_autumn_dst_change_makes_a_stretch_across_it_an_hour_longer():
    # 26 October 2031: London's clocks go from 02:00 back to 01:00; 01:00–02:00 happens twice.
    autumn = date(2031, 10, 26)
    spans = opening_spans(autumn, [Interval(time(0), time(3))], LONDON)
    assert [(end - start) for start, end in spans] == [timedelta(hours=4)]
    starts = free_starts(spans, [], timedelta(minutes=60), earliest=at(autumn, 0))
    assert len(starts) == 13  # 0:00 to 3:00 real hours minus the service: 4 hours of quarter hours, less 3
    assert clock(starts).count("01:00") == 2


def test_opening_hours_follow_the_local_clock_on_both_sides_of_a_dst_change():
    # New York changes on 9 March 2031; 9:00 is 14:00 UTC the week before and 13:00 UTC after.
    before, after = date(2031, 3, 8), date(2031, 3, 10)
    [(opens_before, _)] = opening_spans(before, [Interval(time(9), time(12))], NEW_YORK)
    [(opens_after, _)] = opening_spans(after, [Interval(time(9), time(12))], NEW_YORK)
    assert (opens_before.hour, opens_after.hour) == (14, 13)


def test_the_booking_window_starts_after_the_lead_time_and_ends_after_the_horizon():
    window = booking_window(zone=LONDON, now=NOW)
    assert window.earliest == NOW + LEAD_TIME
    assert window.first_day == date(2031, 4, 29)
    assert window.last_day == date(2031, 4, 29) + timedelta(days=HORIZON_DAYS)
    assert window.contains(window.last_day) and not window.contains(window.last_day + timedelta(days=1))
    assert not window.contains(date(2031, 4, 28))


# --- With the database ----------------------------------------------------------------------------------------


@pytest.fixture
def open_nine_to_five(in_scope):
    opening_hours_set(business=in_scope, week=every_day((9, 0, 12, 0), (13, 0, 17, 0)))
    return in_scope


@pytest.fixture
def massage(in_scope):
    return make_service(in_scope)


def test_free_slots_leave_out_standing_bookings_but_not_cancelled_or_test_ones(open_nine_to_five, massage):
    business = open_nine_to_five
    ada = make_client(business, email="ada@example.com")
    make_booking(business, client=ada, service=massage, starts_at=at(DAY, 9), status=BookingStatus.CONFIRMED)
    make_booking(business, client=ada, service=massage, starts_at=at(DAY, 13))  # requested
    cancelled = make_booking(business, client=ada, service=massage, starts_at=at(DAY, 15))
    booking_cancel(business=business, booking=cancelled)
    test_drive = make_booking(business, client=ada, service=massage, starts_at=at(DAY, 16))
    type(test_drive).objects.filter(pk=test_drive.pk).update(is_test=True)

    starts = clock(free_slots(business=business, service=massage, start=DAY, now=NOW)[DAY])
    assert starts == ["10:00", "10:15", "10:30", "10:45", "11:00", "14:00", "14:15", "14:30", "14:45", "15:00",
                      "15:15", "15:30", "15:45", "16:00"]  # fmt: skip


def test_a_closed_day_past_days_and_days_beyond_the_horizon_have_no_slots(in_scope, massage):
    opening_hours_set(business=in_scope, week={1: (Interval(time(9), time(12)),)})  # Tuesdays only
    monday = DAY - timedelta(days=1)
    slots = free_slots(business=in_scope, service=massage, start=monday, days=2, now=NOW)
    assert slots[monday] == [] and len(slots[DAY]) == 9
    past = free_slots(business=in_scope, service=massage, start=date(2031, 4, 22), now=NOW)
    assert past == {date(2031, 4, 22): []}
    beyond = date(2031, 4, 29) + timedelta(days=HORIZON_DAYS + 7)  # a Tuesday past the horizon
    assert free_slots(business=in_scope, service=massage, start=beyond, now=NOW)[beyond] == []


def test_today_starts_an_hour_from_now(open_nine_to_five, massage):
    now = at(DAY, 10, 5).astimezone(UTC)
    starts = clock(free_slots(business=open_nine_to_five, service=massage, start=DAY, now=now)[DAY])
    # 11:15 would be the first quarter hour after 11:05, but an hour from then runs into the lunch break.
    assert starts[:2] == ["13:00", "13:15"]
    facial = Service.objects.create(business=open_nine_to_five, name="Facial", price=40_00, duration_minutes=30)
    starts = clock(free_slots(business=open_nine_to_five, service=facial, start=DAY, now=now)[DAY])
    assert starts[:2] == ["11:15", "11:30"]


def test_a_business_without_opening_hours_has_no_slots(in_scope, massage):
    assert free_slots(business=in_scope, service=massage, start=DAY, days=7, now=NOW) == {
        DAY + timedelta(days=offset): [] for offset in range(7)
    }


def test_a_week_of_slots_takes_one_query_for_the_hours_and_one_for_the_bookings(
    open_nine_to_five, massage, django_assert_num_queries
):
    ada = make_client(open_nine_to_five, email="ada@example.com")
    for offset in range(7):
        make_booking(open_nine_to_five, client=ada, service=massage, starts_at=at(DAY + timedelta(days=offset), 9))
    with django_assert_num_queries(2):
        slots = free_slots(business=open_nine_to_five, service=massage, start=DAY, days=7, now=NOW)
    assert all(clock(starts)[0] == "10:00" for starts in slots.values())


def test_a_booking_that_started_the_day_before_still_blocks(open_nine_to_five, in_scope):
    overnight = Service.objects.create(business=in_scope, name="Retreat", price=500_00, duration_minutes=24 * 60)
    massage = make_service(in_scope, "Massage")
    ada = make_client(in_scope, email="ada@example.com")
    make_booking(in_scope, client=ada, service=overnight, starts_at=at(DAY - timedelta(days=1), 11))
    starts = clock(free_slots(business=in_scope, service=massage, start=DAY, now=NOW)[DAY])
    assert starts[0] == "11:00"


def test_is_free_accepts_an_offered_start_only(open_nine_to_five, massage):
    business = open_nine_to_five
    assert is_free(business=business, service=massage, starts_at=at(DAY, 9), now=NOW)
    assert not is_free(business=business, service=massage, starts_at=at(DAY, 9, 5), now=NOW)  # off the grid
    assert not is_free(business=business, service=massage, starts_at=at(DAY, 11, 30), now=NOW)  # runs into lunch
    assert not is_free(business=business, service=massage, starts_at=at(DAY, 7), now=NOW)  # before opening
    make_booking(business, client=make_client(business), service=massage, starts_at=at(DAY, 9, 30))
    assert not is_free(business=business, service=massage, starts_at=at(DAY, 9), now=NOW)
