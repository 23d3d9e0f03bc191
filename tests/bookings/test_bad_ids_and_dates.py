"""Ids and dates that used to answer 500 on the booking screens: "²" passes `str.isdigit()` but not `int()`, and
0001-01-01 / 9999-12-31 are valid dates whose neighbours (or UTC midnight) are past what datetime can hold."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from bookings import selectors
from bookings.models import Booking
from bookings.services import booking_create

from .conftest import make_booking, make_client, make_service
from .test_views import booking_post, url

pytestmark = pytest.mark.django_db

NOT_IDS = ["²", "١٢", "①", "99999999999999999999999"]
EDGE_DAYS = ["0001-01-01", "9999-12-31"]


@pytest.fixture(params=["Europe/London", "Asia/Tokyo", "Pacific/Honolulu"])
def zoned(request, business):
    business.time_zone = request.param
    business.save()
    return business


@pytest.mark.parametrize("raw", NOT_IDS)
def test_the_booking_form_ignores_a_client_id_that_is_not_one(owner_client, business, raw):
    with scope(business=business):
        make_service(business)
    response = owner_client.get(url(business, "new/"), {"client": raw})
    assert response.status_code == 200
    assert response.context["form"].chosen_client is None


@pytest.mark.parametrize("raw", NOT_IDS)
def test_the_slot_check_ignores_a_service_id_that_is_not_one(owner_client, business, raw):
    response = owner_client.get(url(business, "slot-check/"), {"service": raw, "date": "2030-05-06", "time": "10:00"})
    assert response.status_code == 200 and "overlaps" not in response.content.decode()


@pytest.mark.parametrize("day", EDGE_DAYS)
@pytest.mark.parametrize("view", ["day", "week"])
def test_the_schedule_at_the_ends_of_the_calendar_is_clamped(owner_client, zoned, day, view):
    response = owner_client.get(url(zoned), {"date": day, "view": view})
    assert response.status_code == 200
    year = "1900" if day.startswith("0001") else "2999"
    assert year in response.content.decode()
    # The previous and next links lead somewhere that answers too.
    for target in (response.context["previous"], response.context["next"]):
        assert owner_client.get(url(zoned), {"date": target.isoformat(), "view": view}).status_code == 200


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_the_list_refuses_dates_at_the_ends_of_the_calendar_as_field_errors(owner_client, zoned, day):
    with scope(business=zoned):
        make_booking(zoned)
    response = owner_client.get(url(zoned, "list/"), {"date_from": day, "date_to": day})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Choose a date between 1900 and 2999" in " ".join(errors["date_from"] + errors["date_to"])
    # The bad dates are left out, so the list still shows everything else.
    assert response.content.decode().count('<tr id="booking-row-') == 1


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_the_booking_form_refuses_a_date_at_the_ends_of_the_calendar(owner_client, zoned, day):
    with scope(business=zoned):
        service = make_service(zoned)
        ada = make_client(zoned)
    response = owner_client.post(url(zoned, "new/"), booking_post(service, client=ada.pk, date=day, time="23:30"))
    assert response.status_code == 400
    assert "Choose a date between 1900 and 2999" in " ".join(response.context["form"].errors["date"])
    with scope(business=zoned):
        assert not Booking.objects.filter(business=zoned).exists()


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_the_slot_check_ignores_a_date_at_the_ends_of_the_calendar(owner_client, zoned, day):
    with scope(business=zoned):
        service = make_service(zoned)
    params = {"service": service.pk, "date": day, "time": "23:30"}
    assert owner_client.get(url(zoned, "slot-check/"), params).status_code == 200


@pytest.mark.parametrize("moment", [datetime(9999, 12, 31, 23, 30), datetime(1, 1, 1, 0, 30)])
def test_booking_create_refuses_a_start_at_the_ends_of_the_calendar(in_scope, moment):
    zone = ZoneInfo(in_scope.time_zone)
    with pytest.raises(ValidationError) as refused:
        booking_create(
            business=in_scope,
            client=make_client(in_scope),
            service=make_service(in_scope),
            starts_at=moment.replace(tzinfo=zone),
        )
    assert "starts_at" in refused.value.message_dict


def test_schedule_and_list_selectors_clamp_what_they_are_given(in_scope):
    from datetime import date

    days = selectors.schedule(business=in_scope, start=date(9999, 12, 31), days=7)
    assert [d.day.year for d in days] == [2999] + [3000] * 6
    filters = selectors.BookingFilters(date_from=date(1, 1, 1), date_to=date(9999, 12, 31))
    assert list(selectors.booking_list(business=in_scope, filters=filters)) == []
