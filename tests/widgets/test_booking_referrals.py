"""Referrals in the widget's booking flow: from the link, a typed code, or a named referrer; refusals in words,
the booking going through at full price; `ref`, `ref_t` and `promo` kept through every step."""

# The fixtures come from booking_helpers; a test naming one as a parameter is not a redefinition.
# ruff: noqa: F811
from __future__ import annotations

import re
import time as clock
from datetime import timedelta

import pytest
from django_scopes import scope

from bookings.models import Booking, DiscountKind
from referrals.codes import click_token, code_for_client
from referrals.models import ClientSighting, FlagSignal, Referral, ReferralSource, ReferralStatus
from referrals.rules import Refusal

from ..bookings.conftest import make_booking
from .booking_helpers import (  # noqa: F401 (fixtures)
    anna,
    book_url,
    confirm,
    hidden_fields,
    make_client,
    make_program,
    massage,
    open_details,
    program,
    slot,
    studio,
    summary,
    tomorrow,
    ts,
)


@pytest.fixture
def link(studio, anna, program) -> dict:
    """What /r/<code> puts on the booking page's URL: the code and its signed click time."""
    code = code_for_client(business=studio, client=anna).code
    return {"ref": code, "ref_t": click_token(code)}


def referral_of(business, booking=None) -> Referral:
    with scope(business=business):
        return Referral.objects.select_related("referrer", "referee").get(
            business=business, **({"booking": booking} if booking else {})
        )


def only_booking(business) -> Booking:
    with scope(business=business):
        return Booking.objects.select_related("client").get(business=business)


# --- From the link ---------------------------------------------------------------------------------------------


def test_the_link_shows_who_referred_and_the_discount_at_every_step_and_books_with_it(
    client, studio, massage, slot, link, anna
):
    time_page = client.get(book_url(studio, "book_time", service=massage.pk, day=tomorrow(studio).isoformat(), **link))
    assert "Referred by Anna</strong> — 15% off your first visit" in time_page.content.decode()
    details = client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": ts(slot), **link})
    html = details.content.decode()
    assert "Referred by Anna</strong> — 15% off your first visit" in html
    assert "Who referred you?" not in html, "a client who came through a link is not asked who referred them"
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)

    html = summary(client, studio, massage, slot, token, **link).content.decode()
    assert "Referred by Anna: 15% off" in html
    assert "−£15.00" in html and "£100.00" in html and "£85.00" in html
    assert "Berg" not in html, "only the referrer's first name is shown"
    assert hidden_fields(html)["ref_t"] == link["ref_t"]

    assert confirm(client, studio, massage, slot, token, **link).status_code == 303
    booking = only_booking(studio)
    assert (booking.list_price, booking.total) == (100_00, 85_00)
    referral = referral_of(studio, booking)
    assert (referral.referrer, referral.referee, referral.source) == (anna, booking.client, ReferralSource.LINK)
    assert referral.status == ReferralStatus.PENDING and referral.clicked_at is not None
    with scope(business=studio):
        [row] = booking.discounts.all()
        assert (row.kind, row.amount) == (DiscountKind.REFERRAL, 15_00)
        assert ClientSighting.objects.filter(business=studio, client=booking.client).exists()


@pytest.mark.parametrize("case", ["expired", "returning", "same_phone", "unknown"])
def test_an_ineligible_referral_says_why_and_the_booking_goes_through_at_full_price(
    client, studio, massage, slot, link, anna, case
):
    phone = "+44 20 7946 0123"
    if case == "expired":
        old_click = clock.time() - 400 * 86400
        link = {"ref": link["ref"], "ref_t": click_token(link["ref"], now=old_click)}
        words = Refusal.EXPIRED
    elif case == "returning":
        bob = make_client(studio, "Bob", "Stone", email="bob.stone@outlook.com")
        make_booking(studio, client=bob, service=massage, starts_at=slot - timedelta(days=40))
        words = Refusal.NOT_NEW
    elif case == "same_phone":
        phone = "+44 20 7946 0001"  # Anna's phone
        words = Refusal.SAME_PHONE_OR_EMAIL
    else:
        link = {"ref": "NOSUCH22"}
        words = Refusal.UNKNOWN_CODE
    token = open_details(client, studio, massage, slot, **link)
    html = summary(client, studio, massage, slot, token, phone=phone, **link).content.decode()
    assert f"No referral discount: {words}" in html
    assert "You can still book at the full price" in html and "−£" not in html
    assert confirm(client, studio, massage, slot, token, phone=phone, **link).status_code == 303
    with scope(business=studio):
        booking = Booking.objects.get(business=studio, starts_at=slot)
        assert booking.total == booking.list_price == 100_00
        referral = Referral.objects.filter(business=studio, booking=booking).first()
    if case in ("expired", "same_phone", "returning"):
        assert referral.status == ReferralStatus.INELIGIBLE and referral.reason == str(words)


def test_a_program_rewarding_only_the_referrer_names_them_without_a_discount(client, studio, massage, slot, anna):
    make_program(studio, [massage], recipients="referrer")
    code = code_for_client(business=studio, client=anna).code
    token = open_details(client, studio, massage, slot, ref=code)
    html = summary(client, studio, massage, slot, token, ref=code).content.decode()
    assert "data-referral-note" in html and "Referred by Anna" in html and "−£" not in html


# --- A typed code --------------------------------------------------------------------------------------------------


