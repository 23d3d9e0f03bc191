"""The widget's booking flow step by step: service → time → details → summary → confirm → booked, its errors,
its form token and rate limit, and that it works without cookies inside a frame."""

# The fixtures come from booking_helpers; a test naming one as a parameter is not a redefinition.
# ruff: noqa: F811
from __future__ import annotations

from datetime import time, timedelta
from urllib.parse import parse_qs, urlparse, urlsplit

import pytest
from django.utils import timezone
from django_scopes import scope

from bookings.availability import HORIZON_DAYS
from bookings.models import Booking, BookingStatus, Channel
from businesses.hours import Interval, opening_hours_set
from businesses.models import PaymentPlan, PlanInterval, Service
from clients.models import Client, Source
from widgets import booking_flow
from widgets.models import OnlineBookingStatus, WidgetSettings

from ..bookings.conftest import make_booking
from .booking_helpers import (  # noqa: F401 (fixtures)
    DETAILS,
    anna,
    book_url,
    confirm,
    hidden_fields,
    intro,
    local,
    make_client,
    massage,
    open_details,
    slot,
    studio,
    summary,
    token_in,
    tomorrow,
    ts,
)


def nothing_booked(business) -> bool:
    with scope(business=business):
        return (
            not Booking.objects.filter(business=business).exists()
            and not Client.objects.filter(business=business, email="bob.stone@outlook.com").exists()
        )


# --- Step 1: services -------------------------------------------------------------------------------------------


