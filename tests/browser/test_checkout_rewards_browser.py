"""Checkout, the Rewards section and the Outbox in a browser: staff apply a client's store credit and points and take
the rest by card; the owner sees the referrers' coupons and what is owed, and the thank-you that was sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from bookings.models import BookingStatus, Payment, PaymentStatus
from bookings.services import booking_confirm, booking_create
from businesses.models import Role
from campaigns.models import AutopilotKind, MessageStatus, OutboxMessage
from clients.services import ClientData
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.ledger import points_adjust, store_credit_grant
from rewards.models import Coupon, PointsProgram, Reward
from rewards.services import reward_revoke

from ..factories import BusinessFactory, make_member
from ..referrals.conftest import make_client, make_program, make_service
from .conftest import assert_not_reloaded, mark_page, scroll_to

SLUG = "calm-studio"


@pytest.fixture
def studio():
    business = BusinessFactory(name="Calm Studio", slug=SLUG)
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="olivia@calmstudio.example", first_name="Olivia", last_name="Owens")


@pytest.fixture
def massage(studio):
    return make_service(studio, "Deep tissue massage", 100_00)


@pytest.fixture
def anna(studio):
    return make_client(studio, "Anna", "Berg", email="anna.berg@gmail.com")


def confirmed_referral(business, referrer, service, first_name: str, last_name: str, email: str) -> Referral:
    """A friend books through the referrer's link (clicked an hour ago) and the booking is confirmed."""
    claim = ReferralClaim(
        code=code_for_client(business=business, client=referrer).code,
        source=ReferralSource.LINK,
        clicked_at=timezone.now() - timedelta(hours=1),
    )
    booking = booking_create_with_referral(
        business=business,
        client=ClientData(first_name=first_name, last_name=last_name, email=email),
        service=service,
        starts_at=timezone.now() + timedelta(days=3),
        claim=claim,
    )
    booking_confirm(business=business, booking=booking)
    return Referral.objects.get(business=business, booking=booking)


