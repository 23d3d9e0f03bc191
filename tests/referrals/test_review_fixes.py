"""Each defect the referral engine's review found, as the test that would have caught it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings.services import booking_cancel, booking_confirm
from businesses.models import PaymentPlan, PlanInterval
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralRule, ReferralSource, ReferralStatus, RewardMoment
from referrals.rules import Refusal
from referrals.services import ReferralClaim, booking_create_with_referral, referral_link_by_staff, referral_quote
from referrals.testdrive import program_test_drive, program_test_records_remove
from rewards.models import Coupon, Reward

from .conftest import make_client, make_program, make_service, soon

pytestmark = pytest.mark.django_db


def book(business, client, service, claim=None, **fields):
    return booking_create_with_referral(
        business=business, client=client, service=service, starts_at=soon(), claim=claim, **fields
    )


def code_of(client):
    return ReferralClaim(code=code_for_client(business=client.business, client=client).code)


def earn_coupon(business, referrer, service, name="Bob"):
    booking = book(
        business, make_client(business, name, email=f"{name.lower()}@outlook.com"), service, code_of(referrer)
    )
    booking_confirm(business=business, booking=booking)
    return Coupon.objects.filter(client=referrer).latest("pk")


def test_a_coupon_on_a_pay_per_session_service_is_taken_once(in_scope, program, massage, anna):
    sessions = make_service(
        in_scope, "Ten sessions", price=50_00, payment_plan=PaymentPlan.PER_SESSION, plan_count=10,
        plan_interval=PlanInterval.WEEK,
    )  # fmt: skip
    coupon = earn_coupon(in_scope, anna, massage)
    booking = book(in_scope, anna, sessions, coupon_code=coupon.code)
    assert (booking.list_price, booking.total) == (500_00, 480_00)
    assert booking.discounts.get().amount == 20_00
    assert [p.discount for p in booking.payments.order_by("sequence")][:2] == [20_00, 0]


def test_the_referrers_reward_is_what_the_rule_said_when_the_friend_booked(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, code_of(anna))
    ReferralRule.objects.filter(business=in_scope).update(reward_amount=80_00)
    booking_confirm(business=in_scope, booking=booking)
    assert Coupon.objects.get(client=anna).amount == 20_00


def test_a_deleted_rule_still_rewards_what_it_promised(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, code_of(anna))
    ReferralRule.objects.filter(business=in_scope).delete()
    booking_confirm(business=in_scope, booking=booking)
    assert Coupon.objects.get(client=anna).amount == 20_00


def test_a_code_at_booking_replaces_a_pending_staff_link(in_scope, program, massage, anna, owner):
    carl = make_client(in_scope, "Carl", email="carl@outlook.com")
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    referral_link_by_staff(business=in_scope, referee=bob, referrer=anna, actor=owner)
    booking = book(in_scope, bob, massage, code_of(carl))
    referral = Referral.objects.get(booking=booking)
    assert (referral.referrer, referral.status) == (carl, ReferralStatus.PENDING)
    assert booking.total == 85_00
    staff = Referral.objects.get(referee=bob, referrer=anna)
    assert staff.status == ReferralStatus.CANCELLED and "Replaced" in staff.reason


def test_a_friend_is_rewarded_once_even_after_cancelling_and_booking_again(in_scope, program, massage, anna):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    first = book(in_scope, bob, massage, code_of(anna))
    booking_confirm(business=in_scope, booking=first)
    booking_cancel(business=in_scope, booking=first)
    again = book(in_scope, bob, massage, code_of(anna))
    assert again.total == 100_00
    assert Referral.objects.get(booking=again).reason == Refusal.ALREADY_REFERRED
    booking_confirm(business=in_scope, booking=again)
    assert Reward.objects.filter(client=anna).count() == 1


def test_speed_is_measured_from_the_click_to_the_booking(in_scope, massage, anna):
    make_program(in_scope, [massage])
    ReferralRule.objects.filter(business=in_scope).update(fast_days=7, slow_reward_amount=5_00)
    claim = ReferralClaim(
        code=code_for_client(business=in_scope, client=anna).code, clicked_at=timezone.now() - timedelta(days=1)
    )
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, claim)
    Referral.objects.filter(booking=booking).update(created_at=timezone.now() - timedelta(days=10))
    Referral.objects.filter(booking=booking).update(clicked_at=timezone.now() - timedelta(days=11))
    booking_confirm(business=in_scope, booking=booking)  # ten days after booking, one after the click
    assert Coupon.objects.get(client=anna).amount == 20_00


def test_a_click_time_from_the_future_counts_as_now(in_scope, program, massage, anna):
    claim = ReferralClaim(
        code=code_for_client(business=in_scope, client=anna).code, clicked_at=timezone.now() + timedelta(days=400)
    )
    quote = referral_quote(business=in_scope, service=massage, claim=claim, email_canonical="new@outlook.com")
    assert quote.refusal is None and quote.discount == 15_00


def test_a_named_referrer_gives_no_discount_until_staff_confirm(in_scope, program, massage, anna):
    claim = ReferralClaim(referrer=anna, source=ReferralSource.NAMED)
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, claim)
    assert booking.total == 100_00 and not booking.discounts.exists()
    assert Referral.objects.get(booking=booking).status == ReferralStatus.FLAGGED


def test_a_test_referrers_code_never_attributes_a_real_booking(in_scope, program, massage, owner):
    drive = program_test_drive(business=in_scope, actor=owner)
    real = make_client(in_scope, "Real", email="real@outlook.com")
    booking = book(in_scope, real, massage, code_of(drive.referrer))
    assert booking.total == 100_00
    assert not Referral.objects.filter(referee=real).exists()
    program_test_records_remove(business=in_scope)
    assert Referral.objects.count() == 0 and booking.client.pk == real.pk


@pytest.mark.parametrize("moment", [RewardMoment.COMPLETED, RewardMoment.PAID])
def test_the_test_drive_reaches_the_reward_whatever_the_moment(in_scope, program, massage, owner, moment):
    program.reward_moment = moment
    program.save()
    drive = program_test_drive(business=in_scope, actor=owner)
    assert drive.reward is not None and drive.reward.coupon.amount == 20_00


def test_a_percent_coupon_snapshot_keeps_decimals(in_scope, massage, anna):
    make_program(in_scope, [massage])
    ReferralRule.objects.filter(business=in_scope).update(reward_kind="coupon_percent", reward_percent=Decimal("12.5"))
    coupon = earn_coupon(in_scope, anna, massage)
    assert coupon.percent == Decimal("12.5")