def test_a_code_typed_on_the_details_step_gives_the_discount(client, studio, massage, slot, anna, program):
    code = code_for_client(business=studio, client=anna).code
    token = open_details(client, studio, massage, slot)
    html = summary(client, studio, massage, slot, token, code=code.lower()).content.decode()
    assert "Referred by Anna: 15% off" in html and "£85.00" in html
    assert confirm(client, studio, massage, slot, token, code=code.lower()).status_code == 303
    referral = referral_of(studio)
    assert referral.source == ReferralSource.CODE and referral.clicked_at is None


def test_a_code_typed_on_the_summary_step_reprices_the_summary(client, studio, massage, slot, anna, program):
    code = code_for_client(business=studio, client=anna).code
    token = open_details(client, studio, massage, slot)
    html = summary(client, studio, massage, slot, token).content.decode()
    assert "Have a referral code?" in html and "£85.00" not in html
    code_form = hidden_fields(html, 2)
    assert "code" not in code_form
    again = client.post(book_url(studio, "book_details"), {**code_form, "code": code})
    html = again.content.decode()
    assert again.status_code == 200 and "£85.00" in html
    assert hidden_fields(html)["code"] == code


def test_an_unknown_typed_code_is_explained(client, studio, massage, slot, program):
    token = open_details(client, studio, massage, slot)
    html = summary(client, studio, massage, slot, token, code="WRONG123").content.decode()
    assert f"No referral discount: {Refusal.UNKNOWN_CODE}" in html


# --- A named referrer ------------------------------------------------------------------------------------------


def test_the_referrer_search_shows_first_name_and_initial_and_never_an_id(client, studio, anna):
    make_client(studio, "Anna", "Kowalski", email="anna.k@example.com")
    response = client.get(book_url(studio, "book_referrers"), {"referrer_first_name": "anna", "referrer_initial": "b"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Anna B." in html and "Berg" not in html and "Anna K." not in html
    values = re.findall(r'name="referrer" id="referrer-\d+" value="([^"]*)"', html)
    assert len(values) == 1 and values[0] != str(anna.pk) and ":" in values[0]
    assert f'value="{anna.pk}"' not in html
    nobody = client.get(book_url(studio, "book_referrers"), {"referrer_first_name": "Zed"}).content.decode()
    assert "Nobody by that name yet" in nobody


def test_the_referrer_search_works_without_javascript(client, studio, massage, slot, anna):
    token = open_details(client, studio, massage, slot)
    response = client.post(
        book_url(studio, "book_details"),
        {"service": massage.pk, "start": ts(slot), "token": token, "action": "find_referrer",
         "referrer_first_name": "Anna", "email": "bob@example.com"},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "Anna B." in html and 'value="bob@example.com"' in html and "errorlist" not in html


def test_naming_a_referrer_makes_a_referral_staff_confirm_without_a_discount(
    client, studio, massage, slot, anna, program
):
    found = client.get(book_url(studio, "book_referrers"), {"referrer_first_name": "Anna"}).content.decode()
    chosen = re.search(r'name="referrer" id="referrer-1" value="([^"]+)"', found).group(1)
    token = open_details(client, studio, massage, slot)
    html = summary(client, studio, massage, slot, token, referrer=chosen).content.decode()
    assert "Referred by Anna (to be confirmed)" in html and "−£" not in html
    assert hidden_fields(html)["referrer"] == chosen
    # Back to the details: the chosen referrer is still chosen.
    back = client.post(book_url(studio, "book_details"), {**hidden_fields(html, 1), "action": "edit"}).content.decode()
    assert re.search(r'value="[^"]+" checked> <label for="referrer-1">Anna B\.</label>', back)

    assert confirm(client, studio, massage, slot, token, referrer=chosen).status_code == 303
    referral = referral_of(studio)
    assert (referral.referrer, referral.source) == (anna, ReferralSource.NAMED)
    assert referral.status == ReferralStatus.FLAGGED and referral.referee_discount == 0
    with scope(business=studio):
        assert referral.flags.filter(signal=FlagSignal.NAMED).exists()


def test_a_referrer_token_of_another_business_is_refused(client, studio, massage, slot, other_business):
    from widgets.booking_flow import referrer_token

    with scope(business=other_business):
        stranger = make_client(other_business, "Anna", "Berg", email="anna@elsewhere.example")
    token = open_details(client, studio, massage, slot)
    response = summary(client, studio, massage, slot, token, referrer=referrer_token(other_business, stranger.pk))
    assert response.status_code == 400
    assert "Search for the person who referred you again" in response.content.decode()


# --- Carried through ------------------------------------------------------------------------------------------------


def test_ref_ref_t_and_promo_ride_through_every_step_unchanged(client, studio, massage, slot, link):
    carry = {**link, "promo": "SPRING25"}
    services = client.get(book_url(studio), carry).content.decode()
    assert "promo=SPRING25" in services
    time_page = client.get(book_url(studio, "book_time"), {"service": massage.pk, **carry}).content.decode()
    assert '<input type="hidden" name="promo" value="SPRING25">' in time_page
    details = client.get(book_url(studio, "book_details"), {"service": massage.pk, "start": ts(slot), **carry})
    html = details.content.decode()
    assert '<input type="hidden" name="promo" value="SPRING25">' in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    summary_page = summary(client, studio, massage, slot, token, **carry).content.decode()
    for index in range(2):  # confirm and change details (no code form: the link's discount applies)
        fields = hidden_fields(summary_page, index)
        assert (fields["ref"], fields["ref_t"], fields["promo"]) == (link["ref"], link["ref_t"], "SPRING25")