def test_the_service_step_lists_what_can_be_booked_online_and_carries_the_link(client, studio, massage, intro):
    Service.objects.create(business=studio, name="Staff-only", price=10_00, online_bookable=False)
    Service.objects.create(business=studio, name="Retired", price=10_00, is_active=False)
    response = client.get(book_url(studio), {"ref": "ABCD2345", "ref_t": "signed-time", "promo": "SPRING"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Deep tissue massage" in html and "£100.00" in html and "60 min" in html
    assert "First visit" in html and "New clients only" in html
    assert "Staff-only" not in html and "Retired" not in html
    link = book_url(studio, "book_time", service=massage.pk, ref="ABCD2345", ref_t="signed-time", promo="SPRING")
    assert f'href="{link.replace("&", "&amp;")}"' in html


def test_without_opening_hours_the_widget_says_it_cannot_be_booked_online_yet(client, business, in_scope):
    service = Service.objects.create(business=business, name="Massage", price=50_00)
    html = client.get(book_url(business)).content.decode()
    assert "cannot be booked online yet" in html and "data-not-bookable" in html
    response = client.get(book_url(business, "book_time", service=service.pk))
    assert response.status_code == 409
    assert "cannot be booked online yet" in response.content.decode()


def test_the_landing_page_links_each_service_to_the_flow_once_there_are_hours(client, studio, massage):
    html = client.get(f"/w/{studio.slug}/", {"ref": "ABCD2345"}).content.decode()
    assert book_url(studio, "book_time", service=massage.pk, ref="ABCD2345").replace("&", "&amp;") in html


# --- Step 2: time -------------------------------------------------------------------------------------------------


def test_the_time_step_offers_the_free_times_of_the_day_as_buttons(client, studio, massage):
    day = tomorrow(studio)
    make_booking(studio, service=massage, starts_at=local(studio, day, 10))
    response = client.get(book_url(studio, "book_time", service=massage.pk, day=day.isoformat(), ref="ABCD2345"))
    html = response.content.decode()
    assert response.status_code == 200
    for free in ("09:00", "11:00", "13:00", "16:00"):
        assert f'data-slot="{free}"' in html
    for taken in ("09:15", "10:00", "10:45", "16:15", "12:00"):
        assert f'data-slot="{taken}"' not in html
    assert f'name="start" value="{ts(local(studio, day, 9))}"' in html
    assert '<input type="hidden" name="ref" value="ABCD2345">' in html
    assert 'aria-current="date"' in html


def test_htmx_gets_only_the_days_and_times(client, studio, massage):
    response = client.get(
        book_url(studio, "book_time", service=massage.pk, day=tomorrow(studio).isoformat()), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="time-step">') and "<html" not in html


def test_without_a_day_the_first_day_with_free_times_is_chosen(client, studio, massage):
    html = client.get(book_url(studio, "book_time", service=massage.pk)).content.decode()
    assert 'aria-current="date"' in html and "data-slot=" in html


@pytest.mark.parametrize(
    "params,status,words",
    [
        ({"service": "abc"}, 400, "does not name a service"),
        ({"service": "٣"}, 400, "does not name a service"),
        ({"service": "99999999999999999999999"}, 400, "does not name a service"),
        ({}, 400, "does not name a service"),
        ({"service": "999999"}, 404, "cannot be booked online"),
        ({"service": "MASSAGE", "day": "2026-13-01"}, 400, "Choose another day"),
        ({"service": "MASSAGE", "day": "yesterday"}, 400, "Choose another day"),
        ({"service": "MASSAGE", "day": "0001-01-01"}, 400, "Choose another day"),
        ({"service": "MASSAGE", "day": "9999-12-31"}, 400, "Choose another day"),
        ({"service": "MASSAGE", "day": "2031-01-01" * 50}, 400, "Choose another day"),
    ],
)
def test_bad_time_step_input_gets_a_plain_4xx(client, studio, massage, params, status, words):
    params = {name: massage.pk if value == "MASSAGE" else value for name, value in params.items()}
    response = client.get(book_url(studio, "book_time"), params)
    assert response.status_code == status
    assert words in response.content.decode()


@pytest.mark.parametrize("offset", [-1, HORIZON_DAYS + 1])
def test_days_before_today_or_beyond_the_horizon_are_refused(client, studio, massage, offset):
    day = tomorrow(studio) - timedelta(days=1) + timedelta(days=offset)
    response = client.get(book_url(studio, "book_time", service=massage.pk, day=day.isoformat()))
    assert response.status_code == 400
    assert "Bookings can be made for the days from" in response.content.decode()


def test_a_closed_day_is_refused_in_words(client, studio, massage):
    day = tomorrow(studio)
    opening_hours_set(business=studio, week={(day.weekday() + 1) % 7: (Interval(time(9), time(12)),)})
    response = client.get(book_url(studio, "book_time", service=massage.pk, day=day.isoformat()))
    assert response.status_code == 400
    assert "We are closed on" in response.content.decode()


def test_services_of_other_businesses_and_archived_ones_are_not_found(client, studio, massage, other_business):
    with scope(business=other_business):
        foreign = Service.objects.create(business=other_business, name="Foreign", price=10_00)
    massage_archived = Service.objects.create(business=studio, name="Old", price=10_00, is_active=False)
    for service in (foreign, massage_archived):
        assert client.get(book_url(studio, "book_time", service=service.pk)).status_code == 404


def test_an_unknown_business_is_404(client, db):
    assert client.get("/w/no-such-studio/book/").status_code == 404


# --- Step 3: details ----------------------------------------------------------------------------------------------


def test_the_details_step_asks_for_the_details_with_consent_unchecked(client, studio, massage, slot):
    response = client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": ts(slot)})
    html = response.content.decode()
    assert response.status_code == 200
    for label in ("First name", "Last name", "E-mail", "Phone", "Notes for your appointment", "How did you hear"):
        assert label in html
    consent = html[html.index('name="marketing_consent"') - 80 : html.index('name="marketing_consent"') + 80]
    assert "checked" not in consent
    assert token_in(html)
    assert "Who referred you?" in html


@pytest.mark.parametrize("start", ["abc", "", "-5", "99999999999999999999", "1"])
def test_a_malformed_or_impossible_time_is_refused(client, studio, massage, start):
    response = client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": start})
    assert response.status_code in (400, 409)


def test_a_time_that_is_not_offered_is_refused(client, studio, massage, slot):
    for start in (slot + timedelta(minutes=5), slot.replace(hour=11, minute=30), slot.replace(hour=20)):
        response = client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": ts(start)})
        assert response.status_code == 409
        assert "That time is not free" in response.content.decode()


@pytest.mark.parametrize("case", ["missing", "forged", "other_business", "expired"])
def test_a_post_without_a_genuine_fresh_token_is_refused_and_writes_nothing(
    client, studio, massage, slot, other_business, monkeypatch, case
):
    token = open_details(client, studio, massage, slot)
    if case == "missing":
        token = ""
    elif case == "forged":
        token = token[:-4] + "AAAA"
    elif case == "other_business":
        token = booking_flow.form_token(other_business)
    else:
        monkeypatch.setattr(booking_flow, "FORM_TOKEN_MAX_AGE", -1)
    for send in (summary, confirm):
        response = send(client, studio, massage, slot, token)
        assert response.status_code == 400
        assert "This page expired" in response.content.decode()
    assert nothing_booked(studio)


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"email": ""}, "This field is required"),
        ({"email": "not-an-address"}, "Enter a valid email address"),
        ({"phone": "12"}, "phone number"),
        ({"first_name": "B" * 101}, "at most 100 characters"),
        ({"notes": "n" * 1001}, "at most 1000 characters"),
        ({"heard_about": "telepathy"}, "Select a valid choice"),
        ({"referrer": "forged-token"}, "Search for the person who referred you again"),
    ],
)
def test_bad_details_are_refused_field_by_field(client, studio, massage, slot, fields, words):
    token = open_details(client, studio, massage, slot)
    for send in (summary, confirm):
        response = send(client, studio, massage, slot, token, **fields)
        assert response.status_code == 400
        assert words in response.content.decode()
    assert nothing_booked(studio)


