"""The staff's booking screens, as the owner, a staff member and an outsider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from bookings.models import Booking, BookingEvent, BookingStatus, Payment, PaymentStatus
from businesses.models import DomainEvent
from clients.models import Client

from .conftest import local, make_booking, make_client, make_service

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(business, path=""):
    return f"/b/{business.slug}/bookings/{path}"


# --- Personas ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "list/", "new/", "client-search/?q=a", "slot-check/", "{booking}/"])
def test_owner_and_staff_see_the_pages_and_an_outsider_gets_404(client, business, owner, staff, outsider, path):
    with scope(business=business):
        booking = make_booking(business)
    target = url(business, path.format(booking=booking.pk))
    for person, expected in ((owner, 200), (staff, 200), (outsider, 404)):
        client.force_login(person)
        assert client.get(target).status_code == expected, (person, target)


def test_an_outsider_cannot_confirm_or_record_a_payment(outsider_client, business, other_business):
    with scope(business=business):
        booking = make_booking(business)
        payment = booking.payments.get()
    assert outsider_client.post(url(business, f"{booking.pk}/confirm/")).status_code == 404
    # Their own business's address with this business's ids finds nothing either.
    assert outsider_client.post(f"/b/{other_business.slug}/bookings/{booking.pk}/confirm/").status_code == 404
    record = f"/b/{other_business.slug}/bookings/{booking.pk}/payments/{payment.pk}/record/"
    assert outsider_client.post(record, {"method": "cash"}).status_code == 404
    with scope(business=business):
        assert Booking.objects.get(pk=booking.pk).status == BookingStatus.REQUESTED
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.DUE


# --- Schedule -----------------------------------------------------------------------------------------------------


def test_the_day_schedule_shows_time_client_service_status_and_the_new_client_badge(staff_client, business):
    with scope(business=business):
        service = make_service(business, name="Hot stone massage")
        ada = make_client(business, first_name="Ada", last_name="Lovelace")
        make_booking(business, client=ada, service=service, starts_at=local(business, 2030, 5, 6, 9, 30))
        make_booking(business, client=ada, service=service, starts_at=local(business, 2030, 5, 6, 14, 0))
        make_booking(business, service=service, starts_at=local(business, 2030, 5, 7, 9, 0))

    page = staff_client.get(url(business), {"date": "2030-05-06"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "Monday 6 May 2030" in html
    assert html.count('class="booking-card') == 2
    assert "09:30" in html and "14:00" in html
    assert "Ada Lovelace" in html and "Hot stone massage" in html
    assert html.count(">New client<") == 1  # only the first of Ada's bookings
    assert "Requested" in html
    assert "?view=day&amp;date=2030-05-05" in html and "?view=day&amp;date=2030-05-07" in html


def test_the_schedule_uses_the_business_time_zone(owner_client, business):
    business.time_zone = "America/New_York"
    business.save()
    with scope(business=business):
        # 23:30 in New York on the 6th is already the 7th in UTC.
        make_booking(business, starts_at=local(business, 2030, 5, 6, 23, 30))
    assert "23:30" in owner_client.get(url(business), {"date": "2030-05-06"}).content.decode()
    assert "booking-card" not in owner_client.get(url(business), {"date": "2030-05-07"}).content.decode()


def test_the_week_view_runs_monday_to_sunday(owner_client, business):
    with scope(business=business):
        make_booking(business, starts_at=local(business, 2030, 5, 6, 9, 0))  # Monday
        make_booking(business, starts_at=local(business, 2030, 5, 12, 9, 0))  # Sunday
        make_booking(business, starts_at=local(business, 2030, 5, 13, 9, 0))  # next Monday
    html = owner_client.get(url(business), {"view": "week", "date": "2030-05-09"}).content.decode()
    assert "6 May – 12 May 2030" in html
    assert html.count('class="booking-card') == 2
    assert html.count('class="week-day') == 7


def test_an_empty_day_says_so_and_links_to_booking(owner_client, business):
    with scope(business=business):
        make_service(business)
    html = owner_client.get(url(business), {"date": "2030-05-06"}).content.decode()
    assert "No bookings on Monday 6 May" in html
    assert f"{url(business, 'new/')}?date=2030-05-06" in html


def test_a_bad_date_falls_back_to_today(owner_client, business):
    page = owner_client.get(url(business), {"date": "not-a-date"})
    assert page.status_code == 200
    assert timezone.localdate().strftime("%Y") in page.content.decode()


def test_with_no_services_the_schedule_asks_for_one(owner_client, business):
    assert "Add your first service" in owner_client.get(url(business)).content.decode()


# --- List ---------------------------------------------------------------------------------------------------------


def test_the_list_filters_by_status_service_dates_client_and_new_clients(owner_client, business):
    with scope(business=business):
        massage = make_service(business, name="Massage")
        facial = make_service(business, name="Facial")
        ada = make_client(business, first_name="Ada", last_name="Lovelace", email="ada@example.com")
        grace = make_client(business, first_name="Grace", last_name="Hopper")
        make_booking(business, client=ada, service=massage, starts_at=local(business, 2030, 5, 6, 9, 0))
        make_booking(
            business,
            client=ada,
            service=facial,
            starts_at=local(business, 2030, 6, 6, 9, 0),
            status=BookingStatus.CONFIRMED,
        )
        make_booking(business, client=grace, service=facial, starts_at=local(business, 2030, 7, 6, 9, 0))

    def rows(**params):
        return owner_client.get(url(business, "list/"), params).content.decode().count('<tr id="booking-row-')

    assert rows() == 3
    assert rows(status="confirmed") == 1
    assert rows(service=facial.pk) == 2
    assert rows(date_from="2030-06-01") == 2
    assert rows(date_from="2030-06-01", date_to="2030-06-30") == 1
    assert rows(q="love") == 2
    assert rows(q="ada@exa") == 2
    assert rows(q="hopper grace") == 1
    assert rows(new_clients_only="on") == 2
    assert rows(date_from="garbage", status="confirmed") == 1


def test_the_list_answers_htmx_with_the_results_partial(owner_client, business):
    with scope(business=business):
        make_booking(business)
    page = owner_client.get(url(business, "list/"), {"status": "requested"}, **HTMX)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.lstrip().startswith('<div id="booking-results"')
    assert "<html" not in html


def test_the_list_says_when_nothing_matches(owner_client, business):
    assert "No bookings yet" in owner_client.get(url(business, "list/")).content.decode()
    assert "No bookings match" in owner_client.get(url(business, "list/"), {"status": "completed"}).content.decode()


def test_the_list_runs_the_same_number_of_queries_for_any_page_size(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        make_booking(business, service=service)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(url(business, "list/")).status_code == 200
        return len(captured)

    queries()  # the first request of a session also saves it
    one = queries()
    with scope(business=business):
        for n in range(20):
            make_booking(
                business,
                client=make_client(business, first_name=f"Client{n}"),
                service=service,
                starts_at=local(business, 2030, 5, 6, 10, 0) + timedelta(hours=n),
            )
    assert queries() == one


def test_the_list_paginates(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        client = make_client(business)
        for n in range(30):
            make_booking(
                business, client=client, service=service, starts_at=local(business, 2030, 1, 1, 9) + timedelta(days=n)
            )
    first = owner_client.get(url(business, "list/")).content.decode()
    second = owner_client.get(url(business, "list/"), {"page": 2}).content.decode()
    assert first.count('<tr id="booking-row-') == 25 and "Page 1 of 2" in first
    assert second.count('<tr id="booking-row-') == 5


# --- Booking form -------------------------------------------------------------------------------------------------


def booking_post(chosen, **overrides):
    data = {
        "client_mode": "existing",
        "service": chosen.pk,
        "date": "2030-05-06",
        "time": "10:30",
        "status": "confirmed",
        "notes": "Sore left shoulder",
        "heard_about": "",
    }
    data.update(overrides)
    return data


def test_staff_book_an_existing_client(staff_client, staff, business):
    with scope(business=business):
        service = make_service(business)
        ada = make_client(business)
    response = staff_client.post(url(business, "new/"), booking_post(service, client=ada.pk))
    with scope(business=business):
        booking = Booking.objects.get(business=business)
        assert response.status_code == 302
        assert response["Location"] == url(business, f"{booking.pk}/")
        assert booking.client == ada and booking.created_by == staff
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.starts_at == local(business, 2030, 5, 6, 10, 30)
        assert booking.notes == "Sore left shoulder"
        assert DomainEvent.objects.filter(kind="booking.confirmed", subject_id=booking.pk).exists()


def test_staff_book_a_new_client_on_the_fly(staff_client, business):
    with scope(business=business):
        service = make_service(business)
    data = booking_post(
        service,
        client_mode="new",
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        phone="07911 123456",
        status="requested",
        heard_about="Instagram",
    )
    response = staff_client.post(url(business, "new/"), data)
    assert response.status_code == 302
    with scope(business=business):
        booking = Booking.objects.select_related("client").get(business=business)
        assert booking.client.full_name == "Grace Hopper"
        assert booking.client.phone == "+447911123456"
        assert booking.client.source_detail == "Instagram"
        assert booking.is_first_booking and booking.heard_about == "Instagram"
        assert booking.status == BookingStatus.REQUESTED


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"client": ""}, "client_query", "Find the client"),
        ({"client": "999999"}, "client_query", "Find the client"),
        ({"service": ""}, "service", "required"),
        ({"date": "31/02/2030"}, "date", "valid date"),
        ({"time": "25:00"}, "time", "valid time"),
        ({"status": "completed"}, "status", "valid choice"),
        ({"client_mode": "new", "first_name": ""}, "first_name", "first name is required"),
        ({"client_mode": "new", "first_name": "Bo", "phone": "12"}, "phone", "phone"),
        ({"client_mode": "new", "first_name": "Bo", "email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_bad_input_answers_field_errors_and_creates_nothing(owner_client, business, overrides, field, message):
    with scope(business=business):
        service = make_service(business)
    response = owner_client.post(url(business, "new/"), booking_post(service, **overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    with scope(business=business):
        assert not Booking.objects.filter(business=business).exists()
        assert not Client.objects.filter(business=business).exists()


def test_a_new_client_whose_booking_is_refused_is_not_created(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        ada = make_client(business, email="ada@example.com")
        make_booking(business, client=ada, service=service)
    # A second client with Ada's e-mail is refused, with a link to Ada.
    response = owner_client.post(
        url(business, "new/"),
        booking_post(service, client_mode="new", first_name="Ada", email="ADA@example.com"),
    )
    assert response.status_code == 400
    assert "already has this e-mail address" in " ".join(response.context["form"].errors["email"])
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 1
        assert Booking.objects.filter(business=business).count() == 1


def test_a_new_clients_only_service_is_refused_for_a_returning_client(owner_client, business):
    with scope(business=business):
        ada = make_client(business)
        make_booking(business, client=ada)
        offer = make_service(business, name="First visit", new_clients_only=True)
    response = owner_client.post(url(business, "new/"), booking_post(offer, client=ada.pk))
    assert response.status_code == 400
    assert "only for new clients" in " ".join(response.context["form"].errors["service"])


def test_the_client_search_without_javascript_offers_matching_clients(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        make_client(business, first_name="Ada", last_name="Lovelace")
    response = owner_client.post(url(business, "new/"), booking_post(service, client_query="lovel"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the client from the list" in html
    assert 'name="client"' in html and "Ada Lovelace" in html


def test_another_business_s_client_cannot_be_booked(owner_client, business, other_business):
    with scope(business=business):
        service = make_service(business)
    with scope(business=other_business):
        stranger = make_client(other_business, first_name="Eve")
    response = owner_client.post(url(business, "new/"), booking_post(service, client=stranger.pk))
    assert response.status_code == 400
    with scope(business=business):
        assert not Booking.objects.filter(business=business).exists()


def test_an_overlapping_booking_is_made_with_a_warning(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        grace = make_client(business, first_name="Grace", last_name="Hopper")
        make_booking(business, client=grace, service=service, starts_at=local(business, 2030, 5, 6, 10, 0))
        ada = make_client(business)
    response = owner_client.post(url(business, "new/"), booking_post(service, client=ada.pk), follow=True)
    assert response.status_code == 200
    assert "overlaps another booking: Grace Hopper" in response.content.decode()
    with scope(business=business):
        assert Booking.objects.filter(business=business).count() == 2


def test_the_slot_check_warns_about_overlaps_and_ignores_cancelled_bookings(owner_client, business):
    with scope(business=business):
        service = make_service(business)
        booking = make_booking(business, service=service, starts_at=local(business, 2030, 5, 6, 10, 0))
    params = {"service": service.pk, "date": "2030-05-06", "time": "10:30"}
    assert "overlaps 1 other booking" in owner_client.get(url(business, "slot-check/"), params).content.decode()
    assert (
        "overlaps" not in owner_client.get(url(business, "slot-check/"), {**params, "time": "11:00"}).content.decode()
    )
    owner_client.post(url(business, f"{booking.pk}/cancel/"))
    assert "overlaps" not in owner_client.get(url(business, "slot-check/"), params).content.decode()


def test_the_client_search_suggests_at_most_ten_clients_of_this_business(owner_client, business, other_business):
    with scope(business=business):
        for n in range(12):
            make_client(business, first_name=f"Sam{n}", last_name="Smith")
    with scope(business=other_business):
        make_client(other_business, first_name="Sam", last_name="Stranger")
    html = owner_client.get(url(business, "client-search/"), {"q": "sam"}, **HTMX).content.decode()
    assert html.count('name="client"') == 10
    assert "Stranger" not in html
    assert "No client matches" in owner_client.get(url(business, "client-search/"), {"q": "zed"}).content.decode()


def test_the_form_preselects_a_client_and_a_date(owner_client, business):
    with scope(business=business):
        make_service(business)
        ada = make_client(business)
    html = owner_client.get(url(business, "new/"), {"client": ada.pk, "date": "2030-05-06"}).content.decode()
    assert f'value="{ada.pk}" id="client-choice-{ada.pk}" checked' in html
    assert 'value="2030-05-06"' in html


# --- Detail, transitions and payments --------------------------------------------------------------------------


def test_the_detail_page_shows_everything_about_the_booking(staff_client, business, owner):
    with scope(business=business):
        booking = make_booking(business, notes="Allergic to lavender oil", heard_about="A friend", actor=owner)
    html = staff_client.get(url(business, f"{booking.pk}/")).content.decode()
    for text in ("Deep tissue massage", "Ada Lovelace", "Allergic to lavender oil", "A friend", "£60.00", "New client"):
        assert text in html, text
    assert "Record payment" in html and "Payment schedule" in html
    assert "History" in html and str(owner) in html


def test_an_unknown_booking_is_404(owner_client, business):
    assert owner_client.get(url(business, "999999/")).status_code == 404


def test_staff_confirm_with_htmx_and_get_the_card_back(staff_client, staff, business):
    with scope(business=business):
        booking = make_booking(business)
    response = staff_client.post(url(business, f"{booking.pk}/confirm/"), {"target": "card"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<article class="booking-card status-confirmed" id="booking-card-{booking.pk}"')
    assert "Booking confirmed." in html
    with scope(business=business):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED and booking.status_changed_by == staff


def test_the_row_and_detail_targets_swap_their_own_partials(owner_client, business):
    with scope(business=business):
        booking = make_booking(business, status=BookingStatus.CONFIRMED)
    row = owner_client.post(url(business, f"{booking.pk}/complete/"), {"target": "row"}, **HTMX).content.decode()
    assert row.lstrip().startswith(f'<tr id="booking-row-{booking.pk}">')
    with scope(business=business):
        other = make_booking(business)
    detail = owner_client.post(url(business, f"{other.pk}/cancel/"), {"target": "detail"}, **HTMX)
    assert detail.content.decode().lstrip().startswith('<div id="booking-detail"')
    assert "Booking cancelled." in detail.content.decode()


def test_an_illegal_move_answers_409_with_the_reason_and_changes_nothing(owner_client, business):
    with scope(business=business):
        booking = make_booking(business)
        events = BookingEvent.objects.filter(booking=booking).count()
    response = owner_client.post(url(business, f"{booking.pk}/complete/"), {"target": "card"}, **HTMX)
    assert response.status_code == 409
    assert "A requested booking cannot be completed." in response.content.decode()
    with scope(business=business):
        assert Booking.objects.get(pk=booking.pk).status == BookingStatus.REQUESTED
        assert BookingEvent.objects.filter(booking=booking).count() == events


def test_without_htmx_a_move_redirects_back_with_a_message(owner_client, business):
    with scope(business=business):
        booking = make_booking(business)
    back = url(business, "list/?status=requested")
    response = owner_client.post(url(business, f"{booking.pk}/confirm/"), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    response = owner_client.post(url(business, f"{booking.pk}/complete/"), {"next": "https://evil.example/"})
    assert response["Location"] == url(business, f"{booking.pk}/")
    follow = owner_client.get(response["Location"])
    assert "Visit completed." in follow.content.decode()


def test_transitions_need_post_and_a_known_action(owner_client, business):
    with scope(business=business):
        booking = make_booking(business)
    assert owner_client.get(url(business, f"{booking.pk}/confirm/")).status_code == 405
    assert owner_client.post(url(business, f"{booking.pk}/reopen/")).status_code == 404
    assert owner_client.post(url(business, "999999/confirm/")).status_code == 404


def test_recording_a_payment_with_htmx_swaps_the_schedule(staff_client, business, staff):
    with scope(business=business):
        booking = make_booking(business, status=BookingStatus.CONFIRMED)
        payment = booking.payments.get()
    response = staff_client.post(
        url(business, f"{booking.pk}/payments/{payment.pk}/record/"), {"method": "cash"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="booking-payments"')
    assert "Payment 1 recorded." in html and "Paid £60.00" in html
    with scope(business=business):
        payment.refresh_from_db()
        assert (payment.status, payment.method, payment.recorded_by) == (PaymentStatus.PAID, "cash", staff)
        assert Client.objects.get(pk=booking.client_id).lifetime_spend == 60_00


def test_a_payment_with_a_bad_method_or_on_a_cancelled_booking_is_refused(owner_client, business):
    with scope(business=business):
        booking = make_booking(business)
        payment = booking.payments.get()
    record = url(business, f"{booking.pk}/payments/{payment.pk}/record/")
    assert owner_client.post(record, {"method": "barter"}, **HTMX).status_code == 400
    owner_client.post(url(business, f"{booking.pk}/cancel/"))
    response = owner_client.post(record, {"method": "cash"}, **HTMX)
    assert response.status_code == 409
    assert "cannot be recorded" in response.content.decode()
    without_htmx = owner_client.post(record, {"method": "cash"})
    assert without_htmx.status_code == 302
    with scope(business=business):
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.DUE


def test_a_payment_of_another_booking_is_404(owner_client, business):
    with scope(business=business):
        first = make_booking(business)
        second = make_booking(business)
        payment = second.payments.get()
    assert (
        owner_client.post(url(business, f"{first.pk}/payments/{payment.pk}/record/"), {"method": "cash"}).status_code
        == 404
    )
