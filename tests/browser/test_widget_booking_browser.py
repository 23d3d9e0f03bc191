"""Booking through the widget in a real browser: a friend follows a referral link and books a massage with their
discount (service → time → details → summary → confirm), and a new client inside a cross-site frame names the
friend who sent them, with the keyboard, on a phone. No cookie is set at any step."""

from __future__ import annotations

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from businesses.hours import Interval, opening_hours_set
from businesses.models import Service
from clients.services import ClientData, client_create
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralProgram, ReferralRule, ReferralSource, ReferralStatus
from widgets.models import WidgetSettings

from ..factories import BusinessFactory
from .conftest import PHONE, assert_not_reloaded, mark_page

SLUG = "serenity-booking"


@pytest.fixture
def studio():
    business = BusinessFactory(name="Serenity Massage Studio", slug=SLUG, time_zone="Europe/London", currency="GBP")
    with scope(business=business):
        week = {day: (Interval(time(9), time(12, 30)), Interval(time(13, 30), time(18))) for day in range(6)}
        opening_hours_set(business=business, week=week)
        yield business


@pytest.fixture
def massage(studio):
    service = Service.objects.create(
        business=studio,
        name="Deep tissue massage",
        price=90_00,
        duration_minutes=60,
        description="Slow, firm work on chronic tension.",
    )
    Service.objects.create(
        business=studio, name="First visit: introduction", price=45_00, duration_minutes=30, new_clients_only=True
    )
    program = ReferralProgram.objects.create(business=studio, enabled=True)
    rule = ReferralRule.objects.create(
        business=studio, program=program, position=0, referee_kind="percent", referee_percent=15
    )
    rule.services.set([service])
    return service


@pytest.fixture
def anna(studio):
    return client_create(
        business=studio, data=ClientData(first_name="Anna", last_name="Berg", email="anna.berg@gmail.com")
    )


def next_open_day(business):
    """Tomorrow, or the day after when tomorrow is the closed Sunday."""
    day = timezone.now().astimezone(ZoneInfo(business.time_zone)).date() + timedelta(days=1)
    return day + timedelta(days=1) if day.weekday() == 6 else day


def test_a_referred_friend_books_with_the_discount_shown_against_the_full_price(
    studio, massage, anna, live_server, new_context, console, shot, quiet_clicks
):
    code = code_for_client(business=studio, client=anna).code
    context = new_context()
    console.watch(context)
    page = context.new_page()

    # Anna's link lands on the studio's booking page, which knows who sent the friend.
    page.goto(f"{live_server.url}/r/{code.lower()}")
    expect(page.locator("[data-referral-banner]")).to_contain_text("Referred by Anna")
    page.get_by_role("link", name="Book Deep tissue massage").click()

    # Time: the days with free times, then the times of one day as buttons; htmx swaps the day in place.
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time for Deep tissue massage")
    expect(page.locator("[data-referral-banner]")).to_have_text(
        re.compile(r"Referred by Anna\s+—\s+15% off your first visit")
    )
    day = next_open_day(studio)
    mark_page(page)
    page.locator(f'.day-strip a[href*="day={day.isoformat()}"]').click()
    expect(page.locator(".day-strip a[aria-current=date]")).to_have_attribute(
        "href", re.compile(f"day={day.isoformat()}")
    )
    assert_not_reloaded(page)
    expect(page.get_by_role("group", name=re.compile("^Free times on"))).to_be_visible()
    shot(page, "choose-a-time", docs="widget-time.png")
    page.get_by_role("button", name="10:00", exact=True).click()

    # Details: consent to marketing is not given unless ticked; the referral came from the link.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    expect(page.get_by_label("Send me news and offers by e-mail")).not_to_be_checked()
    expect(page.get_by_text("New here? Who referred you?")).to_have_count(0)
    page.get_by_label("First name", exact=True).fill("Bob")
    page.get_by_label("Last name", exact=True).fill("Stone")
    page.get_by_label("E-mail", exact=True).fill("bob.stone@outlook.com")
    page.get_by_label("Phone", exact=True).fill("020 7946 0123")
    page.get_by_label("Notes for your appointment").fill("Sore left shoulder")
    page.get_by_label("How did you hear about us?").select_option("friend")
    shot(page, "details")
    page.get_by_role("button", name="Continue", exact=True).click()

    # Summary: the full price, the referral discount against it, the total and when it is due.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check and confirm")
    expect(page.locator("[data-full-price]")).to_have_text("£90.00")
    expect(page.locator("tr.discount")).to_contain_text("Referred by Anna: 15% off")
    expect(page.locator("[data-discount]")).to_have_text("−£13.50")
    expect(page.locator("[data-total]")).to_have_text("£76.50")
    expect(page.locator("[data-schedule] tbody tr")).to_have_count(1)
    expect(page.locator("[data-when]")).to_contain_text("10:00–11:00")
    shot(page, "summary-with-referral-discount", docs="widget-summary.png")
    page.get_by_role("button", name="Confirm booking").click()

    # Booked: requested, since the studio confirms online bookings itself.
    expect(page.get_by_role("heading", level=1)).to_have_text("Booking requested")
    expect(page.locator("[data-total]")).to_have_text("£76.50")
    shot(page, "booked")
    booking = Booking.objects.select_related("client").get(business=studio)
    assert (booking.status, booking.total, booking.client.first_name) == (BookingStatus.REQUESTED, 76_50, "Bob")
    assert booking.starts_at.astimezone(ZoneInfo("Europe/London")).time() == time(10)
    referral = Referral.objects.get(business=studio, booking=booking)
    assert (referral.referrer, referral.source, referral.status) == (anna, ReferralSource.LINK, ReferralStatus.PENDING)
    assert context.cookies() == [], "the widget must work where third-party cookies are blocked"