# --- Summary --------------------------------------------------------------------------------------------------


def test_the_summary_shows_the_visit_the_price_and_the_schedule_and_writes_nothing(client, studio, massage, slot):
    token = open_details(client, studio, massage, slot)
    response = summary(client, studio, massage, slot, token)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Deep tissue massage" in html and "10:00–11:00" in html and "Europe/London" in html
    assert "Bob Stone" in html and "bob.stone@outlook.com" in html and "+44 20 7946 0123" in html
    assert "£100.00" in html and "Payment schedule" in html
    confirm_fields = hidden_fields(html, 0)
    assert confirm_fields["email"] == "bob.stone@outlook.com" and confirm_fields["phone"] == "+442079460123"
    assert confirm_fields["token"] == token and "marketing_consent" not in confirm_fields
    assert nothing_booked(studio)


def test_an_instalment_plan_shows_each_payment(client, studio, slot):
    programme = Service.objects.create(
        business=studio,
        name="Programme",
        price=100_00,
        duration_minutes=60,
        payment_plan=PaymentPlan.INSTALMENTS,
        plan_count=3,
        plan_interval=PlanInterval.MONTH,
    )
    token = open_details(client, studio, programme, slot)
    html = summary(client, studio, programme, slot, token).content.decode()
    assert html.count("£33.34") == 1 and html.count("£33.33") == 2


