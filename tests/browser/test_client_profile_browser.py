"""The client profile in a browser: a referrer asks for a magic link, opens it from the e-mail (taken from the
outbox), signs in, sees their friend's referral and coupon, copies their link to the clipboard, invites a friend
and signs out; the page also on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from bookings.services import booking_confirm
from campaigns.models import OutboxMessage
from clients.services import ClientData
from referrals.codes import code_for_client, link_for
from referrals.models import FriendInvitation, ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon

from ..factories import BusinessFactory
from ..referrals.conftest import make_client, make_program, make_service
from .conftest import PHONE, scroll_to

SLUG = "calm-studio"
LINK = re.compile(r"https?://\S+/me/login/[A-Za-z0-9_-]+/")


@pytest.fixture
def studio(site_url):
    business = BusinessFactory(name="Calm Studio", slug=SLUG)
    with scope(business=business):
        massage = make_service(business, "Deep tissue massage", 100_00)
        make_program(business, [massage])
        anna = make_client(business, "Anna", "Berg", email="anna.berg@gmail.com")
        claim = ReferralClaim(
            code=code_for_client(business=business, client=anna).code,
            source=ReferralSource.LINK,
            clicked_at=timezone.now() - timedelta(hours=1),
        )
        booking = booking_create_with_referral(
            business=business,
            client=ClientData(first_name="Bob", last_name="Stone", email="bob.stone@outlook.com"),
            service=massage,
            starts_at=timezone.now() + timedelta(days=3),
            claim=claim,
        )
        booking_confirm(business=business, booking=booking)
        yield business


def sign_in_link(business) -> str:
    with scope(business=business):
        message = OutboxMessage.objects.filter(business=business, template="client_sign_in").order_by("-id").first()
    assert message is not None
    return LINK.search(message.body_text).group(0)


def test_a_referrer_signs_in_with_a_magic_link_and_shares_their_link(studio, new_context, console, shot):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    console.watch(context)
    page = context.new_page()
    with scope(business=studio):
        coupon = Coupon.objects.get(business=studio)
        anna_link = link_for(code_for_client(business=studio, client=coupon.client))

    # The booking page's tab asks for /favicon.ico (not this page's concern).
    console.allow(r"status of 404 .*/favicon\.ico")
    page.goto(f"/w/{SLUG}/")
    with context.expect_page() as opened:
        page.get_by_role("link", name="My referrals & rewards").click()
    page = opened.value
    expect(page.get_by_role("heading", name="Your referrals & rewards")).to_be_visible()
    page.get_by_label("Your e-mail address").fill("Anna.Berg@gmail.com")
    shot(page, "sign-in-form")
    page.get_by_role("button", name="E-mail me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shot(page, "link-sent")

    # The link from the e-mail: opening it signs nobody in; the button does.
    page.goto(sign_in_link(studio))
    expect(page.get_by_role("heading", name="Sign in to Calm Studio")).to_be_visible()
    shot(page, "sign-in-button")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Hi Anna")).to_be_visible()
    expect(page.get_by_text("You have made 1 successful referral.")).to_be_visible()
    bob = page.locator('[data-friend="Bob"]')
    expect(bob).to_contain_text("Rewarded")
    expect(bob).not_to_contain_text("Stone")
    coupon_row = page.locator(f'[data-coupon="{coupon.code}"]')
    expect(coupon_row).to_contain_text("£20.00 off")
    expect(coupon_row).to_contain_text("Ready to use")
    expect(page.locator("#referral-link")).to_have_value(anna_link)
    expect(page.locator("svg.qr-code")).to_be_visible()
    shot(page, "profile", docs="client-profile.png")

    # Copy, from the keyboard: the link lands on the clipboard and the status says so.
    copy = page.get_by_role("button", name="Copy")
    copy.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == anna_link
    scroll_to(page.locator("#share"))
    shot(page, "copied")

    # Invite a friend by e-mail.
    page.get_by_label("Your friend's first name").fill("Cleo")
    page.get_by_label("Your friend's e-mail address").fill("cleo@example.com")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Invitation sent to Cleo.")).to_be_visible()
    expect(page.locator('[data-friend="Cleo"]')).to_contain_text("Invited")
    with scope(business=studio):
        assert FriendInvitation.objects.filter(business=studio, first_name="Cleo").exists()
        [invitation] = OutboxMessage.objects.filter(business=studio, template="friend_invitation")
    assert anna_link in invitation.body_text
    scroll_to(page.locator("#friends"))
    shot(page, "friend-invited")

    # A refused invitation says why, next to the field (answered with a 400, which the console reports).
    console.allow(r"status of 400 .*/me/invite/")
    page.get_by_label("Your friend's first name").fill("Bob")
    page.get_by_label("Your friend's e-mail address").fill("bob.stone@outlook.com")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Bob is already a client of Calm Studio")).to_be_visible()
    shot(page, "invitation-refused")

    page.set_viewport_size(PHONE)
    page.goto(f"/w/{SLUG}/me/")
    expect(page.get_by_role("heading", name="Hi Anna")).to_be_visible()
    shot(page, "profile-phone")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_role("button", name="E-mail me a sign-in link")).to_be_visible()
    shot(page, "signed-out")


def test_a_used_link_cannot_sign_in_another_browser(studio, new_context, console, shot):
    first, second = new_context(), new_context(viewport=PHONE)
    console.watch(first)
    console.watch(second)
    page = first.new_page()
    page.goto(f"/w/{SLUG}/me/")
    page.get_by_label("Your e-mail address").fill("anna.berg@gmail.com")
    page.get_by_role("button", name="E-mail me a sign-in link").click()
    link = sign_in_link(studio)
    other = second.new_page()
    other.goto(link)  # e.g. a mail scanner or a second device opens it first: nothing is used
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hi Anna")).to_be_visible()
    console.allow(r"status of 400")
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("heading", name="This link no longer works")).to_be_visible()
    shot(other, "link-used")
