"""The referral program in a browser: the owner sets it up (rules, order, switch, who is rewarded), takes a test
drive, works the board and the review queue; staff are kept out of the program's settings."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from bookings.models import Booking, BookingStatus
from businesses.models import Role, Service
from clients.models import Client
from clients.services import ClientData, client_create
from referrals.codes import code_for_client
from referrals.models import FlagSignal, Referral, ReferralProgram, ReferralRule, ReferralSource, ReferralStatus
from referrals.program import RuleData, program_set_enabled, rule_create
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon

from ..factories import BusinessFactory, make_member
from .conftest import assert_not_reloaded, mark_page, scroll_to
from .test_accounts_browser import log_in

SLUG = "bright-smile"
PROGRAM = f"/b/{SLUG}/referrals/program/"
# Chromium's own console line for an answer that is an error status. The pages below answer 409 or 403 on purpose
# where the test provokes it; each test allows exactly the one it expects.
FAILED_LOAD = r"^Failed to load resource: the server responded with a status of {status} .*{path}"


@pytest.fixture
def studio():
    business = BusinessFactory(name="Bright Smile Dental", slug=SLUG)
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="olivia@brightsmile.example", first_name="Olivia", last_name="Owens")


def make_service(business, name: str, price: int) -> Service:
    return Service.objects.create(business=business, name=name, price=price, duration_minutes=60)


def make_client(business, first_name: str, last_name: str, email: str) -> Client:
    return client_create(business=business, data=ClientData(first_name=first_name, last_name=last_name, email=email))


def rule_titles(page) -> list[str]:
    return page.locator("#program-rules .rule-item h3").all_inner_texts()


def test_set_up_the_program_reorder_its_rules_and_take_a_test_drive(studio, owner, signed_in, console, shot):
    make_service(studio, "Deep tissue massage", 100_00)
    make_service(studio, "Hot stone massage", 80_00)
    make_service(studio, "Yoga class", 20_00)

    page = signed_in(owner)
    page.goto(PROGRAM)
    switch = page.locator("#program-switch")
    expect(switch.get_by_role("heading")).to_have_text("The program is switched off")
    expect(page.get_by_text("No rules yet.")).to_be_visible()
    mark_page(page)

    # No rule yet: the program refuses to start, and says why, in place.
    console.allow(FAILED_LOAD.format(status=409, path=re.escape("/referrals/program/enabled/")))
    switch.get_by_role("switch", name="Switch the program on").click()
    expect(switch.get_by_role("alert")).to_have_text(
        re.compile("^Add at least one rule before switching the program on")
    )
    expect(switch.get_by_role("heading")).to_have_text("The program is switched off")
    assert_not_reloaded(page)
    shot(page, "switch-refused")

    # Two rules through the form.
    page.get_by_role("link", name="Add your first rule").click()
    expect(page.get_by_role("heading", name="Add a rule", level=1)).to_be_visible()
    services = page.get_by_role("group", name="Services")
    services.get_by_label("Deep tissue massage").check()
    services.get_by_label("Hot stone massage").check()
    page.get_by_role("radio", name="A percentage off", exact=True).check()
    page.get_by_role("textbox", name="Discount").fill("15")
    page.get_by_role("radio", name="A coupon for an amount off", exact=True).check()
    page.get_by_role("textbox", name="Reward value").fill("20")
    page.get_by_label("Name (optional)").fill("Massages")
    shot(page, "rule-form")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Rule 1 was added.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/referrals/program/#program-rules$"))

    page.get_by_role("link", name="Add a rule").click()
    page.get_by_role("group", name="Services").get_by_label("Yoga class").check()
    page.get_by_role("radio", name="An amount off", exact=True).check()
    page.get_by_role("textbox", name="Discount").fill("5")
    page.get_by_role("radio", name="A coupon for a percentage off", exact=True).check()
    # The unit follows the kind chosen.
    expect(page.locator("fieldset", has_text="The referrer earns").locator("[data-unit]").first).to_have_text("%")
    page.get_by_role("textbox", name="Reward value").fill("10")
    page.get_by_label("Name (optional)").fill("Classes")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Rule 2 was added.")).to_be_visible()
    assert rule_titles(page) == ["Massages", "Classes"]
    rules = page.locator("#program-rules")
    first_rule = rules.locator(".rule-item").first
    expect(first_rule.locator(".rule-services")).to_contain_text("Deep tissue massage, Hot stone massage")
    expect(first_rule.locator(".rule-benefits")).to_have_text("New client 15% off · Referrer gets a £20 coupon")
    expect(rules.get_by_role("button", name="Move Massages up")).to_be_disabled()

    # Reordering swaps the list in place.
    mark_page(page)
    rules.get_by_role("button", name="Move Massages down").click()
    expect(page.locator("#program-rules .rule-item h3").first).to_have_text("Classes")
    assert rule_titles(page) == ["Classes", "Massages"]
    expect(page.get_by_role("button", name="Move Massages down")).to_be_disabled()
    page.get_by_role("button", name="Move Massages up").click()
    expect(page.locator("#program-rules .rule-item h3").first).to_have_text("Massages")
    assert rule_titles(page) == ["Massages", "Classes"]
    assert_not_reloaded(page)
    with scopes_disabled():
        assert list(ReferralRule.objects.filter(business=studio).values_list("name", flat=True)) == [
            "Massages",
            "Classes",
        ]

    # With rules, it starts.
    switch.get_by_role("switch", name="Switch the program on").click()
    expect(switch.get_by_role("heading")).to_have_text("The program is running")
    expect(switch.get_by_role("status")).to_have_text("The program is running.")
    expect(switch.get_by_role("switch", name="Switch the program off")).to_have_attribute("aria-checked", "true")
    assert_not_reloaded(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "program-running", docs="referral-program.png")

    # The reward's validity only matters while the referrer is rewarded.
    validity = page.get_by_label("Reward valid for", exact=False)
    expect(validity).to_be_visible()
    page.get_by_role("radio", name="The new client only", exact=True).check()
    expect(page.locator("#reward-validity")).to_be_hidden()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The program settings were saved.")).to_be_visible()
    expect(page.get_by_role("radio", name="The new client only", exact=True)).to_be_checked()
    expect(page.locator("#reward-validity")).to_be_hidden()
    expect(page.get_by_text("The program rewards only the new client")).to_be_visible()
    with scopes_disabled():
        assert ReferralProgram.objects.get(business=studio).recipients == "new_client"
    page.get_by_role("radio", name="Both the new client and the referrer", exact=True).check()
    expect(page.locator("#reward-validity")).to_be_visible()
    expect(validity).to_have_value("90")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("The program settings were saved.")).to_be_visible()
    expect(page.get_by_text("The program rewards only the new client")).to_have_count(0)

    # The test drive: the friend's price with the discount, the referrer's coupon, the thank-you message.
    page.get_by_role("button", name="Run a test drive").click()
    expect(page.get_by_role("heading", name="Test drive of your referral program")).to_be_visible()
    price = page.locator(".test-drive-price")
    expect(price.get_by_role("row", name=re.compile("^Price"))).to_contain_text("£100.00")
    expect(price.get_by_role("row", name=re.compile("Referred by Tess: 15% off"))).to_contain_text("−£15.00")
    expect(price.get_by_role("row", name=re.compile("To pay"))).to_contain_text("£85.00")
    expect(page.get_by_text("The referral is confirmed")).to_be_visible()
    with scopes_disabled():
        coupon = Coupon.objects.get(business=studio, client__is_test=True)
    expect(
        page.get_by_text(re.compile(rf"Tess earned a reward: £20.00 off with the coupon {coupon.code}, "))
    ).to_be_visible()
    thank_you = page.locator(".message-preview")
    expect(thank_you).to_contain_text("Hi Tess,")
    expect(thank_you).to_contain_text("Thank you for recommending Bright Smile Dental! Finn has booked")
    expect(thank_you).to_contain_text(f"use the code {coupon.code} when you book")
    scroll_to(page.locator(".test-drive-steps > li").nth(1))
    shot(page, "test-drive", docs="test-drive.png")

    page.get_by_role("button", name="Remove all test records").click()
    expect(page.get_by_text("Removed the test records of 2 test clients.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Remove test records"))).to_have_count(0)
    with scopes_disabled():
        assert not Client.objects.filter(business=studio).exists()
        assert not Booking.objects.filter(business=studio).exists()
        assert not Referral.objects.filter(business=studio).exists()
        assert not Coupon.objects.filter(business=studio).exists()
    console.assert_clean()


@pytest.fixture
def massage(studio):
    """A running program: 15% off a massage for the new client, a £20 coupon for the referrer."""
    service = make_service(studio, "Deep tissue massage", 100_00)
    rule_create(
        business=studio,
        data=RuleData(
            service_ids=(service.pk,),
            referee_kind="percent",
            referee_value=Decimal("15"),
            reward_kind="coupon_fixed",
            reward_value=Decimal("20.00"),
        ),
    )
    program_set_enabled(business=studio, enabled=True)
    return service


@pytest.fixture
def anna(studio):
    return make_client(studio, "Anna", "Berg", "anna.berg@gmail.com")


def referred(business, referrer, service, first_name, last_name, email, *, status=BookingStatus.REQUESTED) -> Referral:
    """A friend books through the referrer's link, clicked an hour ago."""
    code = code_for_client(business=business, client=referrer).code
    booking = booking_create_with_referral(
        business=business,
        client=ClientData(first_name=first_name, last_name=last_name, email=email),
        service=service,
        starts_at=timezone.now() + timedelta(days=3),
        claim=ReferralClaim(code=code, source=ReferralSource.LINK, clicked_at=timezone.now() - timedelta(hours=1)),
        status=status,
    )
    return Referral.objects.get(business=business, booking=booking)


