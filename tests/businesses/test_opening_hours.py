"""The owner's opening hours page: typed hours per weekday, the online booking status, and their checks."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from businesses.hours import DEMO_WEEK, Interval, opening_hours_of, opening_hours_set, parse_day
from businesses.models import AuditLog, OpeningInterval
from widgets.models import OnlineBookingStatus, WidgetSettings
from widgets.selectors import widget_settings_for

EMPTY_WEEK = {f"day_{day}": "" for day in range(7)}


def url(business) -> str:
    return reverse("businesses:opening_hours", args=[business.slug])


def post(client, business, status="requested", **days):
    return client.post(url(business), {**EMPTY_WEEK, "online_booking_status": status, **days})


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("", ()),
        ("9:00–12:00", ((9, 0, 12, 0),)),
        ("9-12, 13-18", ((9, 0, 12, 0), (13, 0, 18, 0))),
        ("13:30 - 18:00; 9.15-12", ((9, 15, 12, 0), (13, 30, 18, 0))),
        ("10h00 to 16h30", ((10, 0, 16, 30),)),
        ("8:00—9:00 and 17:00-20:00", ((8, 0, 9, 0), (17, 0, 20, 0))),
    ],
)
def test_typed_hours_are_read_in_order(typed, expected):
    assert parse_day(typed) == tuple(Interval(time(a, b), time(c, d)) for a, b, c, d in expected)


@pytest.mark.parametrize(
    "typed,words",
    [
        ("nine to five", "is not an opening time"),
        ("9:00-25:00", "is not a time of day"),
        ("9:75-12:00", "is not a time of day"),
        ("18:00-9:00", "closes before it opens"),
        ("12:00-12:00", "closes before it opens"),
        ("9-13, 12-18", "overlap"),
        ("1-2, 3-4, 5-6, 7-8, 9-10, 11-12, 13-14", "at most 6"),
    ],
)
def test_unreadable_or_impossible_hours_are_refused_in_words(typed, words):
    with pytest.raises(ValidationError) as refused:
        parse_day(typed)
    assert words in " ".join(refused.value.messages)


def test_the_owner_sees_that_clients_cannot_book_yet(owner_client, business):
    page = owner_client.get(url(business)).content.decode()
    assert "No opening hours yet" in page
    assert 'name="day_0"' in page and 'name="day_6"' in page
    assert "Opening hours" in page


def test_the_owner_saves_hours_and_the_status(owner_client, business, owner):
    response = post(owner_client, business, status="confirmed", day_0="9:00-12:00, 13:00-18:00", day_5="10-16")
    assert response.status_code == 302
    with scope(business=business):
        week = opening_hours_of(business=business)
        assert week[0] == (Interval(time(9), time(12)), Interval(time(13), time(18)))
        assert week[5] == (Interval(time(10), time(16)),)
        assert week[6] == ()
        assert widget_settings_for(business).online_booking_status == OnlineBookingStatus.CONFIRMED
        assert AuditLog.objects.filter(business=business, action="opening_hours.updated", actor=owner).exists()
        assert AuditLog.objects.filter(business=business, action="widget.online_booking_status").exists()
    page = owner_client.get(url(business)).content.decode()
    assert 'value="9:00–12:00, 13:00–18:00"' in page
    assert "No opening hours yet" not in page


def test_a_mistake_on_one_day_saves_nothing(owner_client, business):
    with scope(business=business):
        opening_hours_set(business=business, week={0: (Interval(time(8), time(9)),)})
    response = post(owner_client, business, status="confirmed", day_0="9-12", day_2="14-13")
    assert response.status_code == 400
    assert "closes before it opens" in response.content.decode()
    with scope(business=business):
        assert opening_hours_of(business=business)[0] == (Interval(time(8), time(9)),)
        assert not WidgetSettings.objects.filter(business=business).exists()


def test_an_unknown_status_is_refused(owner_client, business):
    response = post(owner_client, business, status="maybe", day_0="9-12")
    assert response.status_code == 400
    with scope(business=business):
        assert not OpeningInterval.objects.filter(business=business).exists()


def test_saving_the_same_hours_again_writes_nothing(business, owner):
    with scope(business=business):
        opening_hours_set(business=business, week=DEMO_WEEK, actor=owner)
        first_ids = set(OpeningInterval.objects.filter(business=business).values_list("pk", flat=True))
        opening_hours_set(business=business, week=DEMO_WEEK, actor=owner)
        assert set(OpeningInterval.objects.filter(business=business).values_list("pk", flat=True)) == first_ids
        assert AuditLog.objects.filter(business=business, action="opening_hours.updated").count() == 1


def test_staff_cannot_change_the_hours_nor_see_them_in_the_navigation(staff_client, business):
    assert post(staff_client, business, day_0="9-12").status_code == 403
    with scope(business=business):
        assert not OpeningInterval.objects.filter(business=business).exists()
    overview = staff_client.get(reverse("overview", args=[business.slug])).content.decode()
    assert url(business) not in overview


def test_the_owner_finds_the_page_next_to_the_services(owner_client, business):
    overview = owner_client.get(reverse("overview", args=[business.slug])).content.decode()
    services_link = overview.index(reverse("services:index", args=[business.slug]))
    assert overview.index(url(business)) > services_link


def test_an_outsider_gets_404(outsider_client, business):
    assert outsider_client.get(url(business)).status_code == 404
