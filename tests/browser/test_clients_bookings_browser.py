"""The practitioner's records in a browser: the clients list filtered with htmx and saved as a segment, and a booking
made at the desk for a new client who brings a friend's referral code, then confirmed in place."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from bookings.services import booking_complete, booking_create
from businesses.models import Role, Service
from clients.models import Client, Segment, Tag
from clients.services import ClientData, client_create
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralStatus
from referrals.program import RuleData, program_set_enabled, rule_create
from rewards.models import Coupon

from ..factories import BusinessFactory, make_member
from .conftest import assert_not_reloaded, mark_page, scroll_to

SLUG = "bright-smile"


@pytest.fixture
def studio():
    """A business with its owner, whose scope is active for the data each test builds."""
    business = BusinessFactory(name="Bright Smile Dental", slug=SLUG)
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="olivia@brightsmile.example", first_name="Olivia", last_name="Owens")


def make_service(business, name="Deep tissue massage", price=100_00) -> Service:
    return Service.objects.create(business=business, name=name, price=price, duration_minutes=60)


def make_client(business, first_name, last_name, *, email="", tags=(), referred_by=None) -> Client:
    data = ClientData(first_name=first_name, last_name=last_name, email=email, tags=list(tags))
    return client_create(business=business, data=data, referred_by=referred_by)


def visited(business, client, service, days_ago: int) -> None:
    """A completed visit `days_ago` days ago: the client's visit figures move with it."""
    booking = booking_create(
        business=business,
        client=client,
        service=service,
        starts_at=timezone.now() - timedelta(days=days_ago),
        status=BookingStatus.CONFIRMED,
    )
    booking_complete(business=business, booking=booking)


def result_names(page) -> list[str]:
    return page.locator("#client-results tbody th[scope=row]").all_inner_texts()


def test_filter_the_clients_list_without_a_reload_and_keep_the_filters_as_a_segment(
    studio, owner, signed_in, console, shot
):
    service = make_service(studio)
    anna = make_client(studio, "Anna", "Berg", email="anna@example.com", tags=["VIP"])
    make_client(studio, "Bob", "Stone", email="bob@example.com", referred_by=anna)
    carla = make_client(studio, "Carla", "Diaz", email="carla@example.com", tags=["VIP"])
    frank = make_client(studio, "Frank", "Hill", email="frank@example.com", tags=["VIP"])
    make_client(studio, "Dan", "Evans", email="dan@example.com", referred_by=frank)
    visited(studio, anna, service, days_ago=120)
    visited(studio, carla, service, days_ago=200)
    visited(studio, frank, service, days_ago=10)

    tag = Tag.objects.get(business=studio, name="VIP")

    page = signed_in(owner)
    page.goto(f"/b/{SLUG}/clients/")
    count = page.locator("#result-count")
    expect(count).to_have_text("5 clients")
    expect(page.get_by_text("No segments yet.")).to_be_visible()
    mark_page(page)
    shot(page, "all-clients")

    # Typing searches as you type: the list and the count change in place, and the address follows.
    page.get_by_role("searchbox", name="Search").fill("stone")
    expect(count).to_have_text("1 client matches these filters")
    assert result_names(page) == ["Bob Stone"]
    expect(page).to_have_url(re.compile(r"/clients/\?q=stone(&|$)"))
    expect(page.get_by_role("list", name="Filters in use")).to_contain_text("Search: “stone”")
    shot(page, "searched")
    page.get_by_role("searchbox", name="Search").fill("")
    expect(count).to_have_text("5 clients")

    # Each filter narrows the list at once; they combine.
    page.get_by_text("Referrals, visits, tags and dates", exact=True).click()
    page.get_by_role("combobox", name="Tag", exact=True).select_option(label="VIP")
    expect(count).to_have_text("3 clients match these filters")
    assert sorted(result_names(page)) == ["Anna Berg", "Carla Diaz", "Frank Hill"]
    page.get_by_role("spinbutton", name="Last visit more than").fill("90")
    page.get_by_role("spinbutton", name="Last visit more than").press("Tab")
    expect(count).to_have_text("2 clients match these filters")
    assert sorted(result_names(page)) == ["Anna Berg", "Carla Diaz"]
    page.get_by_role("checkbox", name="Referrers only").check()
    expect(count).to_have_text("1 client matches these filters")
    assert result_names(page) == ["Anna Berg"]
    chips = page.get_by_role("list", name="Filters in use")
    for chip in ("Referrers only", "Tag: VIP", "Last visit more than 90 days ago"):
        expect(chips).to_contain_text(chip)
    for pair in ("referrer=1", "last_visit_more_than=90", f"tag={tag.pk}"):
        expect(page).to_have_url(re.compile(rf"[?&]{pair}(&|$)"))
    assert_not_reloaded(page)
    # For the picture: the filters folded away (the chips say which apply), and the list under them.
    page.get_by_text("Referrals, visits, tags and dates", exact=True).click()
    scroll_to(page.locator(".client-filters"), "start")
    shot(page, "filtered", docs="clients-list.png")

    # Saved as a named segment: a page of its own, listed with its count.
    page.get_by_text("Save these filters as a segment", exact=True).click()
    page.get_by_label("Segment name").fill("Lapsed VIP referrers")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("Segment “Lapsed VIP referrers” saved.")).to_be_visible()
    expect(page).to_have_title(re.compile("^Lapsed VIP referrers · Clients"))
    segments = page.locator(".client-segments")
    expect(segments.get_by_role("link", name="Lapsed VIP referrers")).to_have_attribute("aria-current", "page")
    expect(segments.locator(".segment-count")).to_contain_text("1")
    assert result_names(page) == ["Anna Berg"]
    shot(page, "segment-saved")
    with scopes_disabled():
        saved = Segment.objects.get(business=studio)
    assert (saved.name, saved.filters) == (
        "Lapsed VIP referrers",
        {"referrer": True, "tag": tag.pk, "last_visit_more_than": 90},
    )

    # Back to everyone, then the segment again in one click.
    page.get_by_role("navigation", name="Clients").get_by_role("link", name="All clients").click()
    expect(count).to_have_text("5 clients")
    segments.get_by_role("link", name="Lapsed VIP referrers").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/clients/segments/{saved.pk}/$"))
    expect(count).to_have_text("1 client matches these filters")
    assert result_names(page) == ["Anna Berg"]
    expect(page.get_by_text("Showing the segment Lapsed VIP referrers.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Referrers only")).to_be_checked()
    expect(page.get_by_role("spinbutton", name="Last visit more than")).to_have_value("90")
    shot(page, "segment-opened")
    console.assert_clean()