def test_inside_a_cross_site_frame_a_new_client_names_who_referred_them_with_the_keyboard(
    studio, massage, anna, live_server, website, new_context, console, shot
):
    # The business's own website, on the loopback name the live server does not use: another site.
    host_page = website(
        "/",
        f'<!DOCTYPE html><title>Serenity</title><link rel="icon" href="data:,"><h1>Our own website</h1>'
        f'<iframe title="Online booking" src="{live_server.url}/w/{SLUG}/book/" '
        'style="width:100%;height:1500px;border:0"></iframe>',
    )
    WidgetSettings.objects.create(
        business=studio, online_booking_status="confirmed", allowed_origins=host_page.rsplit("/", 1)[0]
    )
    context = new_context(viewport=PHONE)
    console.watch(context)
    page = context.new_page()
    page.goto(host_page)
    frame = page.frame_locator("iframe[title='Online booking']")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Choose a service")
    frame.get_by_role("link", name="Choose").first.focus()
    # The services are listed by name; "Deep tissue massage" is the first.
    page.keyboard.press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Choose a time for Deep tissue massage")

    day = next_open_day(studio)
    frame.locator(f'.day-strip a[href*="day={day.isoformat()}"]').click()
    # The day's times are swapped in by htmx: focus a time only once the swap has settled, or the focused button
    # can be replaced under the keyboard (the day may already be the one shown, so aria-current alone is no sign).
    expect(frame.locator(".day-strip a[aria-current=date]")).to_have_attribute(
        "href", re.compile(f"day={day.isoformat()}")
    )
    expect(frame.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    slot = frame.get_by_role("button", name="13:30", exact=True)
    slot.focus()
    expect(slot).to_be_focused()
    page.keyboard.press("Enter")

    expect(frame.get_by_role("heading", level=1)).to_have_text("Your details")
    frame.get_by_label("First name", exact=True).fill("Carla")
    frame.get_by_label("Last name", exact=True).fill("Diaz")
    frame.get_by_label("E-mail", exact=True).fill("carla.diaz@outlook.com")
    frame.get_by_label("Phone", exact=True).fill("+44 20 7946 0456")
    # "Who referred you?": a first name and an initial find "Anna B." (never more), swapped in by htmx.
    frame.get_by_label("Their first name").fill("anna")
    frame.get_by_label("First letter of their last name").fill("B")
    frame.get_by_role("button", name="Search").click()
    expect(frame.get_by_label("Anna B.")).to_be_visible()
    expect(frame.get_by_text("Berg")).to_have_count(0)
    frame.get_by_label("Anna B.").check()
    shot(page, "named-referrer-in-a-frame")
    # Enter in a field continues to the summary, never a second search.
    frame.get_by_label("Phone", exact=True).press("Enter")

    expect(frame.get_by_role("heading", level=1)).to_have_text("Check and confirm")
    expect(frame.locator("[data-referral-note]")).to_have_text("Referred by Anna (to be confirmed)")
    expect(frame.locator("[data-total]")).to_have_text("£90.00")
    frame.get_by_role("button", name="Confirm booking").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("You're booked")
    shot(page, "booked-in-a-frame")

    booking = Booking.objects.select_related("client").get(business=studio)
    assert (booking.status, booking.client.first_name) == (BookingStatus.CONFIRMED, "Carla")
    referral = Referral.objects.get(business=studio, booking=booking)
    assert (referral.referrer, referral.source, referral.status) == (anna, ReferralSource.NAMED, ReferralStatus.FLAGGED)
    assert context.cookies() == []