def test_review_flagged_referrals_approve_one_and_reject_another(
    studio, owner, massage, anna, signed_in, console, shot
):
    referred(studio, anna, massage, "Bob", "Stone", "bob.stone@outlook.com")
    zed = referred(studio, anna, massage, "Zed", "Young", "zed@mailinator.com", status=BookingStatus.CONFIRMED)
    yan = referred(studio, anna, massage, "Yan", "Xu", "yan.xu@mailinator.com")
    assert (zed.status, yan.status) == (ReferralStatus.FLAGGED, ReferralStatus.FLAGGED)
    assert [flag.signal for flag in zed.flags.all()] == [FlagSignal.DISPOSABLE_EMAIL]

    page = signed_in(owner)
    page.goto(f"/b/{SLUG}/referrals/")
    flagged = page.locator("section.column-flagged")
    expect(flagged.locator(".board-count")).to_have_text("2")
    for name in ("Zed Young", "Yan Xu"):
        card = flagged.locator(".referral-card", has_text=name)
        expect(card).to_contain_text("Anna Berg")
        expect(card.locator(".flag-list")).to_have_text("Disposable e-mail domain")
    expect(page.locator("section.column-pending .referral-card")).to_have_text(re.compile("Anna Berg.*Bob Stone"))
    expect(page.locator("section.column-confirmed")).to_contain_text("None.")
    shot(page, "board-with-flags", docs="referrals-board.png")

    flagged.get_by_role("link", name="Open the review queue").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/referrals/review/$"))
    cards = page.locator(".review-card")
    expect(cards).to_have_count(2)
    zed_card = page.locator(f"#review-card-{zed.pk}")
    # The longest waiting first.
    expect(cards.first).to_have_id(f"review-card-{zed.pk}")
    expect(zed_card.get_by_role("heading", name="Anna Berg referred Zed Young")).to_be_visible()
    yan_card = page.locator(f"#review-card-{yan.pk}")
    expect(zed_card.locator(".review-flags")).to_contain_text("Disposable e-mail domain")
    expect(zed_card.locator(".review-flags")).to_contain_text("mailinator.com hands out throwaway inboxes")
    expect(zed_card).to_contain_text("Yes: approving rewards the referrer now")
    shot(page, "review-queue", docs="referral-review.png")

    # Approve: the browser asks first, then the card changes in place and shows the coupon.
    mark_page(page)
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    zed_card.get_by_role("button", name="Approve").click()
    expect(zed_card.locator(".referral-status")).to_have_text("Confirmed")
    expect(zed_card.get_by_role("status")).to_have_text(
        "Approved. The referral is confirmed and the referrer’s reward was issued."
    )
    with scopes_disabled():
        coupon = Coupon.objects.get(business=studio, client=anna)
    expect(zed_card.locator(".referral-reward")).to_contain_text(coupon.code)
    expect(zed_card.get_by_role("button", name="Approve")).to_have_count(0)
    assert questions == [
        "Approve the referral Anna Berg → Zed Young? The referrer is rewarded once the booking qualifies."
    ]

    # Reject the other, with a reason.
    yan_card.get_by_label("Reason for rejecting").fill("Same person as Anna, second inbox")
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    yan_card.get_by_role("button", name="Reject").click()
    expect(yan_card.locator(".referral-status")).to_have_text("Rejected")
    expect(yan_card.get_by_role("status")).to_have_text(
        "Rejected. The referrer will not be rewarded for this referral."
    )
    expect(yan_card).to_contain_text("Same person as Anna, second inbox")
    assert questions[-1] == "Reject the referral Anna Berg → Yan Xu? The referrer will not be rewarded for it."
    assert_not_reloaded(page)
    shot(page, "review-decided")

    with scopes_disabled():
        zed.refresh_from_db()
        yan.refresh_from_db()
    assert (zed.status, yan.status, yan.reason) == (
        ReferralStatus.CONFIRMED,
        ReferralStatus.REJECTED,
        "Same person as Anna, second inbox",
    )

    # The board has moved on: nothing flagged, Zed confirmed with the reward, Yan rejected with the reason.
    page.get_by_role("navigation", name="Referrals").get_by_role("link", name="Board", exact=True).click()
    expect(page.locator("section.column-flagged .board-count")).to_have_text("0")
    expect(page.locator("section.column-confirmed .referral-card")).to_contain_text(coupon.code)
    rejected = page.locator("section.column-rejected .referral-card")
    expect(rejected).to_contain_text("Yan Xu")
    expect(rejected).to_contain_text("Same person as Anna, second inbox")
    shot(page, "board-after-review")
    console.assert_clean()