def test_staff_check_out_a_booking_with_store_credit_and_points(studio, massage, anna, signed_in, console, shot):
    PointsProgram.objects.create(business=studio, enabled=True, point_value=5)
    store_credit_grant(business=studio, client=anna, amount=30_00, reason="Goodwill")
    points_adjust(business=studio, client=anna, points=200, reason="Welcome points")
    booking = booking_create(
        business=studio,
        client=anna,
        service=massage,
        starts_at=timezone.now() + timedelta(days=2),
        status=BookingStatus.CONFIRMED,
    )
    staff = make_member(studio, Role.STAFF, email="sam@calmstudio.example", first_name="Sam", last_name="Lee")

    page = signed_in(staff)
    page.goto(f"/b/{SLUG}/bookings/{booking.pk}/")
    page.get_by_role("link", name="Checkout", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/bookings/{booking.pk}/checkout/$"))
    summary = page.locator("#checkout-summary")
    expect(summary.get_by_text("Balance £30.00")).to_be_visible()
    expect(summary.get_by_text("200 points, worth £10.00")).to_be_visible()
    expect(page.locator("#left-to-pay")).to_have_text("£100.00")
    mark_page(page)

    # £20 of the £30 store credit, in place.
    summary.get_by_label("Amount (GBP)").fill("20.00")
    summary.get_by_role("button", name="Apply store credit").click()
    expect(summary.get_by_role("status")).to_have_text("Store credit applied: −£20.00.")
    expect(page.locator("#left-to-pay")).to_have_text("£80.00")
    expect(summary.get_by_text("Balance £10.00")).to_be_visible()

    # Then all the points: 200 × 5p.
    expect(summary.get_by_label("Points", exact=True)).to_have_value("200")
    summary.get_by_role("button", name="Redeem points").click()
    expect(summary.get_by_role("status")).to_have_text("200 points applied: −£10.00.")
    due = summary.locator(".price-table")
    expect(due.get_by_role("row", name=re.compile("^Store credit"))).to_contain_text("−£20.00")
    expect(due.get_by_role("row", name=re.compile("^200 points"))).to_contain_text("−£10.00")
    expect(due.get_by_role("row", name=re.compile("^Total"))).to_contain_text("£70.00")
    expect(page.locator("#left-to-pay")).to_have_text("£70.00")
    expect(summary.get_by_text("0 points, worth £0.00")).to_be_visible()
    assert_not_reloaded(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "checkout-discounts", docs="checkout.png")

    # The rest by card, after the browser asks.
    payments = summary.locator("#checkout-payments-heading + .table-wrap")
    payments.get_by_label("How payment 1 was paid").select_option(label="Card")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    payments.get_by_role("button", name="Record payment 1").click()
    expect(summary.get_by_role("status")).to_have_text("Payment 1 recorded.")
    expect(page.locator("#left-to-pay")).to_have_text("£0.00")
    expect(payments.locator(".badge")).to_have_text("Paid")
    assert questions == ["Record payment 1 of £70.00 as paid?"]
    assert_not_reloaded(page)
    shot(page, "checkout-paid")
    with scopes_disabled():
        payment = Payment.objects.get(business=studio, booking=booking)
    assert (payment.status, payment.method, payment.amount) == (PaymentStatus.PAID, "card", 70_00)

    # The booking page shows it paid.
    page.get_by_role("link", name="Back to the booking").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/bookings/{booking.pk}/$"))
    schedule = page.locator("#booking-payments")
    expect(schedule.get_by_text("Paid £70.00 · still due £0.00")).to_be_visible()
    expect(schedule.locator(".badge")).to_have_text("Paid")
    expect(schedule.get_by_role("button", name="Record payment 1")).to_have_count(0)
    scroll_to(schedule)
    shot(page, "booking-paid")

    # And the receipt.
    page.get_by_role("link", name="Receipt", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/bookings/{booking.pk}/receipt/$"))
    receipt = page.locator("main.receipt")
    expect(receipt.get_by_role("heading", name="Calm Studio")).to_be_visible()
    expect(receipt.get_by_role("row", name=re.compile("^List price"))).to_contain_text("£100.00")
    expect(receipt.get_by_role("row", name=re.compile("^Store credit"))).to_contain_text("−£20.00")
    expect(receipt.get_by_role("row", name=re.compile("^200 points"))).to_contain_text("−£10.00")
    expect(receipt.get_by_role("row", name=re.compile(r"^Paid .*\(card\)"))).to_contain_text("£70.00")
    expect(receipt.get_by_role("row", name=re.compile("^Left to pay"))).to_contain_text("£0.00")
    expect(page.get_by_role("button", name="E-mail receipt to anna.berg@gmail.com")).to_be_visible()
    shot(page, "receipt")
    console.assert_clean()


def test_the_owner_sees_the_referrers_coupons_and_what_is_owed(studio, owner, massage, anna, signed_in, console, shot):
    make_program(studio, [massage])
    PointsProgram.objects.create(business=studio, enabled=True, point_value=5)
    confirmed_referral(studio, anna, massage, "Bob", "Stone", "bob.stone@outlook.com")
    cara = make_client(studio, "Cara", "Diaz", email="cara.diaz@gmail.com")
    revoked = confirmed_referral(studio, cara, massage, "Dan", "Eng", "dan.eng@outlook.com")
    reward_revoke(business=studio, reward=Reward.objects.get(referral=revoked), reason="Booked by mistake")
    store_credit_grant(business=studio, client=anna, amount=15_00, reason="Goodwill")
    points_adjust(business=studio, client=anna, points=100, reason="Welcome points")
    with scopes_disabled():
        active = Coupon.objects.get(business=studio, client=anna)
        gone = Coupon.objects.get(business=studio, client=cara)

    page = signed_in(owner)
    page.goto(f"/b/{SLUG}/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Rewards").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/rewards/$"))
    owed = page.locator("section", has=page.get_by_role("heading", name="Outstanding"))
    expect(owed.locator("dt:text-is('Store credit') + dd")).to_have_text("£15.00")
    expect(owed.locator("dt:text-is('Loyalty points') + dd")).to_have_text("100 points, worth £5.00")
    expect(owed.locator("dt:text-is('Owed in all') + dd")).to_have_text("£20.00")
    expect(owed.locator("dt:text-is('Active coupons') + dd")).to_have_text("1; the amount-off ones are worth £20.00")
    coupons = page.locator("section", has=page.get_by_role("heading", name="Coupons issued to referrers"))
    expect(coupons.locator("tbody tr")).to_have_count(2)
    row = coupons.get_by_role("row", name=re.compile(active.code))
    expect(row).to_contain_text("Anna Berg")
    expect(row).to_contain_text("£20.00 off")
    expect(row).to_contain_text("Active")
    expect(coupons.get_by_role("row", name=re.compile(gone.code))).to_contain_text("Booked by mistake")

    tabs = page.get_by_role("navigation", name="Coupon states")
    tabs.get_by_role("link", name=re.compile("^Active")).click()
    expect(page).to_have_url(re.compile(r"/rewards/\?state=active$"))
    expect(tabs.get_by_role("link", name=re.compile("^Active"))).to_have_attribute("aria-current", "page")
    expect(coupons.locator("tbody tr")).to_have_count(1)
    expect(coupons.locator("tbody tr")).to_contain_text(active.code)
    expect(coupons.get_by_text(gone.code)).to_have_count(0)
    shot(page, "rewards-active", docs="rewards.png")
    console.assert_clean()


def test_the_owner_finds_the_thank_you_in_the_outbox(
    studio, owner, massage, anna, signed_in, console, shot, mailoutbox
):
    make_program(studio, [massage])
    referral = confirmed_referral(studio, anna, massage, "Bob", "Stone", "bob.stone@outlook.com")
    with scopes_disabled():
        message = OutboxMessage.objects.get(business=studio, template=AutopilotKind.REFERRAL_THANK_YOU)
        coupon = Reward.objects.get(referral=referral).coupon
    assert message.status == MessageStatus.SENT

    page = signed_in(owner)
    page.goto(f"/b/{SLUG}/campaigns/")
    # The friend's welcome is listed too; the thank-you is the referrer's row.
    expect(page.locator("#outbox-rows tr")).to_have_count(2)
    rows = page.locator("#outbox-rows tr", has_text="anna.berg@gmail.com")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Anna Berg")
    expect(rows.locator(".badge")).to_have_text("Sent")
    shot(page, "outbox", docs="outbox.png")

    rows.get_by_role("link", name="Thank you for recommending Calm Studio!").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/campaigns/outbox/{message.pk}/$"))
    expect(page.locator("#message-status")).to_contain_text("Status: Sent on")
    body = page.locator(".message-preview")
    expect(body).to_contain_text("Hi Anna,")
    expect(body).to_contain_text(f"use the code {coupon.code} when you book")
    shot(page, "thank-you")
    console.assert_clean()