def test_change_details_goes_back_with_what_was_typed(client, studio, massage, slot):
    token = open_details(client, studio, massage, slot)
    fields = hidden_fields(summary(client, studio, massage, slot, token).content.decode(), 1)
    response = client.post(book_url(studio, "book_details"), {**fields, "action": "edit"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="bob.stone@outlook.com"' in html and "errorlist" not in html


# --- Confirm -------------------------------------------------------------------------------------------------------


def test_confirming_books_a_new_client_as_requested_by_default(client, studio, massage, slot):
    token = open_details(client, studio, massage, slot)
    response = confirm(client, studio, massage, slot, token)
    assert response.status_code == 303
    with scope(business=studio):
        booking = Booking.objects.select_related("client").get(business=studio)
        assert (booking.starts_at, booking.service, booking.status) == (slot, massage, BookingStatus.REQUESTED)
        assert booking.channel == Channel.ONLINE
        assert (booking.notes, booking.heard_about) == ("Sore left shoulder", "A friend or family member")
        assert (booking.list_price, booking.total, booking.is_first_booking) == (100_00, 100_00, True)
        bob = booking.client
        assert (bob.first_name, bob.last_name, bob.email, bob.phone) == (
            "Bob",
            "Stone",
            "bob.stone@outlook.com",
            "+442079460123",
        )
        assert (bob.source, bob.source_detail, bob.email_consent) == (
            Source.ONLINE_BOOKING,
            "A friend or family member",
            False,
        )
    done = client.get(response["Location"])
    html = done.content.decode()
    assert done.status_code == 200
    assert "Booking requested" in html and "will confirm your booking" in html and "£100.00" in html


def test_the_business_can_take_online_bookings_as_confirmed(client, studio, massage, slot):
    WidgetSettings.objects.create(business=studio, online_booking_status=OnlineBookingStatus.CONFIRMED)
    token = open_details(client, studio, massage, slot)
    response = confirm(client, studio, massage, slot, token, marketing_consent="on")
    with scope(business=studio):
        booking = Booking.objects.select_related("client").get(business=studio)
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.client.email_consent is True
    html = client.get(response["Location"]).content.decode()
    assert "You're booked" in html


def test_a_client_who_booked_before_books_as_themselves_and_their_record_is_untouched(client, studio, massage, slot):
    ben = make_client(studio, "Benjamin", "Stone", email="Bob.Stone@Outlook.com", phone="+442079460999")
    make_booking(studio, client=ben, service=massage, starts_at=timezone.now() - timedelta(days=30))
    token = open_details(client, studio, massage, slot)
    assert confirm(client, studio, massage, slot, token, email="bob.stone+spa@outlook.com").status_code == 303
    with scope(business=studio):
        booking = Booking.objects.filter(business=studio, starts_at=slot).get()
        assert booking.client == ben and booking.is_first_booking is False
        ben.refresh_from_db()
        assert (ben.first_name, ben.phone) == ("Benjamin", "+442079460999")
        assert Client.objects.filter(business=studio).count() == 1


def test_a_new_clients_only_service_is_refused_to_a_returning_client_in_plain_words(
    client, studio, massage, intro, slot
):
    ben = make_client(studio, "Ben", "Stone", email="bob.stone@outlook.com")
    make_booking(studio, client=ben, service=massage, starts_at=timezone.now() - timedelta(days=30))
    token = open_details(client, studio, intro, slot)
    html = summary(client, studio, intro, slot, token).content.decode()
    assert "is only for new clients" in html and "data-confirm" not in html
    response = confirm(client, studio, intro, slot, token)
    assert response.status_code == 409
    assert "First visit is only for new clients" in response.content.decode()
    with scope(business=studio):
        assert Booking.objects.filter(business=studio).count() == 1


def test_a_new_client_books_a_new_clients_only_service(client, studio, intro, slot):
    token = open_details(client, studio, intro, slot)
    assert "data-confirm" in summary(client, studio, intro, slot, token).content.decode()
    assert confirm(client, studio, intro, slot, token).status_code == 303


def test_pressing_confirm_twice_books_once(client, studio, massage, slot):
    token = open_details(client, studio, massage, slot)
    first = confirm(client, studio, massage, slot, token)
    second = confirm(client, studio, massage, slot, token)
    assert (first.status_code, second.status_code) == (303, 303)
    # Both show the same booking (the links' signatures carry the second they were made in, so compare what they name).
    with scope(business=studio):
        shown = [
            booking_flow.booking_from_done_token(studio, parse_qs(urlsplit(answer["Location"]).query)["b"][0])
            for answer in (first, second)
        ]
        assert shown[0] is not None and shown[0] == shown[1]
        assert Booking.objects.filter(business=studio).count() == 1


def test_a_time_taken_meanwhile_gets_one_clear_message_and_other_times_with_the_details_kept(
    client, studio, massage, slot
):
    token = open_details(client, studio, massage, slot)
    make_booking(studio, service=massage, starts_at=slot)
    response = confirm(client, studio, massage, slot, token)
    html = response.content.decode()
    assert response.status_code == 409
    assert "That time was just taken" in html and "your details are kept" in html
    assert 'data-slot="11:00"' in html and 'data-slot="10:00"' not in html
    kept = hidden_fields(html)
    assert kept["email"] == "bob.stone@outlook.com" and kept["token"] == token and "start" not in kept
    with scope(business=studio):
        assert Booking.objects.filter(business=studio).count() == 1
    # Picking another time from there leads straight back to the summary.
    again = client.post(book_url(studio, "book_details"), {**kept, "start": ts(slot.replace(hour=11))})
    assert again.status_code == 200 and "Check and confirm" in again.content.decode()


def test_too_many_confirmations_from_one_address_are_refused(client, studio, massage, slot, monkeypatch):
    monkeypatch.setattr(booking_flow, "CONFIRM_LIMIT", 2)
    token = open_details(client, studio, massage, slot)
    assert confirm(client, studio, massage, slot, token).status_code == 303
    assert confirm(client, studio, massage, slot, token).status_code == 303  # the same booking, shown again
    response = confirm(client, studio, massage, slot, token)
    assert response.status_code == 429
    assert "Too many bookings from here" in response.content.decode()


def test_confirm_answers_only_post(client, studio):
    assert client.get(book_url(studio, "book_confirm")).status_code == 405


def test_a_forged_or_foreign_done_link_shows_nothing(client, studio, massage, other_business):
    booking = make_booking(studio, service=massage)
    for token in ("1:forged", booking_flow.done_token(other_business, booking), ""):
        response = client.get(book_url(studio, "book_done"), {"b": token})
        assert response.status_code == 404
        assert "Deep tissue massage" not in response.content.decode()


# --- Framing and cookies -----------------------------------------------------------------------------------------


def test_no_step_sets_a_cookie_or_forbids_framing(client, studio, massage, slot):
    token = open_details(client, studio, massage, slot)
    responses = [
        client.get(book_url(studio)),
        client.get(book_url(studio, "book_time", service=massage.pk)),
        client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": ts(slot)}),
        summary(client, studio, massage, slot, token),
    ]
    done = confirm(client, studio, massage, slot, token)
    responses += [done, client.get(done["Location"])]
    for response in responses:
        assert not response.cookies, response.cookies
        assert response.get("X-Frame-Options") is None
        assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    query = parse_qs(urlparse(done["Location"]).query)
    assert set(query) == {"b"}
