"""The whole referral journey in a real browser, across three people and two sites.

A friend follows Anna's referral link to the studio's own website (another origin than ours), where the embedded
widget shows the referral; they book with the discount shown against the full price. Staff confirm the booking in
the dashboard, which confirms the referral and issues Anna's coupon. Anna signs in to her profile with the magic
link from the e-mail (taken from the outbox), sees one successful referral and the coupon, and copies her link.
A website that is not allowed cannot frame the widget.
"""

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
from businesses.models import Role, Service
from campaigns.models import OutboxMessage
from clients.services import ClientData, client_create
from referrals.codes import code_for_client, link_for
from referrals.models import Referral, ReferralProgram, ReferralRule, ReferralStatus
from rewards.models import Coupon
from widgets.services import WidgetLookData, widget_look_update

from ..factories import BusinessFactory, make_member

SLUG = "serenity-journey"
SIGN_IN_LINK = re.compile(r"https?://\S+/me/login/[A-Za-z0-9_-]+/")


@pytest.fixture
def studio(site_url):
    business = BusinessFactory(name="Serenity Massage Studio", slug=SLUG, time_zone="Europe/London", currency="GBP")
    with scope(business=business):
        week = {day: (Interval(time(9), time(18)),) for day in range(7)}
        opening_hours_set(business=business, week=week)
        massage = Service.objects.create(
            business=business, name="Deep tissue massage", price=90_00, duration_minutes=60
        )
        program = ReferralProgram.objects.create(business=business, enabled=True)
        rule = ReferralRule.objects.create(
            business=business,
            program=program,
            position=0,
            referee_kind="percent",
            referee_percent=15,
            reward_kind="coupon_fixed",
            reward_amount=20_00,
        )
        rule.services.set([massage])
        yield business


def page_with_widget(live_server_url: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Serenity: our own website</title>'
        '<link rel="icon" href="data:,"></head><body style="margin:0;font-family:sans-serif">'
        '<header style="padding:1rem;background:#f1f5f9"><h1>Serenity Massage (our own website)</h1></header>'
        f'<main style="max-width:48rem;margin:0 auto"><div data-referral-widget="{SLUG}"></div></main>'
        f'<script async src="{live_server_url}/w/embed.js"></script></body></html>'
    )


def allow_embedding(business, owner, origins: str) -> None:
    widget_look_update(
        business=business,
        data=WidgetLookData(
            primary_colour="#6d28d9",
            accent_colour="#be185d",
            headline="Book your calm",
            intro="Massage in the old town.",
            button_label="Book a massage",
            share_message="Book {business_name} with my link: {link}",
            allowed_origins=origins,
        ),
        actor=owner,
    )


def next_day(business):
    return timezone.now().astimezone(ZoneInfo(business.time_zone)).date() + timedelta(days=1)


