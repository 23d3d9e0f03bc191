"""The client hears what they booked online: one transactional e-mail per booking, requested or confirmed."""

# The fixtures come from booking_helpers; a test naming one as a parameter is not a redefinition.
# ruff: noqa: F811
from __future__ import annotations

from datetime import timedelta

import pytest
from django_scopes import scope

from campaigns.models import MessageStatus, OutboxMessage
from widgets.models import OnlineBookingStatus
from widgets.services import widget_online_booking_status_set

from .booking_helpers import confirm, massage, open_details, slot, studio  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def received(business):
    with scope(business=business):
        return list(OutboxMessage.objects.filter(business=business, template="booking_received"))


def test_a_requested_booking_is_acknowledged_with_its_price(
    client, studio, massage, slot, mailoutbox, django_capture_on_commit_callbacks
):
    token = open_details(client, studio, massage, slot)
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(client, studio, massage, slot, token, marketing_consent=None).status_code == 303
    [message] = received(studio)
    assert message.to_address == "bob.stone@outlook.com" and not message.marketing
    assert message.status == MessageStatus.SENT  # transactional: sent without marketing consent
    assert [m.to for m in mailoutbox if m.subject == message.subject] == [["bob.stone@outlook.com"]]
    assert message.subject == f"We have your booking request, {studio.name} will confirm it"
    assert "Deep tissue massage" in message.body_text and "10:00" in message.body_text
    assert "Total: £100.00" in message.body_text and "Your notes: Sore left shoulder" in message.body_text
    # A second submit of the same form shows the same booking and writes nothing more.
    confirm(client, studio, massage, slot, token)
    assert len(received(studio)) == 1


def test_a_confirmed_booking_says_so(client, studio, massage, slot):
    widget_online_booking_status_set(business=studio, status=OnlineBookingStatus.CONFIRMED, actor=None)
    token = open_details(client, studio, massage, slot)
    confirm(client, studio, massage, slot, token)
    [message] = received(studio)
    assert message.subject == f"Your booking at {studio.name} is confirmed"


def test_a_business_whose_plan_is_full_pauses_online_booking_in_plain_words(client, studio, massage, slot, monkeypatch):
    from django.core.exceptions import ValidationError

    def full(**_):
        raise ValidationError("The free plan holds up to 100 clients.", code="plan_limit")

    monkeypatch.setattr("clients.services.client_limit_check", full)
    token = open_details(client, studio, massage, slot)
    response = confirm(client, studio, massage, slot, token)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Online booking is paused" in html and "Upgrade" not in html
    assert not received(studio)


def test_the_booked_page_offers_to_pay_online_when_stripe_is_set_up(client, studio, massage, slot, settings):
    token = open_details(client, studio, massage, slot)
    done = client.get(confirm(client, studio, massage, slot, token)["Location"]).content.decode()
    assert "data-pay" not in done  # payments are not set up: no button
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    token = open_details(client, studio, massage, slot + timedelta(hours=1))
    response = confirm(client, studio, massage, slot + timedelta(hours=1), token, email="cleo@example.com")
    done = client.get(response["Location"]).content.decode()
    assert "Pay £100.00 now" in done and 'target="_top"' in done and "/pay/" in done


def test_staff_confirming_a_requested_online_booking_tells_the_client_once(client, studio, massage, slot, owner):
    from bookings.models import Booking
    from bookings.services import booking_confirm

    token = open_details(client, studio, massage, slot)
    confirm(client, studio, massage, slot, token)
    with scope(business=studio):
        booking = Booking.objects.get(business=studio)
        booking_confirm(business=studio, booking=booking, actor=owner)
        booking_confirm(business=studio, booking=booking, actor=owner)  # again: no change, no second e-mail
        [message] = OutboxMessage.objects.filter(business=studio, template="booking_confirmed")
    assert message.subject == f"Your booking at {studio.name} is confirmed"
    assert message.to_address == "bob.stone@outlook.com"


def test_a_booking_confirmed_as_it_is_made_is_announced_once(client, studio, massage, slot):
    widget_online_booking_status_set(business=studio, status=OnlineBookingStatus.CONFIRMED, actor=None)
    token = open_details(client, studio, massage, slot)
    confirm(client, studio, massage, slot, token)
    with scope(business=studio):
        assert not OutboxMessage.objects.filter(business=studio, template="booking_confirmed").exists()
    assert len(received(studio)) == 1
