"""Never double-booking: clients taking the same time at once through the widget get one booking between them."""

from __future__ import annotations

import pytest
from django.test import Client as Browser
from django_scopes import scope

from bookings.models import Booking
from businesses.hours import opening_hours_set
from businesses.models import Service
from clients.models import Client
from clients.services import ClientData
from referrals.services import ReferralClaim
from widgets.online_booking import SlotTaken, online_booking_create

from ..threads import needs_postgres, run_at_once
from .booking_helpers import EVERY_DAY, book_url, local, open_details, tomorrow, ts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


@pytest.fixture
def setup(business):
    with scope(business=business):
        opening_hours_set(business=business, week=EVERY_DAY)
        massage = Service.objects.create(business=business, name="Massage", price=80_00, duration_minutes=60)
    return business, massage, local(business, tomorrow(business), 10)


def test_eight_confirmations_of_one_time_at_once_make_one_booking_and_seven_clear_refusals(setup):
    business, massage, slot = setup
    browsers = [Browser() for _ in range(8)]
    tokens = [open_details(browser, business, massage, slot) for browser in browsers]

    def take(index: int):
        data = {
            "service": massage.pk,
            "start": ts(slot),
            "token": tokens[index],
            "first_name": f"Client{index}",
            "last_name": "Racer",
            "email": f"client{index}@example.com",
            "phone": "+44 20 7946 0123",
        }
        response = browsers[index].post(book_url(business, "book_confirm"), data)
        return response.status_code, response.content.decode()

    results, errors = run_at_once(take, threads=8)
    assert errors == []
    statuses = sorted(status for status, _ in results)
    assert statuses == [303] + [409] * 7
    assert all("That time was just taken" in html for status, html in results if status == 409)
    with scope(business=business):
        assert Booking.objects.filter(business=business, starts_at=slot).count() == 1
        # A refused booking leaves no client behind.
        assert Client.objects.filter(business=business).count() == 1


def test_overlapping_times_of_different_services_are_decided_one_at_a_time(setup):
    business, massage, slot = setup
    with scope(business=business):
        long_massage = Service.objects.create(business=business, name="Long", price=120_00, duration_minutes=90)
    # 10:00–11:00 and 10:30–12:00 overlap: whichever is decided first, the other is refused.
    choices = [(massage, slot), (long_massage, slot.replace(minute=30))] * 5

    def take(index: int):
        service, starts_at = choices[index]
        with scope(business=business):
            try:
                online_booking_create(
                    business=business,
                    service=service,
                    starts_at=starts_at,
                    details=ClientData(first_name=f"C{index}", email=f"c{index}@example.com"),
                    claim=ReferralClaim(),
                )
            except SlotTaken:
                return "taken"
            return "booked"

    results, errors = run_at_once(take, threads=len(choices))
    assert errors == []
    assert sorted(results) == ["booked"] + ["taken"] * (len(choices) - 1)
    with scope(business=business):
        assert Booking.objects.filter(business=business).count() == 1
