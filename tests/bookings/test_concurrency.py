"""Races on PostgreSQL with real threads: row locks make a confirmation or a payment count once."""

from __future__ import annotations

import pytest
from django_scopes import scope

from bookings.models import BookingEvent, BookingStatus, PaymentMethod, PaymentStatus
from bookings.services import booking_confirm, payment_record
from businesses.models import DomainEvent
from clients.models import Client

from ..threads import needs_postgres, run_at_once
from .conftest import make_booking, make_client, make_service

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


def test_ten_staff_confirming_the_same_booking_confirm_it_once(business, owner):
    with scope(business=business):
        booking = make_booking(business)

    def confirm():
        with scope(business=business):
            booking_confirm(business=business, booking=booking, actor=owner)

    assert run_at_once(lambda _: confirm(), threads=10)[1] == []
    with scope(business=business):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.CONFIRMED).count() == 1
        assert DomainEvent.objects.filter(kind="booking.confirmed", subject_id=booking.pk).count() == 1


def test_ten_staff_recording_the_same_payment_add_it_to_lifetime_spend_once(business, owner):
    with scope(business=business):
        client = make_client(business)
        booking = make_booking(business, client=client, service=make_service(business, price=75_00))
        payment = booking.payments.get()

    def record():
        with scope(business=business):
            payment_record(business=business, payment=payment, method=PaymentMethod.CARD, actor=owner)

    assert run_at_once(lambda _: record(), threads=10)[1] == []
    with scope(business=business):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PAID
        assert Client.objects.get(pk=client.pk).lifetime_spend == 75_00
        assert DomainEvent.objects.filter(kind="payment.recorded", subject_id=payment.pk).count() == 1