def test_a_referred_friend_books_on_the_studio_website_and_the_referrer_sees_the_reward(
    studio, website, live_server, new_context, signed_in, console, shot, quiet_clicks
):
    owner = make_member(studio, Role.OWNER, email="maya@serenity.example", first_name="Maya")
    staff = make_member(studio, Role.STAFF, email="leo@serenity.example", first_name="Leo")
    anna = client_create(
        business=studio, data=ClientData(first_name="Anna", last_name="Berg", email="anna.berg@gmail.com")
    )
    code = code_for_client(business=studio, client=anna).code
    booking_page = website("/book.html", page_with_widget(live_server.url))
    allow_embedding(studio, owner, website.origin)
    ReferralProgram.objects.filter(business=studio).update(booking_url=booking_page)

    # 1. The friend follows Anna's link and lands on the studio's own website, where the widget knows who sent them.
    friend = new_context()
    console.watch(friend)
    page = friend.new_page()
    page.goto(f"{live_server.url}/r/{code}")
    expect(page).to_have_url(re.compile(rf"^{re.escape(booking_page)}\?ref={code}&ref_t="))
    widget = page.frame_locator("[data-referral-widget] iframe")
    expect(widget.locator("[data-referral-banner]")).to_contain_text("Referred by Anna")
    shot(page, "1-website-with-widget")

    # 2. They book: service, time, details, then the summary with the discount against the full price.
    widget.get_by_role("link", name="Book Deep tissue massage").click()
    day = next_day(studio)
    widget.locator(f'.day-strip a[href*="day={day.isoformat()}"]').click()
    widget.get_by_role("button", name="10:00", exact=True).click()
    widget.get_by_label("First name", exact=True).fill("Bob")
    widget.get_by_label("Last name", exact=True).fill("Stone")
    widget.get_by_label("E-mail", exact=True).fill("bob.stone@outlook.com")
    widget.get_by_label("Phone", exact=True).fill("020 7946 0123")
    widget.get_by_role("button", name="Continue", exact=True).click()
    expect(widget.locator("[data-full-price]")).to_have_text("£90.00")
    expect(widget.locator("tr.discount")).to_contain_text("Referred by Anna: 15% off")
    expect(widget.locator("[data-total]")).to_have_text("£76.50")
    shot(page, "2-summary-with-discount")
    widget.get_by_role("button", name="Confirm booking").click()
    expect(widget.get_by_role("heading", level=1)).to_have_text("Booking requested")
    shot(page, "3-booking-requested")
    assert friend.cookies() == [], "the widget works where third-party cookies are blocked"
    booking = Booking.objects.select_related("client").get(business=studio)
    assert (booking.client.first_name, booking.total, booking.status) == ("Bob", 76_50, BookingStatus.REQUESTED)

    # 3. Staff confirm the booking in the dashboard: the referral is confirmed and Anna's coupon issued.
    desk = signed_in(staff)
    desk.goto(f"/b/{SLUG}/bookings/{booking.pk}/")
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.get_by_role("button", name=re.compile("^Confirm Bob Stone")).click()
    expect(desk.locator(".booking-summary .status-badge")).to_have_text("Confirmed")
    expect(desk.locator(".booking-referral")).to_contain_text("referral confirmed")
    shot(desk, "4-staff-confirmed")
    assert Referral.objects.get(business=studio, booking=booking).status == ReferralStatus.CONFIRMED
    coupon = Coupon.objects.get(business=studio, client=anna)

    # 4. Anna asks for a sign-in link; the e-mail is in the outbox; she opens it and signs in.
    referrer = new_context(permissions=["clipboard-read", "clipboard-write"])
    console.watch(referrer)
    profile = referrer.new_page()
    profile.goto(f"/w/{SLUG}/me/")
    profile.get_by_label("Your e-mail address").fill("anna.berg@gmail.com")
    profile.get_by_role("button", name="E-mail me a sign-in link").click()
    expect(profile.get_by_role("heading", name="Check your inbox")).to_be_visible()
    message = OutboxMessage.objects.filter(business=studio, template="client_sign_in").latest("id")
    assert message.to_address == "anna.berg@gmail.com"
    profile.goto(SIGN_IN_LINK.search(message.body_text).group(0))
    profile.get_by_role("button", name="Sign in").click()

    # 5. Her profile: one successful referral (Bob, first name only) and the coupon it earned.
    expect(profile.get_by_role("heading", name="Hi Anna")).to_be_visible()
    expect(profile.get_by_text("You have made 1 successful referral.")).to_be_visible()
    expect(profile.locator('[data-friend="Bob"]')).to_contain_text("Rewarded")
    expect(profile.locator('[data-friend="Bob"]')).not_to_contain_text("Stone")
    expect(profile.locator(f'[data-coupon="{coupon.code}"]')).to_contain_text("£20.00 off")
    shot(profile, "5-referrer-profile")

    # 6. The copy button puts her link on the clipboard.
    profile.get_by_role("button", name="Copy").click()
    expect(profile.locator("#copy-status")).to_have_text("Copied")
    assert profile.evaluate("navigator.clipboard.readText()") == link_for(code)
    shot(profile, "6-link-copied")


def test_a_website_that_is_not_allowed_cannot_frame_the_widget(
    studio, website, live_server, new_context, console, shot
):
    owner = make_member(studio, Role.OWNER, email="maya@serenity.example")
    allow_embedding(studio, owner, "https://www.serenity.example")
    stranger = website("/copy.html", page_with_widget(live_server.url))
    context = new_context()
    console.watch(context)
    # Chromium reports the refusal on the console: that is what this test provokes.
    console.allow(r"frame-ancestors|Refused to frame|violates the following Content Security Policy")
    page = context.new_page()
    page.goto(stranger)
    page.wait_for_selector("[data-referral-widget] iframe")
    frame = page.locator("[data-referral-widget] iframe").element_handle().content_frame()
    page.wait_for_timeout(500)
    assert "Book your calm" not in (frame.content() if frame else "")
    assert frame is None or not frame.url.startswith(live_server.url) or frame.url.startswith("chrome-error://")
    shot(page, "refused-frame")