def test_staff_see_the_referrals_but_not_the_program_settings(
    studio, massage, anna, new_context, console, live_server, shot
):
    referred(studio, anna, massage, "Zed", "Young", "zed@mailinator.com")
    make_member(studio, Role.STAFF, email="sam@brightsmile.example", first_name="Sam", last_name="Lee")

    context = new_context()
    console.watch(context)
    page = context.new_page()
    log_in(page, "sam@brightsmile.example")
    expect(page).to_have_url(f"{live_server.url}/b/{SLUG}/")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Referrals").click()
    tabs = page.get_by_role("navigation", name="Referrals")
    expect(tabs.get_by_role("link", name="Review queue")).to_be_visible()
    expect(tabs.get_by_role("link", name="Program settings")).to_have_count(0)

    tabs.get_by_role("link", name="Review queue").click()
    card = page.locator(".review-card")
    expect(card).to_contain_text("Zed Young")
    expect(card.get_by_text("Only the owner can approve or reject a flagged referral.")).to_be_visible()
    expect(card.get_by_role("button")).to_have_count(0)
    shot(page, "staff-review-queue")

    for path in (PROGRAM, f"{PROGRAM}rules/new/"):
        console.allow(FAILED_LOAD.format(status=403, path=re.escape(path) + r"\)$"))
        response = page.goto(path)
        assert response.status == 403, path
    shot(page, "staff-program-forbidden")
    console.assert_clean()