@pytest.fixture
def running_program(studio):
    """A running program: 15% off a massage for the new client, a £20 coupon for the referrer."""
    massage = make_service(studio)
    rule_create(
        business=studio,
        data=RuleData(
            service_ids=(massage.pk,),
            referee_kind="percent",
            referee_value=Decimal("15"),
            reward_kind="coupon_fixed",
            reward_value=Decimal("20.00"),
        ),
    )
    program_set_enabled(business=studio, enabled=True)
    return massage


def test_book_a_new_client_at_the_desk_with_a_friends_code_and_confirm_it_in_place(
    studio, owner, running_program, signed_in, console, shot
):
    anna = make_client(studio, "Anna", "Berg", email="anna.berg@gmail.com")
    code = code_for_client(business=studio, client=anna).code

    page = signed_in(owner)
    page.goto(f"/b/{SLUG}/bookings/new/")
    expect(page.get_by_role("heading", name="New booking", level=1)).to_be_visible()
    # The new client's fields appear only once "A new client" is chosen.
    expect(page.get_by_label("First name")).to_be_hidden()
    page.get_by_label("A new client").check()
    page.get_by_label("First name").fill("Bob")
    page.get_by_label("Last name").fill("Stone")
    page.get_by_label("E-mail").fill("bob.stone@outlook.com")
    page.get_by_label("Service").select_option(label="Deep tissue massage")
    page.get_by_label("Date").fill("2030-06-03")
    page.get_by_label(re.compile(r"^Time:?$")).fill("10:00")
    page.get_by_label("Requested (confirm it later)").check()
    # Codes are case-insensitive: the desk types what the friend reads out.
    page.get_by_label("Referral code").fill(code.lower())
    scroll_to(page.get_by_label("Referral code"), "end")
    shot(page, "booking-form", docs="booking-form.png")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/bookings/\d+/$"))
    expect(page.get_by_text("Deep tissue massage booked for Bob Stone.")).to_be_visible()
    expect(page.get_by_text("Referred by Anna Berg: the new client's discount is applied.")).to_be_visible()
    summary = page.locator(".booking-summary")
    expect(summary.locator(".status-badge")).to_have_text("Requested")
    expect(summary.get_by_text("New client", exact=True)).to_be_visible()
    prices = page.locator(".price-table")
    expect(prices.get_by_role("row", name=re.compile("List price"))).to_contain_text("£100.00")
    discount = prices.get_by_role("row", name=re.compile("Referred by Anna: 15% off"))
    expect(discount).to_contain_text("−£15.00")
    expect(discount).to_contain_text(f"code {code}")
    expect(prices.get_by_role("row", name=re.compile("Total"))).to_contain_text("£85.00")
    referral_line = page.locator(".booking-referral")
    expect(referral_line).to_contain_text("Referred by Anna Berg (typed code) — referral pending")
    shot(page, "booking-detail-requested")

    # Confirm in place: the browser asks first, then the booking's card changes without a reload.
    mark_page(page)
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    summary.get_by_role("button", name="Confirm Bob Stone’s Deep tissue massage").click()
    expect(page.locator(".booking-summary .status-badge")).to_have_text("Confirmed")
    expect(page.get_by_role("status").filter(has_text="Booking confirmed.")).to_be_visible()
    expect(page.locator(".booking-referral")).to_contain_text("referral confirmed")
    assert questions == ["Confirm Bob Stone’s Deep tissue massage on Mon 3 Jun at 10:00?"]
    assert_not_reloaded(page)
    scroll_to(page.locator(".booking-referral"), "nearest")
    shot(page, "booking-detail-confirmed", docs="booking-detail.png")

    with scopes_disabled():
        booking = Booking.objects.get(business=studio, client__first_name="Bob")
        referral = Referral.objects.get(business=studio, booking=booking)
        coupon = Coupon.objects.get(business=studio, client=anna)
    assert (booking.status, booking.list_price, booking.total) == (BookingStatus.CONFIRMED, 100_00, 85_00)
    assert (referral.referrer_id, referral.status) == (anna.pk, ReferralStatus.CONFIRMED)

    # The referrer's page: Bob among her referrals, and the coupon she earned.
    page.locator(".booking-referral").get_by_role("link", name="Anna Berg").click()
    expect(page.get_by_role("heading", name="Anna Berg", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Bob Stone"))).to_contain_text("Confirmed")
    coupons = page.locator("section", has=page.get_by_role("heading", name="Coupons"))
    coupon_row = coupons.get_by_role("row", name=re.compile(coupon.code))
    expect(coupon_row).to_contain_text("£20.00 off")
    expect(coupon_row).to_contain_text("Active")
    shot(page, "referrer-with-coupon", docs="client-referrals.png")
    console.assert_clean()
