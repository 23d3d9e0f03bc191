"""The client profile page against hand-made data: the link and share kit, each friend's status in plain words,
coupons in every state, balances, service credits, milestone progress and upcoming bookings."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_cancel, booking_complete, booking_confirm, booking_create
from clients.services import ClientData, client_create
from referrals.codes import code_for_client, link_for
from referrals.models import FriendInvitation, Referral, ReferralProgram, ReferralSource, RewardMoment
from referrals.rules import Refusal
from referrals.services import ReferralClaim, booking_create_with_referral, referral_reject
from rewards.credits import service_credit_issue
from rewards.ledger import points_adjust, store_credit_grant
from rewards.milestones import MilestoneData, milestone_create
from rewards.models import Coupon, CouponStatus, MilestoneRewardKind, PointsProgram, ServiceCreditSource
from widgets.models import WidgetSettings
from widgets.profile import client_profile

from ..referrals.conftest import make_client, soon
from .profile_helpers import profile_url, referrer_setup, sign_in

pytestmark = pytest.mark.django_db


def referred(business, referrer, service, first_name, *, starts_at=None):
    friend = make_client(business, first_name, "Lastnameson", email=f"{first_name.lower()}@example.com")
    claim = ReferralClaim(code=code_for_client(business=business, client=referrer).code, source=ReferralSource.LINK)
    return booking_create_with_referral(
        business=business, client=friend, service=service, starts_at=starts_at or soon(), claim=claim
    )


def rows(html: str) -> dict[str, tuple[str, str]]:
    """{first name: (status, text of the row)} from the friends list."""
    found = {}
    for name, status, body in re.findall(r'data-friend="([^"]+)" data-status="([^"]+)">(.*?)</li>', html, re.S):
        found[name] = (status, " ".join(re.sub(r"<[^>]+>", " ", body).split()))
    return found


@pytest.fixture
def world(business, staff):
    """Anna and everything that can happen to her friends and rewards."""
    anna, massage = referrer_setup(business)
    with scope(business=business):
        # Bob booked through her link and was confirmed: rewarded with a £20 coupon.
        booking_confirm(business=business, booking=referred(business, anna, massage, "Bob"), actor=staff)
        # Cara booked and waits.
        referred(business, anna, massage, "Cara")
        # Finn booked, then cancelled.
        booking_cancel(business=business, booking=referred(business, anna, massage, "Finn"), actor=staff)
        # Gus was rejected by the owner.
        gus = referred(business, anna, massage, "Gus")
        referral_reject(business=business, referral=gus.referral, reason="The same person as Anna.", actor=staff)
        # Eve had booked before: not eligible.
        eve = make_client(business, "Eve", "Old", email="eve@example.com")
        booking_complete(
            business=business,
            booking=booking_confirm(
                business=business,
                booking=booking_create(
                    business=business, client=eve, service=massage, starts_at=timezone.now() - timedelta(days=30)
                ),
            ),
        )
        claim = ReferralClaim(code=code_for_client(business=business, client=anna).code, source=ReferralSource.CODE)
        booking_create_with_referral(business=business, client=eve, service=massage, starts_at=soon(), claim=claim)
        # Invitations: Hana never booked; Ivy booked without the link; Bob was invited and came through the link.
        now = timezone.now()
        for name in ("Hana", "Ivy", "Bob"):
            FriendInvitation.objects.create(
                business=business,
                referrer=anna,
                first_name=name,
                email=f"{name.lower()}@example.com",
                email_canonical=f"{name.lower()}@example.com",
                created_at=now - timedelta(days=10),
            )
        ivy = client_create(business=business, data=ClientData(first_name="Ivy", email="ivy@example.com"))
        booking_create(business=business, client=ivy, service=massage, starts_at=soon())
        # Coupons: one used, one expired, one withdrawn, besides Bob's active one.
        for code, status, expires in (
            ("USED-0001", CouponStatus.REDEEMED, now + timedelta(days=5)),
            ("OLD-0002", CouponStatus.ACTIVE, now - timedelta(days=1)),
            ("GONE-0003", CouponStatus.REVOKED, now + timedelta(days=5)),
        ):
            Coupon.objects.create(
                business=business,
                client=anna,
                code=code,
                kind="percent",
                percent=Decimal(10),
                currency="GBP",
                status=status,
                expires_at=expires,
                redeemed_at=now if status == CouponStatus.REDEEMED else None,
            )
        Coupon.objects.create(
            business=business, client=anna, code="TEST-0004", kind="fixed", amount=5_00, currency="GBP", is_test=True
        )
        # Balances and credits.
        store_credit_grant(business=business, client=anna, amount=15_00, reason="Goodwill")
        PointsProgram.objects.create(business=business, enabled=True, point_value=5)
        points_adjust(business=business, client=anna, points=120, reason="Welcome points")
        service_credit_issue(
            business=business, client=anna, service=massage, quantity=3, source=ServiceCreditSource.MANUAL
        )
        milestone_create(
            business=business,
            data=MilestoneData(threshold=3, reward_kind=MilestoneRewardKind.STORE_CREDIT, amount=20_00),
        )
        # Her own bookings: one ahead, one ahead but cancelled, one past.
        booking_create(business=business, client=anna, service=massage, starts_at=timezone.now() + timedelta(days=9))
        cancelled = booking_create(business=business, client=anna, service=massage, starts_at=soon(12))
        booking_cancel(business=business, booking=cancelled)
        booking_create(business=business, client=anna, service=massage, starts_at=timezone.now() - timedelta(days=3))
    return anna


@pytest.fixture
def page(client, business, world):
    sign_in(client, business, "anna.berg@gmail.com")
    response = client.get(profile_url(business))
    assert response.status_code == 200
    return response.content.decode()


def test_friends_are_shown_by_first_name_with_their_status_and_why_not(page, business):
    friends = rows(page)
    assert set(friends) == {"Bob", "Cara", "Finn", "Gus", "Eve", "Hana", "Ivy"}, "Bob once, as his referral"
    assert friends["Bob"][0] == "rewarded" and "Rewarded" in friends["Bob"][1] and "£20.00 off" in friends["Bob"][1]
    assert friends["Cara"][0] == "booked"
    assert friends["Finn"] == ("not_rewarded", friends["Finn"][1])
    assert "The referred booking was cancelled." in friends["Finn"][1]
    assert friends["Gus"][0] == "not_rewarded"
    assert f"Not approved by {business.name}. The same person as Anna." in friends["Gus"][1]
    assert friends["Eve"][0] == "not_rewarded" and str(Refusal.NOT_NEW) in friends["Eve"][1]
    assert friends["Hana"] == ("invited", friends["Hana"][1])
    assert friends["Ivy"][0] == "booked" and "Booked without your link" in friends["Ivy"][1]
    assert "Lastnameson" not in page, "no friend's last name"
    assert "You have made 1 successful referral." in page


def test_coupons_show_code_value_expiry_and_state(page):
    states = dict(re.findall(r'data-coupon="([^"]+)" data-state="([^"]+)"', page))
    assert states.pop("USED-0001") == "used"
    assert states.pop("OLD-0002") == "expired"
    assert states.pop("GONE-0003") == "revoked"
    [(bob_code, state)] = states.items()
    assert state == "active" and bob_code.startswith("THX-")
    assert "TEST-0004" not in page
    assert "10% off" in page and "£20.00 off" in page
    for label in ("Used", "Expired", "Withdrawn", "Ready to use"):
        assert label in page


def test_balances_credits_and_milestone_progress(page):
    assert re.search(r"data-store-credit>£15.00<", page)
    assert re.search(r"data-points>120 <span class=\"hint\">\(worth £6.00\)", page)
    assert "3 × Deep tissue massage: 3 of 3 left" in page
    assert "Next milestone: £20.00 of store credit at 3 successful referrals (1 of 3)" in page
    assert '<progress id="milestone-progress" max="3" value="1">' in page
    assert "2 more friends to go." in page


def test_upcoming_bookings_in_local_time_without_cancelled_or_past_ones(page, business, world):
    with scope(business=business):
        ahead = world.bookings.filter(status="requested", starts_at__gt=timezone.now()).get()
    local = timezone.localtime(ahead.starts_at, ZoneInfo(business.time_zone))
    assert page.count("data-booking") == 1
    assert local.strftime("%H:%M") in page and "Deep tissue massage" in page


def test_the_link_share_buttons_and_qr_code(page, business, world):
    with scope(business=business):
        link = link_for(code_for_client(business=business, client=world))
    assert f'value="{link}"' in page and "data-copy=" in page and 'aria-live="polite"' in page
    message = f"I love {business.name}: book with my link and get 15% off your first visit: {link}"
    assert message in page
    hrefs = [
        unquote(h.replace("&amp;", "&"))
        for h in re.findall(r'href="((?:mailto|sms|https://(?:wa\.me|x\.com))[^"]+)"', page)
    ]
    assert len(hrefs) == 4 and all(message in href for href in hrefs)
    assert "facebook.com/sharer/sharer.php?u=" in page
    assert '<svg viewBox="' in page and 'class="qr-code"' in page


def test_the_owner_s_share_message_is_used(client, business, world):
    with scope(business=business):
        WidgetSettings.objects.update_or_create(
            business=business, defaults={"share_message": "{business_name} is lovely! {offer} with {link} {nope}"}
        )
    sign_in(client, business, "anna.berg@gmail.com")
    html = client.get(profile_url(business)).content.decode()
    assert f"{business.name} is lovely! 15% off your first visit with http" in html
    assert "{nope}" in html


def test_a_program_that_is_off_hides_the_invite_form(client, business, world):
    with scope(business=business):
        ReferralProgram.objects.filter(business=business).update(enabled=False)
    sign_in(client, business, "anna.berg@gmail.com")
    html = client.get(profile_url(business)).content.decode()
    assert "The referral program is not running at the moment" in html
    assert "Invite a friend by e-mail" not in html


def test_a_visit_waiting_for_payment_is_visited(client, business, staff):
    anna, massage = referrer_setup(business)
    with scope(business=business):
        ReferralProgram.objects.filter(business=business).update(reward_moment=RewardMoment.PAID)
        booking = referred(business, anna, massage, "Vic", starts_at=timezone.now() + timedelta(hours=1))
        booking_complete(business=business, booking=booking_confirm(business=business, booking=booking))
        assert Referral.objects.get(booking=booking).status == "pending"
    sign_in(client, business, "anna.berg@gmail.com")
    assert rows(client.get(profile_url(business)).content.decode())["Vic"][0] == "visited"


def test_a_new_client_has_an_empty_but_helpful_profile(client, business):
    referrer_setup(business)
    sign_in(client, business, "anna.berg@gmail.com")
    html = client.get(profile_url(business)).content.decode()
    assert "You have made 0 successful referrals." in html
    assert "No friends yet" in html and "No coupons yet" in html and "No upcoming bookings." in html


def test_the_page_is_labelled_and_translatable(page):
    assert '<label for="referral-link">' in page
    assert '<label for="id_first_name">' in page and '<label for="id_email">' in page
    assert 'class="skip-link" href="#main"' in page
    assert "<h1>Hi Anna</h1>" in page


def make_referrals(business, referrer, service, count: int, staff, start: int = 0):
    for number in range(start, start + count):
        booking = referred(business, referrer, service, f"Friend{number}")
        booking_confirm(business=business, booking=booking, actor=staff)
        FriendInvitation.objects.create(
            business=business,
            referrer=referrer,
            first_name=f"Invited{number}",
            email=f"invited{number}@example.com",
            email_canonical=f"invited{number}@example.com",
        )


def profile_queries(business, client) -> int:
    with CaptureQueriesContext(connection) as captured:
        client_profile(business=business, client=client)
    return len(captured)


def test_two_and_twenty_referrals_cost_the_same_fixed_number_of_queries(business, staff, django_assert_max_num_queries):
    anna, massage = referrer_setup(business)
    with scope(business=business):
        ReferralProgram.objects.filter(business=business).update(burst_limit=100)  # twenty friends in a day
        code_for_client(business=business, client=anna)
        make_referrals(business, anna, massage, 2, staff)
        with django_assert_max_num_queries(16):
            few = client_profile(business=business, client=anna)
        two = profile_queries(business, anna)
        make_referrals(business, anna, massage, 18, staff, start=2)
        with django_assert_max_num_queries(16):
            many = client_profile(business=business, client=anna)
        twenty = profile_queries(business, anna)
    assert two == twenty
    assert [len(few.coupons), len(many.coupons)] == [2, 20]
    assert len([f for f in many.friends if f.status == "rewarded"]) == 20
    assert len([f for f in many.friends if f.status == "invited"]) == 20
